package keepalivedconf

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ServiceFlags are the IPVS service flags a virtual_server sets (ops,
// flag-1..3, sh-port, sh-fallback, mh-port, mh-fallback), with the
// kernel's IP_VS_SVC_F_* values.
type ServiceFlags uint32

// Service flags, as the kernel numbers them. sh and mh give SchedFlag1 the
// meaning "fallback" and SchedFlag2 "port".
const (
	FlagOnePacket ServiceFlags = 0x0004 // ops
	SchedFlag1    ServiceFlags = 0x0008 // flag-1, sh-fallback, mh-fallback
	SchedFlag2    ServiceFlags = 0x0010 // flag-2, sh-port, mh-port
	SchedFlag3    ServiceFlags = 0x0020 // flag-3
)

// VSOptions are the virtual_server settings beyond the common ones: IPVS
// flags and persistence engine, and the defaults a virtual server gives
// its real servers and their checkers.
type VSOptions struct {
	Flags             ServiceFlags `json:",omitempty"`
	PersistenceEngine string       `json:",omitempty"`
	// SorryInhibit is sorry_server_inhibit: the sorry server stays in
	// the service with weight 0 instead of leaving it.
	SorryInhibit bool `json:",omitempty"`
	// SorryForward is sorry_server_lvs_method (0: the service's).
	SorryForward LBKind `json:",omitempty"`
}

// RSOptions are the real_server settings beyond the common ones.
type RSOptions struct {
	// Forward is the real server's lvs_method (0: the service's).
	Forward LBKind `json:",omitempty"`
	// UThreshold and LThreshold are uthreshold and lthreshold: the
	// connection count above which IPVS stops sending the server new
	// connections, and below which it resumes (0: none).
	UThreshold uint32 `json:",omitempty"`
	LThreshold uint32 `json:",omitempty"`
}

// FlushOnStop is lvs_flush_onstop.
type FlushOnStop uint8

// lvs_flush_onstop values.
const (
	// FlushNone removes only the services keepalived configured.
	FlushNone FlushOnStop = iota
	// FlushFull flushes the whole IPVS table (lvs_flush_onstop).
	FlushFull
	// FlushVS deletes each virtual server whole (lvs_flush_onstop VS).
	FlushVS
)

// SyncDaemon is global_defs lvs_sync_daemon.
type SyncDaemon struct {
	Interface string
	// Instance is the vrrp_instance whose state the daemon follows
	// (master daemon while MASTER, backup otherwise); empty runs both.
	Instance string `json:",omitempty"`
	// SyncID is id; -1 when unset (the instance's VRID, or 0).
	SyncID int
	MaxLen uint16     `json:",omitempty"`
	Port   uint16     `json:",omitempty"`
	TTL    uint8      `json:",omitempty"`
	Group  netip.Addr `json:",omitzero"`
	Stmt   *Stmt      `json:"-"`
}

// LVSGlobals are the global_defs settings of the IPVS side.
type LVSGlobals struct {
	SyncDaemon *SyncDaemon `json:",omitempty"`
	// Timeouts are lvs_timeouts (zero: unchanged).
	TimeoutTCP, TimeoutTCPFin, TimeoutUDP time.Duration `json:",omitempty"`
	// Flush is lvs_flush: flush IPVS at start.
	Flush       bool        `json:",omitempty"`
	FlushOnStop FlushOnStop `json:",omitempty"`
}

// URLRegex is a url block's regex with its settings.
type URLRegex struct {
	Pattern string
	NoMatch bool     `json:",omitempty"`
	Options []string `json:",omitempty"`
	// MinOffset and MaxOffset bound where a match may start; MaxOffset
	// -1 means no bound.
	MinOffset int `json:",omitempty"`
	MaxOffset int
	// Stack is regex_stack (PCRE's JIT stack sizes; no effect on what
	// matches).
	Stack [2]int `json:",omitzero"`
	Stmt  *Stmt  `json:"-"`
}

// SMTPHost is a host block of SMTP_CHECK: one more address checked as a
// checker of its own.
type SMTPHost struct {
	ConnectIP      netip.Addr    `json:",omitzero"`
	ConnectPort    uint16        `json:",omitempty"`
	BindTo         netip.Addr    `json:",omitzero"`
	BindPort       uint16        `json:",omitempty"`
	ConnectTimeout time.Duration `json:",omitempty"`
	Stmt           *Stmt         `json:"-"`
}

// lvsGlobal reads the LVS keywords of global_defs; it reports whether kw
// was one.
func (dec *decoder) lvsGlobal(g *GlobalDefs, s *Stmt) bool {
	switch s.Keyword() {
	case "lvs_timeouts":
		dec.lvsTimeouts(&g.LVS, s)
	case "lvs_sync_daemon":
		dec.syncDaemon(&g.LVS, s)
	case "lvs_flush":
		g.LVS.Flush = true
	case "lvs_flush_onstop", "lvs_flush_on_stop":
		switch {
		case len(s.Tokens) == 1:
			g.LVS.FlushOnStop = FlushFull
		case s.Arg(1) == "VS":
			g.LVS.FlushOnStop = FlushVS
		default:
			dec.d.add(s.ArgPos(1), sevWarning, ErrInvalid, "Unknown lvs_flush_on_stop type %s", s.Arg(1))
		}
	default:
		return false
	}
	return true
}

// lvsMaxTimeout is keepalived's LVS_MAX_TIMEOUT (a day in seconds, as the
// kernel caps it).
const lvsMaxTimeout = 86400 * 31

func (dec *decoder) lvsTimeouts(l *LVSGlobals, s *Stmt) {
	if len(s.Tokens) < 3 {
		dec.d.add(s.Pos, sevWarning, ErrInvalid, "lvs_timeouts requires at least one option")
		return
	}
	for i := 1; i < len(s.Tokens); i++ {
		var dst *time.Duration
		switch w := s.Arg(i); w {
		case "tcp":
			dst = &l.TimeoutTCP
		case "tcpfin":
			dst = &l.TimeoutTCPFin
		case "udp":
			dst = &l.TimeoutUDP
		default:
			dec.d.add(s.ArgPos(i), sevWarning, ErrInvalid, "Unknown option %s specified for lvs_timeouts", w)
			continue
		}
		if i == len(s.Tokens)-1 {
			dec.d.add(s.ArgPos(i), sevWarning, ErrInvalid, "No value specified for lvs_timeout %s - ignoring", s.Arg(i))
			continue
		}
		v, err := strconv.ParseUint(s.Arg(i+1), 10, 32)
		if err != nil || v > lvsMaxTimeout {
			dec.d.add(s.ArgPos(i+1), sevWarning, ErrInvalid, "Invalid lvs_timeout %s (%s) - ignoring", s.Arg(i), s.Arg(i+1))
		} else {
			*dst = time.Duration(v) * time.Second
		}
		i++
	}
}

func (dec *decoder) syncDaemon(l *LVSGlobals, s *Stmt) {
	if l.SyncDaemon != nil {
		dec.d.add(s.Pos, sevWarning, ErrInvalid, "lvs_sync_daemon has already been specified as %s %s - ignoring", l.SyncDaemon.Interface, l.SyncDaemon.Instance)
		return
	}
	if len(s.Tokens) < 2 {
		dec.d.add(s.Pos, sevWarning, ErrInvalid, "lvs_sync_daemon requires interface")
		return
	}
	if len(s.Arg(1)) >= 16 {
		dec.d.add(s.ArgPos(1), sevWarning, ErrInvalid, "lvs_sync_daemon interface name '%s' too long - ignoring", s.Arg(1))
		return
	}
	d := &SyncDaemon{Interface: s.Arg(1), SyncID: -1, Stmt: s}
	l.SyncDaemon = d
	num := func(i int, name string, lo, hi uint64) (uint64, bool) {
		if i+1 >= len(s.Tokens) {
			dec.d.add(s.ArgPos(i), sevWarning, ErrInvalid, "No value specified for lvs_sync_daemon %s - ignoring", name)
			return 0, false
		}
		v, err := strconv.ParseUint(s.Arg(i+1), 10, 32)
		if err != nil || v < lo || v > hi {
			dec.d.add(s.ArgPos(i+1), sevWarning, ErrInvalid, "Invalid lvs_sync_daemon %s (%s) - ignoring", name, s.Arg(i+1))
			return 0, false
		}
		return v, true
	}
	for i := 2; i < len(s.Tokens); i++ {
		switch w := s.Arg(i); {
		case w == "inst":
			if i+1 < len(s.Tokens) {
				if d.Instance != "" {
					dec.d.add(s.ArgPos(i), sevWarning, ErrInvalid, "lvs_sync_daemon vrrp instance has already been specified as %s - ignoring", d.Instance)
				} else {
					d.Instance = s.Arg(i + 1)
				}
			}
			i++
		case w == "id":
			if v, ok := num(i, "id", 0, 255); ok {
				d.SyncID = int(v)
			}
			i++
		case w == "maxlen":
			if v, ok := num(i, "maxlen", 1, 65535-20-8); ok {
				d.MaxLen = uint16(v)
			}
			i++
		case w == "port":
			if v, ok := num(i, "port", 1, 65535); ok {
				d.Port = uint16(v)
			}
			i++
		case w == "ttl":
			if v, ok := num(i, "ttl", 1, 255); ok {
				d.TTL = uint8(v)
			}
			i++
		case w == "group":
			if i+1 >= len(s.Tokens) {
				dec.d.add(s.ArgPos(i), sevWarning, ErrInvalid, "No value specified for lvs_sync_daemon group - ignoring")
			} else if a, err := netip.ParseAddr(s.Arg(i + 1)); err != nil {
				dec.d.add(s.ArgPos(i+1), sevWarning, ErrInvalid, "Invalid lvs_sync_daemon group (%s) - ignoring", s.Arg(i+1))
			} else if !a.IsMulticast() {
				dec.d.add(s.ArgPos(i+1), sevWarning, ErrInvalid, "lvs_sync_daemon group address %s is not multicast - ignoring", s.Arg(i+1))
			} else {
				d.Group = a
			}
			i++
		case i == 2:
			// lvs_sync_daemon IF INSTANCE [SYNCID], the old form.
			d.Instance = w
		case i == 3:
			if v, err := strconv.ParseUint(w, 10, 8); err != nil {
				dec.d.add(s.ArgPos(i), sevWarning, ErrInvalid, "Invalid syncid (%s) - defaulting to vrid", w)
			} else {
				dec.d.add(s.ArgPos(i), sevWarning, ErrInvalid, "Please use keyword \"id\" before lvs_sync_daemon SYNCID")
				d.SyncID = int(v)
			}
		default:
			dec.d.add(s.ArgPos(i), sevWarning, ErrInvalid, "Unknown option %s specified for lvs_sync_daemon", w)
		}
	}
}

// vsOption reads the virtual_server keywords of this file; it reports
// whether s was one.
func (dec *decoder) vsOption(vs *VirtualServer, s *Stmt) bool {
	o := &vs.LVS
	switch kw := s.Keyword(); kw {
	case "ops":
		o.Flags |= FlagOnePacket
	case "flag-1":
		o.Flags |= SchedFlag1
	case "flag-2":
		o.Flags |= SchedFlag2
	case "flag-3":
		o.Flags |= SchedFlag3
	case "sh-port", "sh-fallback", "mh-port", "mh-fallback":
		// keepalived reads these after lb_algo only, for its scheduler.
		want := kw[:2]
		switch {
		case vs.LBAlgo != "sh" && vs.LBAlgo != "mh":
			dec.d.add(s.Pos, sevWarning, ErrInvalid, "%s only applies to sh scheduler - ignoring", kw)
		case vs.LBAlgo != want:
			// keepalived ignores it without a word; lvsrouter says so.
			dec.d.add(s.Pos, sevWarning, ErrInvalid, "%s does not apply to scheduler %s - ignoring", kw, vs.LBAlgo)
		default:
			if strings.HasSuffix(kw, "-port") {
				o.Flags |= SchedFlag2
			} else {
				o.Flags |= SchedFlag1
			}
		}
	case "persistence_engine":
		if dec.nargs(s, 2) {
			w := s.Arg(1)
			if len(w) > 15 {
				dec.d.add(s.ArgPos(1), sevWarning, ErrInvalid, "persistence_name too long, truncating - %s", w)
				w = w[:15]
			}
			o.PersistenceEngine = w
		}
	case "sorry_server_inhibit":
		if !vs.SorryServer.IsValid() {
			dec.d.add(s.Pos, sevWarning, ErrInvalid, "Ignoring sorry_server inhibit used before or without sorry_server")
		} else {
			o.SorryInhibit = true
		}
	case "sorry_server_lvs_method":
		if !vs.SorryServer.IsValid() {
			dec.d.add(s.Pos, sevWarning, ErrInvalid, "sorry_server forwarding used without sorry_server")
		} else if dec.nargs(s, 2) {
			if k, ok := parseLBKind(s.Arg(1)); ok {
				o.SorryForward = k
			} else {
				dec.d.add(s.ArgPos(1), sevWarning, ErrInvalid, "PARSER : unknown [%s] routing method for sorry server.", s.Arg(1))
			}
		}
	default:
		return false
	}
	return true
}

// rsOption reads the real_server keywords of this file; it reports whether
// s was one.
func (dec *decoder) rsOption(rs *RealServer, s *Stmt) bool {
	o := &rs.LVS
	switch s.Keyword() {
	case "lvs_method":
		if dec.nargs(s, 2) {
			if k, ok := parseLBKind(s.Arg(1)); ok {
				o.Forward = k
			} else {
				dec.d.add(s.ArgPos(1), sevWarning, ErrInvalid, "PARSER : unknown [%s] routing method for real server.", s.Arg(1))
			}
		}
	case "uthreshold", "lthreshold":
		if !dec.nargs(s, 2) {
			return true
		}
		v, err := strconv.ParseUint(s.Arg(1), 10, 32)
		if err != nil {
			dec.d.add(s.ArgPos(1), sevWarning, ErrInvalid, "Invalid real_server %s '%s' - ignoring", s.Keyword(), s.Arg(1))
		} else if s.Keyword() == "uthreshold" {
			o.UThreshold = uint32(v)
		} else {
			o.LThreshold = uint32(v)
		}
	default:
		return false
	}
	return true
}

// urlRegex reads the regex keywords of a url block; it reports whether s
// was one.
func (dec *decoder) urlRegex(u *URL, s *Stmt) bool {
	kw := s.Keyword()
	if !strings.HasPrefix(kw, "regex") {
		return false
	}
	if u.Regex == nil {
		u.Regex = &URLRegex{MaxOffset: -1, Stmt: s}
	}
	r := u.Regex
	offset := func() (int, bool) {
		if len(s.Tokens) != 2 {
			dec.d.add(s.Pos, sevWarning, ErrInvalid, "Missing or too may options for %s", kw)
			return 0, false
		}
		v, err := strconv.ParseUint(s.Arg(1), 10, 31)
		if err != nil {
			dec.d.add(s.ArgPos(1), sevWarning, ErrInvalid, "Invalid %s %s specified", kw, s.Arg(1))
			return 0, false
		}
		return int(v), true
	}
	switch kw {
	case "regex":
		if len(s.Tokens) != 2 {
			dec.d.add(s.Pos, sevWarning, ErrInvalid, "regex missing or too many fields")
			return true
		}
		r.Pattern = strings.Clone(s.Tokens[1].Value()) // see decoder.str
		r.Stmt = s
	case "regex_no_match":
		r.NoMatch = true
	case "regex_options":
		r.Options = append(r.Options, s.Args()...)
	case "regex_min_offset":
		if v, ok := offset(); ok {
			r.MinOffset = v
		}
	case "regex_max_offset":
		if v, ok := offset(); ok {
			r.MaxOffset = v
		}
	case "regex_stack":
		if len(s.Tokens) != 3 {
			dec.d.add(s.Pos, sevWarning, ErrInvalid, "regex_stack requires start and max values")
			return true
		}
		a, err1 := strconv.ParseUint(s.Arg(1), 10, 31)
		b, err2 := strconv.ParseUint(s.Arg(2), 10, 31)
		if err1 != nil || err2 != nil || a > b {
			dec.d.add(s.Pos, sevWarning, ErrInvalid, "regex_stack invalid start or max value")
			return true
		}
		r.Stack = [2]int{int(a), int(b)}
	default:
		return false
	}
	return true
}

// finishURLRegex drops regex settings written without a regex, and
// offsets that leave no room, as keepalived does when it closes a url
// block.
func (dec *decoder) finishURLRegex(u *URL) {
	r := u.Regex
	if r == nil {
		return
	}
	if r.Pattern == "" {
		dec.d.add(r.Stmt.Pos, sevWarning, ErrInvalid, "regex parameters specified without regex")
		u.Regex = nil
		return
	}
	if r.MaxOffset >= 0 && r.MinOffset > r.MaxOffset {
		dec.d.add(r.Stmt.Pos, sevWarning, ErrInvalid, "regex min offset %d > regex_max_offset %d - ignoring", r.MinOffset, r.MaxOffset)
		r.MinOffset, r.MaxOffset = 0, -1
	}
}

// smtpHost reads a host block of SMTP_CHECK: the connection settings of
// a checker (the others keepalived knows there are lvsrouter's to refuse,
// keywords.go).
func (dec *decoder) smtpHost(m *SMTPCheck, s *Stmt) {
	var cc CheckCommon
	dec.check(&cc, s, tcpCheckKeywords, nil)
	m.Hosts = append(m.Hosts, SMTPHost{
		ConnectIP: cc.ConnectIP, ConnectPort: cc.ConnectPort, BindTo: cc.BindTo, BindPort: cc.BindPort,
		ConnectTimeout: cc.ConnectTimeout, Stmt: s,
	})
}

// lvsChecks makes keepalived's end-of-block checks of this file's
// keywords for a virtual server.
func (dec *decoder) lvsChecks(vs *VirtualServer) {
	o := &vs.LVS
	if o.Flags&FlagOnePacket != 0 && vs.FWMark == 0 && vs.Protocol != UDP && vs.Protocol != 0 {
		dec.d.add(vs.Stmt.Pos, sevWarning, ErrInvalid, "Virtual server %s: one packet scheduling requires UDP - resetting", vs.Addr)
		o.Flags &^= FlagOnePacket
	}
	for _, rs := range vs.RealServers {
		for _, c := range rs.Checkers {
			if h, ok := c.(*HTTPCheck); ok {
				for i := range h.URLs {
					dec.finishURLRegex(&h.URLs[i])
				}
			}
		}
	}
}
