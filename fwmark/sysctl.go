package fwmark

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sysctl reads and writes kernel parameters, the settings the seed changes
// in /etc/sysctl.conf (section 3.7) and with echo into /proc (section
// 3.2.4). Everything under net.* belongs to a network namespace: the one of
// the calling thread, or the one named by NetNS.
type Sysctl struct {
	// Root is the sysctl tree; "/proc/sys" when empty. Tests may point it
	// at a directory of plain files.
	Root string
	// NetNS is the path of the network namespace file whose settings to
	// read and write ("/run/netns/rs1"); empty means the caller's.
	NetNS string
}

func (s Sysctl) path(key string) string {
	root := s.Root
	if root == "" {
		root = "/proc/sys"
	}
	// Like sysctl(8): a key with a slash is a path (needed for interface
	// names with dots such as eth0.100); otherwise dots separate levels.
	if !strings.Contains(key, "/") {
		key = strings.ReplaceAll(key, ".", "/")
	}
	return filepath.Join(root, filepath.Clean("/"+key))
}

// Get returns the value of key ("net.ipv4.ip_forward"), without the
// trailing newline.
func (s Sysctl) Get(key string) (string, error) {
	var v string
	err := runInNetNS(s.NetNS, func() error {
		b, err := os.ReadFile(s.path(key))
		v = strings.TrimSpace(string(b))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("fwmark: sysctl %s: %w", key, err)
	}
	return v, nil
}

func (s Sysctl) write(key, value string) error {
	err := runInNetNS(s.NetNS, func() error {
		return os.WriteFile(s.path(key), []byte(value+"\n"), 0o644)
	})
	if err != nil {
		return fmt.Errorf("fwmark: sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// Set gives key the value. It returns one Change when the value was
// different before, none when it already had it.
func (s Sysctl) Set(ctx context.Context, key, value string) (Changes, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	old, err := s.Get(key)
	if err != nil {
		return nil, err
	}
	if old == value {
		return nil, nil
	}
	if err := s.write(key, value); err != nil {
		return nil, err
	}
	return Changes{{
		Kind: "sysctl", Target: key, Old: old, New: value,
		undo: func(context.Context) error { return s.write(key, old) },
	}}, nil
}

// setAll sets several keys, undoing the ones already set if a later one
// fails, so a failed call leaves the host as it was.
func (s Sysctl) setAll(ctx context.Context, kv ...string) (Changes, error) {
	var all Changes
	for i := 0; i+1 < len(kv); i += 2 {
		cs, err := s.Set(ctx, kv[i], kv[i+1])
		if err != nil {
			return nil, joinUndo(ctx, err, all)
		}
		all = append(all, cs...)
	}
	return all, nil
}

func joinUndo(ctx context.Context, err error, done Changes) error {
	if uerr := done.Undo(ctx); uerr != nil {
		return fmt.Errorf("%w (and undoing: %v)", err, uerr)
	}
	return err
}

var (
	forwardingKeys   = map[Family]string{IPv4: "net.ipv4.ip_forward", IPv6: "net.ipv6.conf.all.forwarding"}
	nonlocalBindKeys = map[Family]string{IPv4: "net.ipv4.ip_nonlocal_bind", IPv6: "net.ipv6.ip_nonlocal_bind"}
)

func keysFor(m map[Family]string, fams []Family) []string {
	var keys []string
	for _, f := range fams {
		if k, ok := m[f]; ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// ForwardingKeys returns the sysctls that turn on packet forwarding for the
// families (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding).
func ForwardingKeys(fams ...Family) []string { return keysFor(forwardingKeys, fams) }

// NonlocalBindKeys returns the sysctls that let processes bind addresses
// the host does not hold (net.ipv4.ip_nonlocal_bind,
// net.ipv6.ip_nonlocal_bind), which HAProxy needs on a backup router.
func NonlocalBindKeys(fams ...Family) []string { return keysFor(nonlocalBindKeys, fams) }

func ones(keys []string) []string {
	var kv []string
	for _, k := range keys {
		kv = append(kv, k, "1")
	}
	return kv
}

// EnableForwarding turns on IP forwarding for the families (both when none
// is given), as every LVS router needs.
func (s Sysctl) EnableForwarding(ctx context.Context, fams ...Family) (Changes, error) {
	if len(fams) == 0 {
		fams = []Family{IPv4, IPv6}
	}
	return s.setAll(ctx, ones(ForwardingKeys(fams...))...)
}

// EnableNonlocalBind allows binding non-local addresses for the families
// (both when none is given).
func (s Sysctl) EnableNonlocalBind(ctx context.Context, fams ...Family) (Changes, error) {
	if len(fams) == 0 {
		fams = []Family{IPv4, IPv6}
	}
	return s.setAll(ctx, ones(NonlocalBindKeys(fams...))...)
}

// ARPKeys returns the per-interface sysctls of the seed's section 3.2.4 as
// key/value pairs: arp_ignore=1 (answer ARP only for addresses on the
// interface asked) and arp_announce=2 (never use the VIP as ARP source).
func ARPKeys(iface string) []string {
	p := "net/ipv4/conf/" + iface + "/"
	return []string{p + "arp_ignore", "1", p + "arp_announce", "2"}
}

// SetARPForDR sets arp_ignore=1 and arp_announce=2 on iface, the interface
// of a Direct Routing real server that faces the director. The kernel uses
// the larger of the "all" and the interface value, so iface may also be
// "all".
func (s Sysctl) SetARPForDR(ctx context.Context, iface string) (Changes, error) {
	if !validIface(iface) {
		return nil, fmt.Errorf("fwmark: bad interface name %q", iface)
	}
	return s.setAll(ctx, ARPKeys(iface)...)
}

func validIface(s string) bool {
	return s != "" && len(s) < 16 && s != "." && s != ".." && !strings.ContainsAny(s, "/ \t\n")
}
