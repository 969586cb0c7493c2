package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/ipvs"
)

// command is one parsed ipvsadm invocation (or one line of -R input).
type command struct {
	cmd     string // "A", "E", "D", "C", "R", "S", "a", "e", "d", "L", "Z", "set", "start-daemon", "stop-daemon", "h", "v"
	svc     ipvs.Service
	haveSvc bool
	dst     ipvs.Destination
	haveDst bool
	dstPort bool // -r named a port

	numeric, conn, timeout, daemon bool
	list                           listOptions

	timeouts ipvs.Timeouts
	d        ipvs.Daemon

	tunOpt  bool
	tunOpts []string // tunnel options given, for ipvsadm's per-type checks
	seen    map[string]bool
	given   map[string]bool // ipvsadm's names of the options given
}

// flagName is ipvsadm's name of each option without an argument that its
// command/option table checks.
var flagName = map[string]string{
	"numeric": "numeric", "connection": "connection", "timeout": "timeout", "daemon": "daemon",
	"stats": "stats", "rate": "rate", "thresholds": "thresholds", "persistent-conn": "persistent-conn",
	"nosort": "nosort", "exact": "exact", "tun-info": "tun-info",
}

// optName is ipvsadm's name of an option in "multiple ... options"
// errors; options not listed may repeat.
var optName = map[string]string{
	"tcp-service": "service-address", "udp-service": "service-address",
	"sctp-service": "service-address", "fwmark-service": "service-address",
	"gatewaying": "forwarding-method", "ipip": "forwarding-method", "masquerading": "forwarding-method",
	"scheduler": "scheduler", "persistent": "persistent", "netmask": "netmask",
	"real-server": "real-server", "weight": "weight", "u-threshold": "u-threshold",
	"l-threshold": "l-threshold", "mcast-interface": "mcast-interface", "syncid": "syncid",
	"pe": "pe", "sched-flags": "sched-flags", "ops": "ops",
}

var errUsage = errors.New("usage")

// give records that the option ipvsadm calls name was given.
func (c *command) give(name string) {
	if c.given == nil {
		c.given = map[string]bool{}
	}
	c.given[name] = true
}

// optionOrder is the order in which ipvsadm checks options against a
// command, so that the first complaint is the one ipvsadm makes.
var optionOrder = []string{"numeric", "connection", "service-address", "scheduler", "persistent",
	"netmask", "real-server", "forwarding-method", "weight", "u-threshold", "l-threshold",
	"mcast-interface", "timeout", "daemon", "stats", "rate", "thresholds", "persistent-conn",
	"nosort", "syncid", "exact", "ops", "pe", "sched-flags", "tun-info"}

// commandOptions says, per command, which options are allowed (' ') and
// which are required ('+'); every other option of optionOrder is illegal
// with it, as ipvsadm 1.31 decides (measured in the guest). Commands not
// listed are not checked.
var commandOptions = map[string]map[string]byte{
	"A": {"service-address": '+', "scheduler": ' ', "persistent": ' ', "netmask": ' ', "ops": ' ', "pe": ' ', "sched-flags": ' '},
	"E": {"service-address": '+', "scheduler": ' ', "persistent": ' ', "netmask": ' ', "ops": ' ', "pe": ' ', "sched-flags": ' '},
	"D": {"service-address": '+'},
	"C": {},
	"R": {},
	"S": {"numeric": ' '},
	"a": {"service-address": '+', "real-server": '+', "forwarding-method": ' ', "weight": ' ', "u-threshold": ' ', "l-threshold": ' '},
	"e": {"service-address": '+', "real-server": '+', "forwarding-method": ' ', "weight": ' ', "u-threshold": ' ', "l-threshold": ' '},
	"d": {"service-address": '+', "real-server": '+'},
	"L": {"service-address": ' ', "numeric": ' ', "connection": ' ', "timeout": ' ', "daemon": ' ', "stats": ' ',
		"rate": ' ', "thresholds": ' ', "persistent-conn": ' ', "nosort": ' ', "syncid": ' ', "exact": ' ', "tun-info": ' '},
	"Z": {"service-address": ' '},
}

