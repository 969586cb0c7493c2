// Command fwmarkctl applies, shows, removes and renders lvskit firewall
// marks described in a small config file (see fwmark.Parse):
//
//	fwmarkctl render -f marks.conf --format iptables|iptables-restore|firewalld|firewalld-direct|nft
//	fwmarkctl check  -f marks.conf
//	fwmarkctl apply  -f marks.conf
//	fwmarkctl show   [-table NAME]
//	fwmarkctl remove [-table NAME]
//	fwmarkctl router [--family ipv4|ipv6|both] [--nonlocal-bind] [--dry-run]
//	fwmarkctl realserver --method sysctl|arp|redirect --vip ADDR[,ADDR] [--iface IF] [--real-ip ADDR]
//	                     [--service tcp:80,...] [--render shell|firewalld|nft|sysctl-conf] [--remove]
//	fwmarkctl local --marks 80,21 --route-table 100 [--family ipv4|ipv6|both] [--render]
//
// apply installs the marks into lvskit's own nftables table, replacing
// only that table; show prints what is installed with packet counters;
// remove deletes the table. `fwmarkctl -h` explains every command; a flag
// that belongs to another command is refused, not ignored.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"

	"github.com/lvskit/lvskit/fwmark"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: fwmarkctl COMMAND [flags]   (fwmarkctl -h: every command explained)
commands:
  render -f FILE [--format iptables|iptables-restore|firewalld|firewalld-direct|nft] [--permanent] [--zone ZONE] [--table NAME]
  check  -f FILE
  apply  -f FILE [--table NAME]
  show   [--table NAME]
  remove [--table NAME]
  router [--family ipv4|ipv6|both] [--nonlocal-bind] [--dry-run]
  realserver --method sysctl|arp|redirect --vip ADDR[,ADDR] [--iface IF] [--real-ip ADDR]
             [--service tcp:80,...] [--table NAME] [--render shell|firewalld|nft|sysctl-conf] [--permanent] [--zone ZONE] [--remove]
  local --marks 80,21 [--route-table 100] [--family ipv4|ipv6|both] [--render shell]
`

const help = `fwmarkctl manages the firewall marks that group traffic into IPVS
firewall-mark services, and the host settings around an IPVS director and
its real servers. The marks come from a small config file (FILE, - for
standard input):

	table lvskit                                  # optional nftables table name
	mark 80 tcp 192.168.76.24/32 80,443           # mark MARK PROTOCOL DESTINATION PORTS
	mark 21 tcp 192.168.76.24 21,10000-20000      # PORTS: all, or ports and FROM-TO ranges

Commands:
  render   print the marks of FILE for another tool, without changing the
           host: --format nft (default), iptables, iptables-restore,
           firewalld (rich rules) or firewalld-direct; --permanent and
           --zone shape the firewall-cmd lines; --table names the nft table.
  check    parse and validate FILE; print how many rules it holds.
  apply    install the marks of FILE into lvskit's own nftables table (inet,
           prerouting), replacing only that table in one transaction;
           --table overrides the file's table name.
  show     print the installed marks with their packet and byte counters.
  remove   delete lvskit's table; other tables are untouched.
  router   prepare a director: enable IP forwarding (--family ipv4, ipv6 or
           both), with --nonlocal-bind also non-local binds; --dry-run only
           prints the current values.
  realserver
           prepare a Direct Routing real server for --vip addresses:
           --method sysctl (arp_ignore/arp_announce on --iface and the VIPs
           on lo), arp (nft ARP filtering; needs --real-ip) or redirect (nft
           redirect of --service PROTO:PORT to the local stack); --render
           shell, firewalld, nft or sysctl-conf prints instead of applying;
           --remove deletes lvskit's real-server table; --table names it.
  local    deliver --marks to local sockets (policy rules to --route-table
           with a local default route), for --family; --render shell prints
           the ip commands instead.

