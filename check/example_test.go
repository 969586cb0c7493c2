package check_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/lvskit/lvskit/check"
)

// Example checks a web server once with keepalived's HTTP_GET semantics,
// then watches it with a Monitor under HAProxy's rise/fall policy.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello\n")
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().(*net.TCPAddr).AddrPort()

	get := &check.HTTP{Addr: addr, Path: "/", Digest: check.Digest([]byte("hello\n"))}
	r := get.Check(context.Background())
	fmt.Println("up:", r.Up, "digest:", get.Digest)

	trs := make(chan check.Transition, 1)
	m, err := check.NewMonitor(&check.MonitorConfig{OnTransition: func(tr check.Transition) { trs <- tr }})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	go m.Run(context.Background()) // returns when Close is called
	if err := m.Add(check.Target{ID: "web", Checker: get, Policy: check.HAProxy{Inter: 10 * time.Millisecond, Rise: 2, Fall: 1}}); err != nil {
		fmt.Println(err)
		return
	}

	srv.Close() // the server goes away
	tr := <-trs
	fmt.Println(tr.ID, "up:", tr.Up)
	// Output:
	// up: true digest: b1946ac92492d2347c6235b4d2611184
	// web up: false
}
