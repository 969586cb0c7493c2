//go:build vm

package main

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
)

// realServer answers each line a client sends with its own name, from a
// listener in its namespace; fail closes the listener and resets every
// connection, as a crashed server's kernel would.
type realServer struct {
	name  string
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
	down  bool
}

func startRealServer(t testing.TB, ns *netns.NS, name string) *realServer {
	t.Helper()
	rs := &realServer{name: name, conns: map[net.Conn]bool{}}
	if err := ns.Do(func() (err error) { rs.ln, err = net.Listen("tcp", ":80"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.fail)
	go func() {
		for {
			c, err := rs.ln.Accept()
			if err != nil {
				return
			}
			rs.mu.Lock()
			if rs.down {
				rs.mu.Unlock()
				c.Close()
				return
			}
			rs.conns[c] = true
			rs.mu.Unlock()
			go func() {
				defer func() {
					rs.mu.Lock()
					delete(rs.conns, c)
					rs.mu.Unlock()
					c.Close()
				}()
				r := bufio.NewReader(c)
				reply := []byte(name + "\n")
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					if _, err := c.Write(reply); err != nil {
						return
					}
				}
			}()
		}
	}()
	return rs
}

func (rs *realServer) fail() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.down {
		return
	}
	rs.down = true
	rs.ln.Close()
	for c := range rs.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // RST, as a crashed server's kernel answers
		}
		c.Close()
	}
}

// flow is one long-lived client connection sending a request every
// interval and checking that the same real server answers.
type flow struct {
	c       net.Conn
	server  string
	mu      sync.Mutex
	lastOK  time.Time
	maxGap  time.Duration // since reset
	gapFrom time.Time     // the answers around maxGap
	gapTo   time.Time
	broken  error // first error or different server
	movedTo string
}

// flows is the client's set of connections.
type flows struct {
	all      []*flow
	interval time.Duration
	stop     chan struct{}
	wg       sync.WaitGroup
	requests atomic.Int64
}