// cmdLongName names the commands as ipvsadm's errors do.
var cmdLongName = map[string]string{
	"A": "add-service", "E": "edit-service", "D": "delete-service", "C": "flush",
	"R": "restore", "S": "save", "a": "add-server", "e": "edit-server",
	"d": "delete-server", "L": "list", "Z": "zero", "h": "help", "v": "version",
	"set": "set", "start-daemon": "start-daemon", "stop-daemon": "stop-daemon",
}

// longArg lists long options that take an argument.
var longArg = map[string]bool{
	"tcp-service": true, "udp-service": true, "sctp-service": true, "fwmark-service": true,
	"scheduler": true, "netmask": true, "real-server": true, "weight": true,
	"u-threshold": true, "l-threshold": true, "mcast-interface": true, "syncid": true,
	"pe": true, "sched-flags": true, "tun-type": true, "tun-port": true,
	"start-daemon": true, "stop-daemon": true, "sync-maxlen": true, "mcast-group": true,
	"mcast-port": true, "mcast-ttl": true,
}

// shortLong maps short options to their long names.
var shortLong = map[byte]string{
	'A': "add-service", 'E': "edit-service", 'D': "delete-service", 'C': "clear",
	'R': "restore", 'S': "save", 'a': "add-server", 'e': "edit-server", 'd': "delete-server",
	'L': "list", 'l': "list", 'Z': "zero", 'h': "help", 'v': "version",
	't': "tcp-service", 'u': "udp-service", 'f': "fwmark-service", '6': "ipv6",
	's': "scheduler", 'p': "persistent", 'M': "netmask", 'r': "real-server",
	'g': "gatewaying", 'i': "ipip", 'm': "masquerading", 'w': "weight",
	'x': "u-threshold", 'y': "l-threshold", 'n': "numeric", 'c': "connection",
	'o': "ops", 'b': "sched-flags", 'X': "exact",
}

