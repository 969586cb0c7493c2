// Command ipvsadm is an ipvsadm-compatible front end to package ipvs. Its
// listings (-L -n with --stats, --rate, --thresholds, --persistent-conn,
// --tun-info, --exact, --nosort) and saves (-S -n) are byte-identical to
// ipvsadm 1.31's; addresses are always numeric. Its errors are ipvsadm's
// texts with ipvsadm's exit statuses (errors.go), compared with the real
// ipvsadm in the guest. -R pipelines the whole restore file into a few
// system calls. The output format lives in format.go; package ipvs knows
// nothing of it.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/lvskit/lvskit/ipvs"
)

func main() {
	os.Exit(cli(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// cli runs the command line args and returns the exit status, printing
// errors to stderr with ipvsadm 1.31's texts and statuses.
func cli(ctx context.Context, args []string, in io.Reader, out, stderr io.Writer) int {
	err := run(ctx, args, in, out, stderr)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errUsage) {
		usage(stderr)
		return exitUsage
	}
	msg, code := describe(err)
	fmt.Fprintln(stderr, msg)
	return code
}

// usage prints the help: every command and option, with what it does.
func usage(w io.Writer) {
	fmt.Fprint(w, `ipvsadm (lvskit) compatible with ipvsadm v1.31: administers the kernel's
IP Virtual Server table. Addresses are always numeric.

Usage:
  ipvsadm -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags] [-o]
  ipvsadm -D virtual-service
  ipvsadm -C
  ipvsadm -R
  ipvsadm -S [-n]
  ipvsadm -a|e virtual-service -r server-address [-g|i|m] [-w weight] [-x upper-threshold] [-y lower-threshold]
  ipvsadm -d virtual-service -r server-address
  ipvsadm -L|l [virtual-service] [options]
  ipvsadm -Z [virtual-service]
  ipvsadm --set tcp tcpfin udp
  ipvsadm --start-daemon {master|backup} [daemon-options]
  ipvsadm --stop-daemon {master|backup}
  ipvsadm -h

Commands:
  --add-service     -A  add a virtual service
  --edit-service    -E  change a virtual service's scheduler, persistence or flags
  --delete-service  -D  delete a virtual service and its real servers
  --clear           -C  delete every virtual service
  --restore         -R  read commands, one per line, from standard input
  --save            -S  print the table as commands that -R reads back
  --add-server      -a  add a real server to a virtual service
  --edit-server     -e  change a real server's forwarding, weight or thresholds
  --delete-server   -d  remove a real server from a virtual service
  --list            -L|-l  list the table, or one virtual service
  --zero            -Z  reset the counters of every service, or of one
  --set tcp tcpfin udp   set the connection timeouts in seconds (0: unchanged)
  --start-daemon {master|backup}  start a connection-synchronisation daemon
  --stop-daemon {master|backup}   stop it
  --help            -h  print this help and exit
  --version         -v  print the version and exit

Virtual service (one of):
  --tcp-service|-t address:port    TCP service ([IPv6]:port)
  --udp-service|-u address:port    UDP service
  --sctp-service   address:port    SCTP service
  --fwmark-service|-f fwmark       firewall-mark service (with -6 for IPv6)

Options:
  --ipv6           -6  the firewall-mark service is IPv6
  --scheduler      -s  scheduler: rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh (default wlc)
  --pe                 persistence engine (sip)
  --persistent     -p  persistent service, with an optional timeout in seconds (default 300)
  --netmask        -M  persistence granularity: IPv4 mask or IPv6 prefix length
  --real-server    -r  real server address[:port]
  --gatewaying     -g  forward by direct routing (default)
  --ipip           -i  forward by tunnelling (see --tun-type)
  --masquerading   -m  forward by NAT
  --tun-type           ipip, gue or gre
  --tun-port           GUE destination port
  --tun-nocsum --tun-csum --tun-remcsum  tunnel checksum mode
  --weight         -w  capacity of the real server, 0 quiesces it (default 1)
  --u-threshold    -x  upper connection threshold (0: none)
  --l-threshold    -y  lower connection threshold (0: none)
  --ops            -o  one-packet scheduling (UDP)
  --sched-flags    -b  scheduler flags: sh-fallback, sh-port, mh-fallback, mh-port, flag-1..3
  --numeric        -n  numeric output (the only kind this program prints)
  --connection     -c  list the connection table
  --timeout            list the timeouts
  --daemon             list the synchronisation daemons
  --stats              list with counters
  --rate               list with rates
  --thresholds         list with thresholds
  --persistent-conn    list with persistent connections
  --tun-info           list with tunnel information
  --nosort             list in the kernel's order
  --exact          -X  list exact numbers, not K/M/G
  --mcast-interface    daemon: multicast interface
  --syncid             daemon: synchronisation id
  --sync-maxlen        daemon: largest UDP payload
  --mcast-group --mcast-port --mcast-ttl  daemon: multicast group, port and TTL

Exit status: 0 on success, 2 for a bad command line, 255 when the kernel
refuses a command, 1 when a listed service does not exist.
`)
}

// dial opens a client, loading ip_vs first when the kernel lacks it, as
// ipvsadm does.
func dial(ctx context.Context) (*ipvs.Client, error) {
	c, err := ipvs.Dial(ctx, nil)
	if errors.Is(err, ipvs.ErrNotSupported) {
		if exec.Command("modprobe", "--", "ip_vs").Run() == nil {
			c, err = ipvs.Dial(ctx, nil)
		}
	}
	if err != nil {
		return nil, &exitError{exitUsage, "Can't initialize ipvs: " + err.Error() +
			"\nAre you sure that IP Virtual Server is built in the kernel or as module?"}
	}
	return c, nil
}

// run runs one command line; stderr receives the per-line errors of -R,
// which does not stop at the kernel's refusals (as ipvsadm).
func run(ctx context.Context, args []string, in io.Reader, out, stderr io.Writer) error {
	var cmd *command
	if len(args) == 0 {
		cmd = &command{cmd: "L"}
	} else {
		var err error
		if cmd, err = parseArgs(args); err != nil {
			return usageError(err)
		}
	}
	// Like ipvsadm, refuse a bad command line before opening IPVS.
	if err := cmd.check(); err != nil {
		return err
	}
	switch cmd.cmd {
	case "h":
		usage(out)
		return nil
	case "v":
		fmt.Fprintln(out, "ipvsadm (lvskit) compatible with ipvsadm v1.31")
		return nil
	}
	if cmd.cmd == "L" && cmd.conn {
		return listConnections(out, cmd.list.persistentConn)
	}
	c, err := dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if cmd.cmd == "R" {
		return restore(ctx, c, in, stderr)
	}
	return execute(ctx, c, cmd, out)
}

// op returns the service or destination operation of cmd, if it is one.
func (cmd *command) op() (ipvs.Op, bool) {
	switch cmd.cmd {
	case "A":
		return ipvs.Op{Kind: ipvs.OpNewService, Service: cmd.svc}, true
	case "E":
		return ipvs.Op{Kind: ipvs.OpUpdateService, Service: cmd.svc}, true
	case "D":
		return ipvs.Op{Kind: ipvs.OpDeleteService, Service: cmd.svc}, true
	case "a":
		return ipvs.Op{Kind: ipvs.OpNewDestination, Service: cmd.svc, Destination: cmd.dst}, true
	case "e":
		return ipvs.Op{Kind: ipvs.OpUpdateDestination, Service: cmd.svc, Destination: cmd.dst}, true
	case "d":
		return ipvs.Op{Kind: ipvs.OpDeleteDestination, Service: cmd.svc, Destination: cmd.dst}, true
	}
	return ipvs.Op{}, false
}

// check rejects what ipvsadm rejects before it talks to the kernel.
func (cmd *command) check() error {
	name := cmdLongName[cmd.cmd]
	if allowed, ok := commandOptions[cmd.cmd]; ok {
		for _, o := range optionOrder {
			mode, legal := allowed[o]
			switch {
			case cmd.given[o] && !legal:
				return usagef("Illegal '%s' option with the '%s' command", o, name)
			case !cmd.given[o] && mode == '+':
				return usagef("You need to supply the '%s' option for the '%s' command", o, name)
			}
		}
	}
	switch cmd.cmd {
	case "A", "E":
		if cmd.svc.FWMark == 0 && cmd.svc.Addr.Port() == 0 && cmd.svc.Flags&ipvs.FlagPersistent == 0 {
			return usagef("Zero port specified for non-persistent service")
		}
		if cmd.svc.Flags&ipvs.FlagOnePacket != 0 && cmd.svc.FWMark == 0 && cmd.svc.Protocol != ipvs.UDP {
			return usagef("One-Packet Scheduling is only for UDP virtual services")
		}
	case "a", "e":
		svcV6 := cmd.svc.Family == ipvs.IPv6 || cmd.svc.FWMark == 0 && cmd.svc.Addr.Addr().Is6()
		if cmd.dst.Addr.Addr().Is6() != svcV6 && cmd.dst.Forward != ipvs.Tunnel {
			return usagef("Different address family is allowed only for tunneling servers")
		}
	}
	return nil
}

// usagef is a command-line error: ipvsadm prints it and exits 2.
func usagef(format string, args ...any) error {
	return &exitError{exitUsage, fmt.Sprintf(format, args...)}
}

func execute(ctx context.Context, c *ipvs.Client, cmd *command, out io.Writer) error {
	if err := cmd.check(); err != nil {
		return err
	}
	if op, ok := cmd.op(); ok {
		return c.Do(ctx, []ipvs.Op{op})
	}
	switch cmd.cmd {
	case "C":
		return c.Flush(ctx)
	case "Z":
		if cmd.haveSvc {
			return c.ZeroService(ctx, cmd.svc)
		}
		return c.Zero(ctx)
	case "set":
		return c.SetTimeouts(ctx, cmd.timeouts)
	case "start-daemon":
		if cmd.d.Interface == "" {
			cmd.d.Interface = "eth0"
		}
		if cmd.d.SyncID == 0 {
			cmd.d.SyncID = 255
		}
		return c.StartDaemon(ctx, cmd.d)
	case "stop-daemon":
		return c.StopDaemon(ctx, cmd.d.State)
	case "S":
		svcs, err := c.Dump(ctx)
		if err != nil {
			return err
		}
		return writeRules(out, svcs, cmd.list)
	case "L":
		return list(ctx, c, cmd, out)
	}
	return errUsage
}

func list(ctx context.Context, c *ipvs.Client, cmd *command, out io.Writer) error {
	if cmd.timeout {
		t, err := c.Timeouts(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Timeout (tcp tcpfin udp): %d %d %d\n",
			int(t.TCP.Seconds()), int(t.TCPFin.Seconds()), int(t.UDP.Seconds()))
		return nil
	}
	if cmd.daemon {
		ds, err := c.Daemons(ctx)
		if err != nil {
			return err
		}
		for _, want := range []ipvs.DaemonState{ipvs.Master, ipvs.Backup} {
			for _, d := range ds {
				if d.State != want {
					continue
				}
				fmt.Fprintf(out, "%s sync daemon (mcast=%s, syncid=%d", d.State, d.Interface, d.SyncID)
				if d.MaxLen != 0 {
					fmt.Fprintf(out, ", maxlen=%d", d.MaxLen)
				}
				if d.Group.IsValid() {
					fmt.Fprintf(out, ", group=%s", d.Group)
				}
				if d.Port != 0 {
					fmt.Fprintf(out, ", port=%d", d.Port)
				}
				if d.TTL != 0 {
					fmt.Fprintf(out, ", ttl=%d", d.TTL)
				}
				fmt.Fprintln(out, ")")
			}
		}
		return nil
	}
	if cmd.haveSvc {
		s, err := c.Service(ctx, cmd.svc)
		if err != nil {
			if msg, code := describe(err); code == exitCommand {
				return &exitError{exitList, msg}
			}
			return err
		}
		if s.Destinations, err = c.Destinations(ctx, s); err != nil {
			return err
		}
		return writeServiceList(out, s, cmd.list)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return err
	}
	svcs, err := c.Dump(ctx)
	if err != nil {
		return err
	}
	return writeList(out, info, svcs, cmd.list)
}

// restore runs ipvsadm -R input: service and server commands are
// pipelined in batches; other commands run in order between batches. As
// ipvsadm, it reports a command the kernel refuses (or an unknown option)
// on stderr and goes on, but stops at any other bad line.
func restore(ctx context.Context, c *ipvs.Client, in io.Reader, stderr io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var ops []ipvs.Op
	report := func(err error) {
		// Do joins one error per refused operation, in order.
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				msg, _ := describe(e)
				fmt.Fprintln(stderr, msg)
			}
			return
		}
		msg, _ := describe(err)
		fmt.Fprintln(stderr, msg)
	}
	flush := func() {
		if len(ops) == 0 {
			return
		}
		if err := c.Do(ctx, ops); err != nil {
			report(err)
		}
		ops = ops[:0]
	}
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		cmd, err := parseArgs(fields)
		if err == nil {
			err = cmd.check()
		}
		var unknown *unknownOptionError
		if errors.As(err, &unknown) {
			fmt.Fprintf(stderr, "%s: unknown option\n", unknown.opt)
			continue
		}
		if err != nil {
			flush()
			return usageError(err)
		}
		if op, ok := cmd.op(); ok {
			ops = append(ops, op)
			continue
		}
		flush()
		if err := execute(ctx, c, cmd, io.Discard); err != nil {
			if _, code := describe(err); code != exitCommand {
				return err
			}
			report(err)
		}
	}
	flush()
	return sc.Err()
}