// openFlows dials n connections to the VIP from the client namespace and
// starts one goroutine per connection (requests spread over the interval).
func openFlows(t *testing.T, client *netns.NS, n int, interval time.Duration) *flows {
	t.Helper()
	fs := &flows{interval: interval, stop: make(chan struct{})}
	err := client.Do(func() error {
		for i := 0; i < n; i++ {
			var c net.Conn
			var err error
			for try := 0; try < 5; try++ {
				c, err = net.DialTimeout("tcp", netip.AddrPortFrom(soVIP, 80).String(), 5*time.Second)
				if err == nil {
					break
				}
			}
			if err != nil {
				return fmt.Errorf("flow %d: %w", i, err)
			}
			fs.all = append(fs.all, &flow{c: c})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fs.all {
		fs.wg.Add(1)
		go fs.run(f, time.Duration(i)*interval/time.Duration(n))
	}
	t.Cleanup(fs.close)
	// Every flow has had its first answer.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ready := 0
		for _, f := range fs.all {
			f.mu.Lock()
			if f.server != "" || f.broken != nil {
				ready++
			}
			f.mu.Unlock()
		}
		if ready == len(fs.all) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d flows answered within 60 s", ready, len(fs.all))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fs
}

// The read deadline past which a flow counts as broken: longer than any
// stall the tests expect (BGP hold time plus TCP retransmission backoff).
const flowTimeout = 30 * time.Second

func (fs *flows) run(f *flow, offset time.Duration) {
	defer fs.wg.Done()
	select {
	case <-time.After(offset):
	case <-fs.stop:
		return
	}
	r := bufio.NewReader(f.c)
	tick := time.NewTicker(fs.interval)
	defer tick.Stop()
	for {
		f.c.SetDeadline(time.Now().Add(flowTimeout))
		_, err := f.c.Write([]byte("q\n"))
		var line string
		if err == nil {
			line, err = r.ReadString('\n')
		}
		now := time.Now()
		fs.requests.Add(1)
		f.mu.Lock()
		switch {
		case err != nil:
			f.broken = err
		case f.server == "":
			f.server = strings.TrimSpace(line)
			f.lastOK = now
		case strings.TrimSpace(line) != f.server:
			f.movedTo = strings.TrimSpace(line)
			f.broken = fmt.Errorf("answered by %s instead of %s", f.movedTo, f.server)
		default:
			if g := now.Sub(f.lastOK); g > f.maxGap {
				f.maxGap, f.gapFrom, f.gapTo = g, f.lastOK, now
			}
			f.lastOK = now
		}
		bad := f.broken != nil
		f.mu.Unlock()
		if bad {
			return
		}
		select {
		case <-tick.C:
		case <-fs.stop:
			return
		}
	}
}

func (fs *flows) close() {
	select {
	case <-fs.stop:
		return
	default:
	}
	close(fs.stop)
	for _, f := range fs.all {
		f.c.Close()
	}
	fs.wg.Wait()
}

// stepStats is what one step did to the flows.
type stepStats struct {
	broken   int            // newly broken (error or other server)
	moved    int            // of those, answered by another server
	byServer map[string]int // newly broken, by the server they had
	maxStall time.Duration  // longest gap between two answers during the step
	healthy  int            // flows still answering
	errs     []string       // the first few new breakages
}

func (s stepStats) String() string {
	return fmt.Sprintf("%d broken (%d answered by another server; by server %v; %q), %d healthy, longest stall %v",
		s.broken, s.moved, s.byServer, s.errs, s.healthy, s.maxStall.Round(time.Millisecond))
}

// mark starts a step: it resets the gaps and remembers which flows were
// broken already.
func (fs *flows) mark() map[*flow]bool {
	was := map[*flow]bool{}
	for _, f := range fs.all {
		f.mu.Lock()
		f.maxGap, f.gapFrom, f.gapTo = 0, time.Time{}, time.Time{}
		was[f] = f.broken != nil
		f.mu.Unlock()
	}
	return was
}

// stats ends a step begun with mark.
func (fs *flows) stats(was map[*flow]bool) stepStats {
	s := stepStats{byServer: map[string]int{}}
	now := time.Now()
	for _, f := range fs.all {
		f.mu.Lock()
		switch {
		case f.broken != nil && !was[f]:
			s.broken++
			s.byServer[f.server]++
			if f.movedTo != "" {
				s.moved++
			}
			if len(s.errs) < 5 {
				s.errs = append(s.errs, fmt.Sprintf("%v->%s: %v", f.c.LocalAddr(), f.server, f.broken))
			}
		case f.broken == nil:
			s.healthy++
			// A flow stalled right now counts too.
			s.maxStall = max(s.maxStall, f.maxGap, now.Sub(f.lastOK)-fs.interval)
		}
		f.mu.Unlock()
	}
	return s
}

// brokenSet returns the flows broken so far.
func (fs *flows) brokenSet() map[*flow]bool {
	m := map[*flow]bool{}
	for _, f := range fs.all {
		f.mu.Lock()
		if f.broken != nil {
			m[f] = true
		}
		f.mu.Unlock()
	}
	return m
}

// servers counts the healthy flows per real server.
func (fs *flows) servers() map[string]int {
	m := map[string]int{}
	for _, f := range fs.all {
		f.mu.Lock()
		if f.broken == nil {
			m[f.server]++
		}
		f.mu.Unlock()
	}
	return m
}

// connRate opens, uses once and closes connections to the VIP from
// workers goroutines in the client namespace for d, and returns the rate
// of completed ones and the failures.
func connRate(t testing.TB, client *netns.NS, workers int, d time.Duration) (float64, int) {
	t.Helper()
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client.Do(func() error {
				for time.Now().Before(end) {
					c, err := net.DialTimeout("tcp", netip.AddrPortFrom(soVIP, 80).String(), 3*time.Second)
					if err != nil {
						failed.Add(1)
						continue
					}
					c.SetDeadline(time.Now().Add(3 * time.Second))
					_, err = c.Write([]byte("q\n"))
					if err == nil {
						_, err = bufio.NewReader(c).ReadString('\n')
					}
					if tc, ok := c.(*net.TCPConn); ok {
						tc.SetLinger(0) // no TIME_WAIT pile-up on the client
					}
					c.Close()
					if err != nil {
						failed.Add(1)
					} else {
						ok.Add(1)
					}
				}
				return nil
			})
		}()
	}
	start := time.Now()
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds(), int(failed.Load())
}

// sortedAddrs returns the addresses sorted.
func sortedAddrs(as ...netip.Addr) []netip.Addr {
	as = slices.Clone(as)
	sort.Slice(as, func(i, j int) bool { return as[i].Less(as[j]) })
	return as
}