// parseArgs parses ipvsadm's command line.
func parseArgs(args []string) (*command, error) {
	c := &command{}
	c.dst.Forward = ipvs.Route
	c.dst.Weight = 1
	var (
		fwmarkV6   bool
		timeoutSet bool
		setArgs    []string
		schedFlags string
	)
	var spelled string // the option being applied, as written
	set := func(cmd string) error {
		if c.cmd != "" {
			// ipvsadm's words for a second command.
			return usagef("invalid option `%s'", spelled)
		}
		c.cmd = cmd
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var opts []string   // long names
		var spells []string // the same, as written
		var inline string
		hasInline := false
		switch {
		case strings.HasPrefix(a, "--"):
			name := a[2:]
			if k := strings.IndexByte(name, '='); k >= 0 {
				name, inline, hasInline = name[:k], name[k+1:], true
			}
			opts = []string{name}
			spells = []string{"--" + name}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				long, ok := shortLong[a[j]]
				if !ok {
					return nil, &unknownOptionError{"-" + string(a[j])}
				}
				opts = append(opts, long)
				spells = append(spells, "-"+string(a[j]))
				if longArg[long] || long == "persistent" {
					if j+1 < len(a) {
						inline, hasInline = a[j+1:], true
					}
					break
				}
			}
		default:
			if c.cmd == "set" {
				setArgs = append(setArgs, a)
				continue
			}
			return nil, fmt.Errorf("unexpected argument %s", a)
		}
		for k, o := range opts {
			spelled = spells[k]
			var arg string
			if longArg[o] {
				if hasInline {
					arg, hasInline = inline, false
				} else if i+1 < len(args) {
					i++
					arg = args[i]
				} else {
					return nil, &exitError{exitCommand, spelled + ": missing argument"}
				}
			}
			if err := c.apply(o, arg, &fwmarkV6, &timeoutSet, &schedFlags, set, func() (string, bool) {
				if hasInline {
					hasInline = false
					return inline, true
				}
				if i+1 < len(args) && isDigits(args[i+1]) {
					i++
					return args[i], true
				}
				return "", false
			}); err != nil {
				return nil, err
			}
		}
	}
	if c.cmd == "" {
		if c.numeric || c.list != (listOptions{}) {
			c.cmd = "L"
		} else {
			// Options without a command: ipvsadm points to its help.
			return nil, errUnknownOption
		}
	}
	if fwmarkV6 {
		if c.svc.FWMark == 0 {
			return nil, fmt.Errorf("-6 used before -f")
		}
		c.svc.Family = ipvs.IPv6
	}
	if schedFlags != "" {
		f, err := parseSchedFlags(c.svc.Scheduler, schedFlags)
		if err != nil {
			return nil, err
		}
		c.svc.Flags |= f
	}
	if c.svc.Flags&ipvs.FlagPersistent != 0 && !timeoutSet {
		c.svc.Timeout = 300 * time.Second
	}
	if c.svc.Scheduler == "" {
		c.svc.Scheduler = "wlc"
	}
	if c.haveDst {
		if !c.dstPort || (c.svc.FWMark == 0 && (c.dst.Forward == ipvs.Route || c.dst.Forward == ipvs.Tunnel)) {
			port := c.svc.Addr.Port()
			if c.svc.FWMark != 0 && !c.dstPort {
				port = 0
			}
			c.dst.Addr = netip.AddrPortFrom(c.dst.Addr.Addr(), port)
		}
		if c.tunOpt && c.dst.Forward != ipvs.Tunnel {
			return nil, usagef("Tunnel options conflict with forward method")
		}
		if err := checkTunnelOptions(c.dst.TunnelType, c.tunOpts); err != nil {
			return nil, err
		}
	}
	if c.cmd == "set" {
		if len(setArgs) != 3 {
			return nil, usagef("--set option requires 3 timeout values")
		}
		var v [3]time.Duration
		for k, s := range setArgs {
			n, err := strconv.ParseUint(s, 10, 31)
			if err != nil {
				return nil, fmt.Errorf("invalid timeout value `%s' specified", s)
			}
			v[k] = time.Duration(n) * time.Second
		}
		c.timeouts = ipvs.Timeouts{TCP: v[0], TCPFin: v[1], UDP: v[2]}
	}
	return c, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (c *command) apply(o, arg string, fwmarkV6, timeoutSet *bool, schedFlags *string, set func(string) error, optional func() (string, bool)) error {
	u32 := func(what string) (uint32, error) {
		n, err := strconv.ParseUint(arg, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("illegal %s specified", what)
		}
		return uint32(n), nil
	}
	if name, ok := flagName[o]; ok {
		c.give(name)
	}
	if name, ok := optName[o]; ok {
		c.give(name)
		if c.seen[name] {
			return usagef("multiple '%s' options specified", name)
		}
		if c.seen == nil {
			c.seen = map[string]bool{}
		}
		c.seen[name] = true
	}
	var err error
	switch o {
	case "add-service":
		err = set("A")
	case "edit-service":
		err = set("E")
	case "delete-service":
		err = set("D")
	case "clear":
		err = set("C")
	case "restore":
		err = set("R")
	case "save":
		err = set("S")
	case "add-server":
		err = set("a")
	case "edit-server":
		err = set("e")
	case "delete-server":
		err = set("d")
	case "list":
		err = set("L")
	case "zero":
		err = set("Z")
	case "help":
		err = set("h")
	case "version":
		err = set("v")
	case "set":
		err = set("set")
	case "start-daemon", "stop-daemon":
		if err = set(o); err == nil {
			switch arg {
			case "master":
				c.d.State = ipvs.Master
			case "backup":
				c.d.State = ipvs.Backup
			default:
				return fmt.Errorf("illegal start-daemon parameter specified")
			}
		}
	case "tcp-service", "udp-service", "sctp-service":
		c.haveSvc = true
		c.svc.Protocol = map[string]ipvs.Protocol{"tcp-service": ipvs.TCP, "udp-service": ipvs.UDP, "sctp-service": ipvs.SCTP}[o]
		if c.svc.Addr, _, err = parseAddrPort(arg); err != nil {
			err = errors.New("illegal virtual server address[:port] specified")
		}
	case "fwmark-service":
		c.haveSvc = true
		var n uint32
		n, err = u32("fwmark")
		if err == nil && n == 0 {
			err = fmt.Errorf("invalid fwmark value `%s' specified", arg)
		}
		c.svc.FWMark = n
	case "ipv6":
		*fwmarkV6 = true
	case "scheduler":
		c.svc.Scheduler = arg
	case "pe":
		c.svc.PersistenceEngine = arg
	case "persistent":
		c.svc.Flags |= ipvs.FlagPersistent
		if v, ok := optional(); ok {
			n, perr := strconv.ParseUint(v, 10, 32)
			if perr != nil || n < 1 || n > 86400*31 {
				return fmt.Errorf("invalid timeout value `%s' specified", v)
			}
			c.svc.Timeout = time.Duration(n) * time.Second
			*timeoutSet = true
		}
	case "netmask":
		c.svc.Netmask, err = parseNetmask(arg)
	case "ops":
		c.svc.Flags |= ipvs.FlagOnePacket
	case "sched-flags":
		*schedFlags = arg
	case "real-server":
		c.haveDst = true
		if c.dst.Addr, c.dstPort, err = parseAddrPort(arg); err != nil {
			err = errors.New("illegal real server address[:port] specified")
		}
	case "gatewaying":
		c.dst.Forward = ipvs.Route
	case "ipip":
		c.dst.Forward = ipvs.Tunnel
	case "masquerading":
		c.dst.Forward = ipvs.Masquerade
	case "weight":
		var n int
		n, err = strconv.Atoi(arg)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("illegal weight specified")
		}
		c.dst.Weight = n
	case "u-threshold":
		c.dst.UpperThreshold, err = u32("u_threshold")
	case "l-threshold":
		c.dst.LowerThreshold, err = u32("l_threshold")
	case "tun-type":
		c.tunOpt = true
		switch arg {
		case "ipip":
			c.dst.TunnelType = ipvs.TunnelIPIP
		case "gue":
			c.dst.TunnelType = ipvs.TunnelGUE
		case "gre":
			c.dst.TunnelType = ipvs.TunnelGRE
		default:
			return fmt.Errorf("illegal tunnel type specified")
		}
	case "tun-port":
		c.tunOpt = true
		c.tunOpts = append(c.tunOpts, "tun-port")
		var n uint64
		n, err = strconv.ParseUint(arg, 10, 16)
		c.dst.TunnelPort = uint16(n)
	case "tun-nocsum":
		c.tunOpt = true
		c.tunOpts = append(c.tunOpts, "tun-nocsum")
		c.dst.TunnelFlags = ipvs.TunnelNoChecksum
	case "tun-csum":
		c.tunOpt = true
		c.tunOpts = append(c.tunOpts, "tun-csum")
		c.dst.TunnelFlags = ipvs.TunnelChecksum
	case "tun-remcsum":
		c.tunOpt = true
		c.tunOpts = append(c.tunOpts, "tun-remcsum")
		c.dst.TunnelFlags = ipvs.TunnelRemoteChecksum
	case "numeric":
		c.numeric = true
	case "connection":
		c.conn = true
	case "timeout":
		c.timeout = true
	case "daemon":
		c.daemon = true
	case "stats":
		c.list.stats = true
	case "rate":
		c.list.rate = true
	case "thresholds":
		c.list.thresholds = true
	case "persistent-conn":
		c.list.persistentConn = true
	case "tun-info":
		c.list.tunnelInfo = true
	case "exact":
		c.list.exact = true
	case "nosort":
		c.list.noSort = true
	case "sort":
	case "mcast-interface":
		c.d.Interface = arg
	case "syncid":
		c.d.SyncID, err = u32("syncid")
	case "sync-maxlen":
		var n uint64
		n, err = strconv.ParseUint(arg, 10, 16)
		c.d.MaxLen = uint16(n)
	case "mcast-group":
		c.d.Group, err = netip.ParseAddr(arg)
	case "mcast-port":
		var n uint64
		n, err = strconv.ParseUint(arg, 10, 16)
		c.d.Port = uint16(n)
	case "mcast-ttl":
		var n uint64
		n, err = strconv.ParseUint(arg, 10, 8)
		c.d.TTL = uint8(n)
	default:
		return &unknownOptionError{"--" + o}
	}
	if err != nil {
		// ipvsadm's own words where it has them, else its pattern.
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		for _, w := range []string{"illegal ", "invalid ", "incompatible ", "multiple "} {
			if strings.HasPrefix(err.Error(), w) {
				return err
			}
		}
		return fmt.Errorf("illegal %s specified", o)
	}
	return nil
}

