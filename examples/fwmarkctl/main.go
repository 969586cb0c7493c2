// Command fwmarkctl applies, shows, removes and renders lvskit firewall
// marks described in a small config file (see fwmark.Parse):
//
//	fwmarkctl render -f marks.conf --format iptables|iptables-restore|firewalld|firewalld-direct|nft
//	fwmarkctl check  -f marks.conf
//	fwmarkctl apply  -f marks.conf
//	fwmarkctl show   [-table NAME]
//	fwmarkctl remove [-table NAME]
//
// apply installs the marks into lvskit's own nftables table, replacing
// only that table; show prints what is installed with packet counters;
// remove deletes the table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/lvskit/lvskit/fwmark"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: fwmarkctl COMMAND [flags]
commands:
  render -f FILE [--format iptables|iptables-restore|firewalld|firewalld-direct|nft] [--permanent] [--zone ZONE]
  check  -f FILE
  apply  -f FILE
  show   [-table NAME]
  remove [-table NAME]
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "config `file` (- for stdin)")
	format := fs.String("format", "nft", "render format: iptables, iptables-restore, firewalld, firewalld-direct or nft")
	permanent := fs.Bool("permanent", false, "firewalld: add --permanent and a final --reload")
	zone := fs.String("zone", "", "firewalld zone (default zone when empty)")
	table := fs.String("table", "", "nftables table (default: the config's, else lvskit)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	err := dispatch(ctx, cmd, options{*file, *format, *permanent, *zone, *table}, stdout)
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
}

func (o options) config() (*fwmark.Config, error) {
	if o.file == "" {
		return nil, fmt.Errorf("%w: -f FILE is required", errUsage)
	}
	var r io.Reader = os.Stdin
	name := "<stdin>"
	if o.file != "-" {
		f, err := os.Open(o.file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r, name = f, o.file
	}
	c, err := fwmark.Parse(r, name)
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
		t, err := fwmark.NewTable(fwmark.TableOptions{Name: c.Table})
		if err != nil {
			return err
		}
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
		t, err := fwmark.NewTable(fwmark.TableOptions{Name: o.table})
		if err != nil {
			return err
		}
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
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

func render(w io.Writer, c *fwmark.Config, o options) error {
	fo := fwmark.FirewalldOptions{Zone: o.zone, Permanent: o.permanent}
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
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	return nil
}
