package haproxy_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/lvskit/lvskit/haproxy"
)

// Parse the guide's backend, drain one server and slow another's checks:
// only the two server lines change, and the comment stays.
func Example() {
	src := []byte(`# chapter 5.5
backend app
  balance roundrobin
  server app1 192.168.1.1:80 check
  server app3 192.168.1.3:80 check inter 2s rise 4 fall 3 # slow box
`)
	cfg, err := haproxy.Parse("haproxy.cfg", src)
	if err != nil {
		fmt.Println(err)
		return
	}
	be := cfg.Backend("app")
	s, _ := be.Server("app1")
	s.Weight = new(0)
	be.SetServer(s)
	s, _ = be.Server("app3")
	s.Inter = 5 * time.Second
	be.SetServer(s)
	if err := cfg.Validate(); err != nil {
		fmt.Println(err)
	}
	os.Stdout.Write(cfg.Format())
	// Output:
	// # chapter 5.5
	// backend app
	//   balance roundrobin
	//   server app1 192.168.1.1:80 check weight 0
	//   server app3 192.168.1.3:80 check inter 5s rise 4 fall 3 # slow box
}

// Validation errors carry file:line:col.
func ExampleConfig_Validate() {
	cfg, _ := haproxy.Parse("haproxy.cfg", []byte("frontend main\n  bind :80\n  default_backend app\n  timeout client 1x\n"))
	fmt.Println(cfg.Validate())
	// Output:
	// haproxy.cfg:3:19: missing backend: default_backend 'app' is not defined
	// haproxy.cfg:4:18: invalid value: timeout client: time "1x": unexpected character 'x': unknown unit
}

// Check returns warnings apart from errors: a keyword HAProxy 2.6 does
// not know is a warning, a character HAProxy forbids in a name an error.
func ExampleConfig_Check() {
	cfg, _ := haproxy.Parse("haproxy.cfg", []byte("backend app/v2\n  balance\n  frobnicate on\n  server a 127.0.0.1:80\n"))
	warnings, err := cfg.Check(nil)
	for _, w := range warnings {
		fmt.Println("warning:", w)
	}
	fmt.Println(err)
	// Output:
	// warning: haproxy.cfg:3:3: unknown keyword: unknown keyword 'frobnicate' in 'backend' section (HAProxy 2.6 does not know it)
	// haproxy.cfg:1:12: invalid character in name: character '/' is not permitted in 'backend' name 'app/v2'
}

// ParseFile reads regular files only, up to a size limit.
func ExampleParseFile() {
	_, err := haproxy.ParseFile("/dev/zero")
	fmt.Println(err)
	// Output:
	// /dev/zero: haproxy: not a regular file (a character device)
}

// Tokenize splits words like HAProxy; variables expand only when an
// environment is given.
func ExampleTokenize() {
	env := haproxy.MapEnv(map[string]string{"ADDR": "10.0.0.1"})
	args, _ := haproxy.Tokenize(`server "web 1" "${ADDR}:80" '${ADDR}' # comment`, env)
	fmt.Printf("%q\n", args)
	// Output:
	// ["server" "web 1" "10.0.0.1:80" "${ADDR}"]
}

// Drive a running HAProxy through its stats socket.
func ExampleRuntime() {
	rt := haproxy.NewRuntime("unix", "/run/haproxy/admin.sock", nil)
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rt.SetServerState(ctx, "app", "app1", haproxy.StateDrain); err != nil {
		fmt.Println(err)
		return
	}
	rows, err := rt.ShowStat(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	if r := haproxy.FindStat(rows, "app", "app1"); r != nil {
		fmt.Println(r.Status, r.Weight)
	}
}
