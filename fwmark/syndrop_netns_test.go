//go:build netns

package fwmark

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// TestSYNDropInNamespace installs a SYNDrop for a VIP in a server's
// namespace: new connections to the VIP time out (their SYNs vanish, no
// reset comes back) over IPv4 and IPv6, a connection opened before goes on
// exchanging data, the server's other address still accepts, the table
// reads back as NftText writes it, and Undo and Remove take it away.
func TestSYNDropInNamespace(t *testing.T) {
	testenv.NeedRoot(t)
	nftBin := testenv.NeedTool(t, "nft")
	sw := netns.NewSwitch(t)
	cli, srv := netns.New(t), netns.New(t)
	sw.Connect(cli, "eth0", netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("fd00::1/64"))
	vip4, vip6, real := netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("fd00::100"), netip.MustParseAddr("10.0.0.11")
	sw.Connect(srv, "eth0", netip.MustParsePrefix("10.0.0.11/24"), netip.MustParsePrefix("10.0.0.100/24"),
		netip.MustParsePrefix("fd00::100/64"))
	var ln net.Listener
	if err := srv.Do(func() (err error) { ln, err = net.Listen("tcp", ":80"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serveConns(ln, func(c net.Conn) {
		defer c.Close()
		io.Copy(c, c) // echo until the client closes
	})
	dial := func(a netip.Addr, timeout time.Duration) (net.Conn, error) {
		var c net.Conn
		err := cli.Do(func() (err error) {
			c, err = net.DialTimeout("tcp", netip.AddrPortFrom(a, 80).String(), timeout)
			return err
		})
		return c, err
	}
	echo := func(c net.Conn, msg string) error {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		b := make([]byte, len(msg))
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		if string(b) != msg {
			return errors.New("echo mismatch")
		}
		return nil
	}
	// IPv6 duplicate address detection must finish before the VIP answers.
	if !waitUntil(10*time.Second, func() bool {
		c, err := dial(vip6, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatal("the IPv6 VIP does not answer before the drop")
	}
	open, err := dial(vip4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()

	ctx := context.Background()
	d := SYNDrop{Dsts: []netip.Addr{vip4, vip6}, Table: "test_syndrop"}
	cs, err := d.Apply(ctx, srv.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].String() != "nft table inet test_syndrop: (none) -> 2 rules" {
		t.Errorf("changes: %s", cs)
	}
	if again, err := d.Apply(ctx, srv.Path()); err != nil || len(again) != 0 {
		t.Errorf("second Apply: %s, %v; want no change", again, err)
	}

	for _, a := range []netip.Addr{vip4, vip6} {
		c, err := dial(a, 300*time.Millisecond)
		var ne net.Error
		if err == nil {
			c.Close()
			t.Errorf("%s: a new connection got through the SYN drop", a)
		} else if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("%s: %v; want a timeout (the SYN dropped), not a refusal", a, err)
		}
	}
	if err := echo(open, "still here"); err != nil {
		t.Errorf("the connection opened before the drop: %v", err)
	}
	if c, err := dial(real, 5*time.Second); err != nil {
		t.Errorf("the server's own address: %v", err)
	} else {
		c.Close()
	}

	// What Apply installed lists as what NftText makes nft install.
	listed := func(ns *netns.NS) string {
		out, err := ns.Command(ctx, nftBin, "list", "table", "inet", "test_syndrop").CombinedOutput()
		if err != nil {
			t.Fatalf("nft list: %v: %s", err, out)
		}
		return regexp.MustCompile(`packets \d+ bytes \d+`).ReplaceAllString(string(out), "packets N bytes N")
	}
	text, err := d.NftText()
	if err != nil {
		t.Fatal(err)
	}
	other := netns.New(t)
	script := t.TempDir() + "/syndrop.nft"
	if err := os.WriteFile(script, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := other.Command(ctx, nftBin, "-f", script).CombinedOutput(); err != nil {
		t.Fatalf("nft -f NftText: %v: %s\n%s", err, out, text)
	}
	if a, b := listed(srv), listed(other); a != b {
		t.Errorf("Apply installed:\n%s\nNftText installs:\n%s", a, b)
	}
	// nft 1.0.6 lists "tcp flags & (syn | ack) == syn" in its newer form.
	if !strings.Contains(listed(srv), "tcp flags syn / syn,ack") {
		t.Errorf("listed table:\n%s", listed(srv))
	}

	if err := cs.Undo(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range []netip.Addr{vip4, vip6} {
		if c, err := dial(a, 5*time.Second); err != nil {
			t.Errorf("%s after Undo: %v", a, err)
		} else {
			c.Close()
		}
	}
	// Remove clears a table whose Changes were lost (a crashed run).
	if _, err := d.Apply(ctx, srv.Path()); err != nil {
		t.Fatal(err)
	}
	if removed, err := d.Remove(ctx, srv.Path()); err != nil || !removed {
		t.Fatalf("Remove: %v, %v", removed, err)
	}
	if removed, err := d.Remove(ctx, srv.Path()); err != nil || removed {
		t.Errorf("Remove without a table: %v, %v", removed, err)
	}
	if c, err := dial(vip4, 5*time.Second); err != nil {
		t.Errorf("after Remove: %v", err)
	} else {
		c.Close()
	}
}

func waitUntil(d time.Duration, ok func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return ok()
}