// parseAddrPort reads "1.2.3.4", "1.2.3.4:80", "[2001:db8::1]" or
// "[2001:db8::1]:80"; it reports whether a port was given.
func parseAddrPort(s string) (netip.AddrPort, bool, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, true, nil
	}
	// ipvsadm takes a bare IPv6 address, but brackets only with a port.
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 0), false, nil
	}
	return netip.AddrPort{}, false, fmt.Errorf("illegal address `%s' (numeric addresses only)", s)
}

// parseNetmask reads a dotted IPv4 mask or an IPv6 prefix length.
func parseNetmask(s string) (uint32, error) {
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		b := a.As4()
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || n < 1 || n > 128 {
		return 0, fmt.Errorf("illegal netmask")
	}
	return uint32(n), nil
}

// parseSchedFlags reads -b's comma-separated list.
func parseSchedFlags(sched, s string) (ipvs.ServiceFlags, error) {
	var f ipvs.ServiceFlags
	for _, name := range strings.Split(s, ",") {
		switch name {
		case "flag-1":
			f |= ipvs.SchedFlag1
		case "flag-2":
			f |= ipvs.SchedFlag2
		case "flag-3":
			f |= ipvs.SchedFlag3
		case "sh-fallback", "sh-port", "mh-fallback", "mh-port":
			if !strings.HasPrefix(name, sched+"-") {
				return 0, fmt.Errorf("incompatible scheduler flag `%s'", name)
			}
			if strings.HasSuffix(name, "fallback") {
				f |= ipvs.SchedFlag1
			} else {
				f |= ipvs.SchedFlag2
			}
		default:
			return 0, fmt.Errorf("invalid scheduler flag `%s'", name)
		}
	}
	return f, nil
}

// checkTunnelOptions applies ipvsadm's table of options per tunnel type:
// ipip takes none, gue needs a port and at most one checksum option, gre
// takes no port and no remote checksum.
func checkTunnelOptions(t ipvs.TunnelType, opts []string) error {
	name := t.String()
	csum := ""
	port := false
	for _, o := range opts {
		illegal := false
		switch t {
		case ipvs.TunnelIPIP:
			illegal = true
		case ipvs.TunnelGRE:
			illegal = o == "tun-port" || o == "tun-remcsum"
		}
		if illegal {
			return usagef("Illegal '%s' option with the '%s' tunnel type", o, name)
		}
		if o == "tun-port" {
			port = true
			continue
		}
		if csum != "" {
			return usagef("The option '%s' conflicts with the '%s' option in the '%s' tunnel type", o, csum, name)
		}
		csum = o
	}
	if t == ipvs.TunnelGUE && !port {
		return usagef("You need to supply the 'tun-port' option for the 'gue' tunnel type")
	}
	return nil
}