Every command refuses flags that belong to another. Exit status: 0 on
success, 1 when the command fails, 2 for a bad command line.
`

// commandFlags lists the flags each command reads; any other flag is
// refused rather than ignored.
var commandFlags = map[string][]string{
	"render":     {"f", "format", "permanent", "zone", "table"},
	"check":      {"f"},
	"apply":      {"f", "table"},
	"show":       {"table"},
	"remove":     {"table"},
	"router":     {"family", "nonlocal-bind", "dry-run"},
	"realserver": {"method", "vip", "iface", "real-ip", "service", "render", "remove", "table", "permanent", "zone"},
	"local":      {"marks", "route-table", "family", "render"},
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd := args[0]
	switch cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, help)
		return 0
	}
	allowed, known := commandFlags[cmd]
	if !known {
		fmt.Fprintf(stderr, "fwmarkctl: %v: unknown command %q\n%s", errUsage, cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // -h prints the full help below; errors print themselves
	file := fs.String("f", "", "config `file` (- for stdin)")
	format := fs.String("format", "nft", "render format: iptables, iptables-restore, firewalld, firewalld-direct or nft")
	permanent := fs.Bool("permanent", false, "firewalld: add --permanent and a final --reload")
	zone := fs.String("zone", "", "firewalld zone (default zone when empty)")
	table := fs.String("table", "", "nftables table (default: the config's, else lvskit)")
	var o options
	fs.StringVar(&o.family, "family", "both", "router: ipv4, ipv6 or both")
	fs.BoolVar(&o.nonlocal, "nonlocal-bind", false, "router: also allow binding non-local addresses")
	fs.BoolVar(&o.dryRun, "dry-run", false, "router: only print the current settings")
	fs.StringVar(&o.method, "method", "sysctl", "realserver: sysctl, arp or redirect")
	fs.StringVar(&o.vips, "vip", "", "realserver: virtual addresses, comma separated")
	fs.StringVar(&o.iface, "iface", "eth0", "realserver: interface facing the director")
	fs.StringVar(&o.realIP, "real-ip", "", "realserver (arp): the server's own IPv4 address")
	fs.StringVar(&o.services, "service", "", "realserver (redirect): PROTO:PORT list, comma separated")
	fs.StringVar(&o.renderDR, "render", "", "realserver: print instead of applying: shell, firewalld, nft or sysctl-conf")
	fs.BoolVar(&o.remove, "remove", false, "realserver: remove lvskit's real-server nft table")
	fs.StringVar(&o.marks, "marks", "", "local: marks to deliver locally, comma separated")
	fs.IntVar(&o.routeTable, "route-table", 100, "local: routing table for the local routes")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, help)
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fwmarkctl %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return 2
	}
	var stray []string
	fs.Visit(func(f *flag.Flag) {
		if !slices.Contains(allowed, f.Name) {
			stray = append(stray, "-"+f.Name)
		}
	})
	if len(stray) > 0 {
		fmt.Fprintf(stderr, "fwmarkctl %s: %s not supported by this command\n%s", cmd, strings.Join(stray, ", "), usage)
		return 2
	}
	o.file, o.format, o.permanent, o.zone, o.table = *file, *format, *permanent, *zone, *table
	err := dispatch(ctx, cmd, o, stdout)
	if errors.Is(err, errUsage) {
		fmt.Fprintf(stderr, "fwmarkctl: %v\n%s", err, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "fwmarkctl: %v\n", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("bad usage")

type options struct {
	file, format string
	permanent    bool
	zone, table  string

	family           string
	nonlocal, dryRun bool

	method, vips, iface, realIP, services, renderDR string
	remove                                          bool

	marks      string
	routeTable int
}

func (o options) config() (*fwmark.Config, error) {
	if o.file == "" {
		return nil, fmt.Errorf("%w: -f FILE is required", errUsage)
	}
	var (
		c   *fwmark.Config
		err error
	)
	if o.file == "-" {
		data, rerr := io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
		if rerr != nil {
			return nil, rerr
		}
		c, err = fwmark.Parse("<stdin>", data)
	} else {
		c, err = fwmark.ParseFile(o.file)
	}
	if err != nil {
		return nil, err
	}
	if o.table != "" {
		c.Table = o.table
	}
	return c, nil
}

func dispatch(ctx context.Context, cmd string, o options, w io.Writer) error {
	switch cmd {
	case "render":
		c, err := o.config()
		if err != nil {
			return err
		}
		return render(w, c, o)
	case "check":
		c, err := o.config()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s: %d rules OK\n", o.file, len(c.Rules))
		return nil
	case "apply":
		c, err := o.config()
		if err != nil {
			return err
		}
		t, err := fwmark.NewTable(&fwmark.TableConfig{Name: c.Table})
		if err != nil {
			return err
		}
		defer t.Close()
		changed, err := t.Apply(ctx, c.Rules)
		if err != nil {
			return err
		}
		if changed {
			fmt.Fprintf(w, "table inet %s: replaced with %d rules\n", t.Name(), len(c.Rules))
		} else {
			fmt.Fprintf(w, "table inet %s: already up to date\n", t.Name())
		}
		return nil
	case "show", "remove":
		t, err := fwmark.NewTable(&fwmark.TableConfig{Name: o.table})
		if err != nil {
			return err
		}
		defer t.Close()
		if cmd == "remove" {
			changed, err := t.Remove(ctx)
			if err == nil && changed {
				fmt.Fprintf(w, "table inet %s: removed\n", t.Name())
			} else if err == nil {
				fmt.Fprintf(w, "table inet %s: not present\n", t.Name())
			}
			return err
		}
		entries, err := t.Show(ctx)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			fmt.Fprintf(w, "table inet %s: no marks installed\n", t.Name())
		}
		for _, e := range entries {
			fmt.Fprintf(w, "%-50s packets %d bytes %d\n", e.Rule, e.Packets, e.Bytes)
		}
		return nil
	case "router":
		return router(ctx, o, w)
	case "realserver":
		return realServer(ctx, o, w)
	case "local":
		return local(ctx, o, w)
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

func (o options) families() ([]fwmark.Family, error) {
	switch o.family {
	case "ipv4":
		return []fwmark.Family{fwmark.IPv4}, nil
	case "ipv6":
		return []fwmark.Family{fwmark.IPv6}, nil
	case "both":
		return []fwmark.Family{fwmark.IPv4, fwmark.IPv6}, nil
	}
	return nil, fmt.Errorf("%w: unknown family %q", errUsage, o.family)
}

func local(ctx context.Context, o options, w io.Writer) error {
	fams, err := o.families()
	if err != nil {
		return err
	}
	ld := fwmark.LocalDelivery{Table: o.routeTable, Families: fams}
	for _, m := range strings.Split(o.marks, ",") {
		if m == "" {
			continue
		}
		n, err := strconv.ParseUint(m, 0, 32)
		if err != nil {
			return fmt.Errorf("--marks: bad mark %q", m)
		}
		ld.Marks = append(ld.Marks, uint32(n))
	}
	switch o.renderDR {
	case "":
		cs, err := ld.Apply(ctx, "")
		return printChanges(w, cs, err)
	case "shell":
		lines, err := ld.Commands()
		return printLines(w, lines, err)
	}
	return fmt.Errorf("%w: unknown --render %q", errUsage, o.renderDR)
}

// printLines prints rendered lines, or returns the renderer's error.
func printLines(w io.Writer, lines []string, err error) error {
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	return nil
}

// printChanges reports what an apply changed on the host.
func printChanges(w io.Writer, cs fwmark.Changes, err error) error {
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		fmt.Fprintln(w, "nothing to change")
	}
	fmt.Fprint(w, cs)
	return nil
}

func router(ctx context.Context, o options, w io.Writer) error {
	fams, err := o.families()
	if err != nil {
		return err
	}
	var s fwmark.Sysctl
	if o.dryRun {
		keys := fwmark.ForwardingKeys(fams...)
		if o.nonlocal {
			keys = append(keys, fwmark.NonlocalBindKeys(fams...)...)
		}
		for _, k := range keys {
			v, err := s.Get(k)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s = %s\n", k, v)
		}
		return nil
	}
	cs, err := s.EnableForwarding(ctx, fams...)
	if err != nil {
		return err
	}
	if o.nonlocal {
		more, err := s.EnableNonlocalBind(ctx, fams...)
		if err != nil {
			return errors.Join(err, cs.Undo(ctx))
		}
		cs = append(cs, more...)
	}
	return printChanges(w, cs, nil)
}

func (o options) realServer() (fwmark.RealServer, error) {
	var rs fwmark.RealServer
	var err error
	if rs.Method, err = fwmark.ParseDRMethod(o.method); err != nil {
		return rs, err
	}
	rs.Interface, rs.Table = o.iface, o.table
	for _, v := range strings.Split(o.vips, ",") {
		if v == "" {
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return rs, fmt.Errorf("--vip: %w", err)
		}
		rs.VIPs = append(rs.VIPs, a)
	}
	if o.realIP != "" {
		if rs.RealIP, err = netip.ParseAddr(o.realIP); err != nil {
			return rs, fmt.Errorf("--real-ip: %w", err)
		}
	}
	for _, sv := range strings.Split(o.services, ",") {
		if sv == "" {
			continue
		}
		proto, port, ok := strings.Cut(sv, ":")
		p, err := fwmark.ParseProtocol(proto)
		if err != nil || !ok {
			return rs, fmt.Errorf("--service %q: want PROTO:PORT", sv)
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return rs, fmt.Errorf("--service %q: bad port", sv)
		}
		rs.Services = append(rs.Services, fwmark.Service{Protocol: p, Port: uint16(n)})
	}
	return rs, rs.Validate()
}

func realServer(ctx context.Context, o options, w io.Writer) error {
	rs, err := o.realServer()
	if err != nil {
		return err
	}
	var lines []string
	switch o.renderDR {
	case "":
		if o.remove {
			removed, err := rs.Remove(ctx, "")
			if err == nil {
				fmt.Fprintf(w, "removed: %v\n", removed)
			}
			return err
		}
		cs, err := rs.Apply(ctx, "")
		return printChanges(w, cs, err)
	case "shell":
		lines, err = rs.Commands()
	case "firewalld":
		lines, err = rs.Firewalld(&fwmark.FirewalldConfig{Zone: o.zone, Permanent: o.permanent})
	case "nft":
		var s string
		s, err = rs.NftText()
		lines = []string{strings.TrimSuffix(s, "\n")}
	case "sysctl-conf":
		lines, err = rs.SysctlConf()
	default:
		return fmt.Errorf("%w: unknown --render %q", errUsage, o.renderDR)
	}
	return printLines(w, lines, err)
}

func render(w io.Writer, c *fwmark.Config, o options) error {
	fo := &fwmark.FirewalldConfig{Zone: o.zone, Permanent: o.permanent}
	var lines []string
	var err error
	switch o.format {
	case "iptables":
		lines, err = fwmark.IptablesCommands(c.Rules)
	case "iptables-restore":
		var s4, s6 string
		if s4, err = fwmark.IptablesRestore(c.Rules, fwmark.IPv4); err == nil {
			s6, err = fwmark.IptablesRestore(c.Rules, fwmark.IPv6)
		}
		if s4 != "" {
			fmt.Fprint(w, "# iptables-restore --noflush\n"+s4)
		}
		if s6 != "" {
			fmt.Fprint(w, "# ip6tables-restore --noflush\n"+s6)
		}
		return err
	case "firewalld":
		lines, err = fwmark.FirewalldRichRules(c.Rules, fo)
	case "firewalld-direct":
		lines, err = fwmark.FirewalldDirect(c.Rules, fo)
	case "nft":
		var s string
		s, err = fwmark.NftText(c.Rules, c.Table)
		lines = []string{strings.TrimSuffix(s, "\n")}
	default:
		return fmt.Errorf("%w: unknown format %q", errUsage, o.format)
	}
	return printLines(w, lines, err)
}
