// Package netns builds throwaway network topologies for tests: named network
// namespaces, veth pairs, bridges and addresses, and runs functions and
// processes inside them. Everything a test creates is removed by t.Cleanup,
// also when the test fails or panics.
//
// Namespaces are named (bind-mounted under /run/netns), so tools such as
// `ip netns exec` and keepalived's own namespace support see them too.
package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NS is a named network namespace owned by a test.
type NS struct {
	// Name is the namespace's name under /run/netns.
	Name string
	h    netns.NsHandle
	nl   *netlink.Handle
	t    testing.TB
}

var seq atomic.Int64

// New creates a namespace with its loopback up, removed when the test ends.
// It needs root: without it the test skips (locally) or fails (CI).
func New(t testing.TB) *NS {
	t.Helper()
	testenv.NeedRoot(t)
	name := fmt.Sprintf("lvskit-%d-%d", os.Getpid(), seq.Add(1))
	h, err := newNamed(name)
	if err != nil {
		t.Fatalf("netns: create %s: %v", name, err)
	}
	n := &NS{Name: name, h: h, t: t}
	t.Cleanup(func() {
		if n.nl != nil {
			n.nl.Close()
		}
		h.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("netns: delete %s: %v", name, err)
		}
	})
	n.nl, err = netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatalf("netns: netlink handle in %s: %v", name, err)
	}
	n.LinkUp("lo")
	return n
}

// newNamed creates the namespace on a locked thread and puts the thread
// back where it was, so the caller's goroutine never changes namespace.
func newNamed(name string) (netns.NsHandle, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return netns.None(), err
	}
	defer orig.Close()
	h, err := netns.NewNamed(name)
	if serr := netns.Set(orig); serr != nil {
		// The thread is stuck in the new namespace: keep it locked so the
		// runtime discards it instead of reusing it.
		runtime.LockOSThread()
		return netns.None(), errors.Join(err, serr)
	}
	return h, err
}

// Handle returns a netlink handle operating inside the namespace.
func (n *NS) Handle() *netlink.Handle { return n.nl }

// Path returns the namespace's bind-mount path, for APIs that take one.
func (n *NS) Path() string { return "/run/netns/" + n.Name }

// FD returns the namespace's file descriptor, valid until the test ends.
func (n *NS) FD() int { return int(n.h) }

// Do runs fn on an OS thread switched into the namespace. Sockets created
// inside fn stay in the namespace after Do returns.
func (n *NS) Do(fn func() error) error {
	var err error
	done := make(chan struct{})
	// A fresh goroutine whose thread is discarded afterwards: if switching
	// back failed, no other goroutine can inherit the namespace.
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, gerr := netns.Get()
		if gerr != nil {
			err = gerr
			return
		}
		defer orig.Close()
		if err = netns.Set(n.h); err != nil {
			return
		}
		err = fn()
		if serr := netns.Set(orig); serr == nil {
			runtime.UnlockOSThread()
		}
	}()
	<-done
	return err
}

// Command returns a command that runs inside the namespace through
// `ip netns exec`, which also gives it a /sys of the namespace.
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Start starts a long-running process inside the namespace in its own
// process group. The whole group is killed and reaped when the test ends.
func (n *NS) Start(name string, args ...string) *Process {
	n.t.Helper()
	return n.StartEnv(nil, name, args...)
}

// StartEnv is Start with extra environment variables ("K=V") added to the
// test's own environment.
func (n *NS) StartEnv(env []string, name string, args ...string) *Process {
	n.t.Helper()
	cmd := n.Command(context.Background(), name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = &p.out
	cmd.Stderr = &p.out
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("netns %s: start %s: %v", n.Name, name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	n.t.Cleanup(func() { p.Kill() })
	return p
}

// Process is a process started by NS.Start.
type Process struct {
	Cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
	err  error
}

// Output returns what the process has written to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Signal sends sig to the process's whole group.
func (p *Process) Signal(sig syscall.Signal) error {
	return syscall.Kill(-p.Cmd.Process.Pid, sig)
}

// Kill kills the process group and waits (bounded) for the process to exit.
func (p *Process) Kill() {
	_ = p.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.b) < 4<<20 { // keep memory bounded for chatty processes
		s.b = append(s.b, p...)
	}
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

// LinkUp sets the named link up.
func (n *NS) LinkUp(name string) {
	n.t.Helper()
	l, err := n.nl.LinkByName(name)
	if err == nil {
		err = n.nl.LinkSetUp(l)
	}
	if err != nil {
		n.t.Fatalf("netns %s: link %s up: %v", n.Name, name, err)
	}
}

// AddAddr adds addresses to the named link. IPv6 addresses are added with
// duplicate address detection off, so they are usable at once.
func (n *NS) AddAddr(link string, prefixes ...netip.Prefix) {
	n.t.Helper()
	l, err := n.nl.LinkByName(link)
	if err != nil {
		n.t.Fatalf("netns %s: link %s: %v", n.Name, link, err)
	}
	for _, p := range prefixes {
		a := &netlink.Addr{IPNet: ipNet(p)}
		if p.Addr().Is6() {
			a.Flags = syscall.IFA_F_NODAD
		}
		if err := n.nl.AddrAdd(l, a); err != nil {
			n.t.Fatalf("netns %s: add %s to %s: %v", n.Name, p, link, err)
		}
	}
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Veth connects namespace a (interface aName) to namespace b (interface
// bName) with a veth pair and sets both ends up.
func Veth(t testing.TB, a *NS, aName string, b *NS, bName string) {
	t.Helper()
	v := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: aName},
		PeerName:      bName,
		PeerNamespace: netlink.NsFd(b.FD()),
	}
	if err := a.nl.LinkAdd(v); err != nil {
		t.Fatalf("netns: veth %s/%s <-> %s/%s: %v", a.Name, aName, b.Name, bName, err)
	}
	a.LinkUp(aName)
	b.LinkUp(bName)
}

// Switch is a namespace holding one bridge, br0, that joins hosts: the
// shape of a LAN segment for VRRP and load-balancer tests.
type Switch struct {
	*NS
	ports int
}

// NewSwitch creates a namespace with a bridge br0 that is up.
func NewSwitch(t testing.TB) *Switch {
	t.Helper()
	n := New(t)
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}
	if err := n.nl.LinkAdd(br); err != nil {
		t.Fatalf("netns %s: bridge: %v", n.Name, err)
	}
	n.LinkUp("br0")
	return &Switch{NS: n}
}

// Connect plugs host into the switch through a veth pair whose host end is
// called ifname, and adds the given addresses to that end.
func (s *Switch) Connect(host *NS, ifname string, addrs ...netip.Prefix) {
	s.t.Helper()
	s.ports++
	port := fmt.Sprintf("p%d", s.ports)
	Veth(s.t, s.NS, port, host, ifname)
	br, err := s.nl.LinkByName("br0")
	if err != nil {
		s.t.Fatalf("netns %s: br0: %v", s.Name, err)
	}
	l, err := s.nl.LinkByName(port)
	if err == nil {
		err = s.nl.LinkSetMaster(l, br)
	}
	if err != nil {
		s.t.Fatalf("netns %s: attach %s to br0: %v", s.Name, port, err)
	}
	host.AddAddr(ifname, addrs...)
}
