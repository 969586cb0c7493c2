package keepalivedconf

import (
	"math"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config returns the typed view of the file, with the diagnostics keepalived
// would give while reading it (range checks, unknown keywords, missing
// braces), as an ErrorList; the Config is returned even when there are
// errors. Statements with an @id conditional are read as keepalived does
// without a config id (-i): "@id" lines are skipped and "@^id" lines kept.
// Definitions, ~SEQ lines and includes are not applied: use Expand or
// ParseFile for that.
func (f *File) Config() (*Config, error) {
	return f.config(0)
}

// config decodes with procs goroutines for the virtual servers (0: as
// many as pay off).
func (f *File) config(procs int) (*Config, error) {
	dec := &decoder{cfg: &Config{file: f}, procs: procs}
	dec.d.list = append(dec.d.list, f.syntax...)
	dec.top(f.Stmts)
	dec.validate()
	dec.d.list.Sort()
	return dec.cfg, dec.d.list.Err()
}

type decoder struct {
	d   diags
	cfg *Config

	// procs, when set, is the number of goroutines to decode virtual
	// servers with, however few there are (for tests).
	procs int
	// deferred holds the virtual servers whose bodies are decoded after
	// the top-level pass, in parallel (see decodeDeferred).
	deferred []vsJob

	// arenas for the elements a large file has by the thousand
	vss      arena[VirtualServer]
	rss      arena[RealServer]
	tcp      arena[TCPCheck]
	rsLists  arena[*RealServer]
	checkers arena[Checker]
}

// arena hands out elements of chunks it allocates, so that decoding
// thousands of virtual servers makes a few dozen allocations rather than
// several per server. A chunk stays alive while any element is in use.
type arena[T any] struct {
	buf   []T
	total int // capacity allocated so far
}

// reserve makes room for n more elements in one chunk.
func (a *arena[T]) reserve(n int) {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]T, 0, n)
		a.total += n
	}
}

// new returns a pointer to a zero element.
func (a *arena[T]) new() *T {
	if len(a.buf) == cap(a.buf) {
		a.reserve(max(16, a.total/2))
	}
	a.buf = a.buf[:len(a.buf)+1]
	return &a.buf[len(a.buf)-1]
}

// slice returns an empty slice with capacity n; appending beyond n
// reallocates as usual.
func (a *arena[T]) slice(n int) []T {
	if cap(a.buf)-len(a.buf) < n {
		a.reserve(max(n, 16, a.total/2))
	}
	at := len(a.buf)
	a.buf = a.buf[:at+n]
	return a.buf[at : at : at+n]
}

// active reports whether keepalived reads s (and s is a keyword line).
func active(s *Stmt) bool {
	if s.Kind != KindStmt || len(s.Tokens) == 0 {
		return false
	}
	if s.Cond != "" && !strings.HasPrefix(s.Cond, "@^") {
		return false
	}
	return true
}

// blockKeywords are the top-level keywords that own a { } block.
var blockKeywords = map[string]bool{
	"global_defs": true, "vrrp_script": true, "vrrp_track_file": true, "vrrp_sync_group": true,
	"vrrp_instance": true, "virtual_server": true, "virtual_server_group": true,
	"static_ipaddress": true, "static_routes": true, "static_rules": true, "linkbeat_interfaces": true,
	"vrrp_track_process": true, "bfd_instance": true, "track_file": true, "garp_group": true,
}

// body returns the statements of s's block. keepalived reads a block
// keyword written without '{' as if the block had started: rest are the
// following statements at the same level, and body consumes them up to a
// stray '}'. It returns how many of rest it consumed.
func (dec *decoder) body(s *Stmt, rest []*Stmt) ([]*Stmt, int) {
	if s.Block != nil {
		return s.Block.Stmts, 0
	}
	dec.d.errorf(s.Pos, ErrSyntax, "missing '{' at beginning of %s block", s.Keyword())
	for i, r := range rest {
		if r.Kind == KindStmt && r.Keyword() == "}" {
			return rest[:i], i + 1
		}
	}
	return rest, len(rest)
}

// presize counts the virtual servers of list, to size the Config's slice
// and the arenas once; real servers are reckoned at two per virtual server
// (the arenas grow if there are more).
func (dec *decoder) presize(list []*Stmt) {
	nvs := 0
	for _, s := range list {
		if s.Keyword() == "virtual_server" {
			nvs++
		}
	}
	if nvs == 0 {
		return
	}
	dec.cfg.VirtualServers = make([]*VirtualServer, 0, nvs)
	dec.vss.reserve(nvs)
	if parts := dec.vsParts(nvs); parts > 1 {
		dec.deferred = make([]vsJob, 0, nvs)
		nvs = (nvs + parts - 1) / parts
	}
	dec.reserveBodies(nvs)
}

// reserveBodies sizes the arenas for the bodies of n virtual servers.
func (dec *decoder) reserveBodies(n int) {
	dec.rss.reserve(2 * n)
	dec.rsLists.reserve(2 * n)
	dec.checkers.reserve(2 * n)
	dec.tcp.reserve(2 * n)
}

// parallelVSMin is the number of virtual servers from which their bodies
// are decoded in parallel.
const parallelVSMin = 2048

// vsParts returns how many goroutines decode n virtual servers' bodies.
func (dec *decoder) vsParts(n int) int {
	procs, least := runtime.GOMAXPROCS(0), parallelVSMin
	if dec.procs > 0 {
		procs, least = dec.procs, 2
	}
	if n < least {
		return 1
	}
	return max(1, min(procs, 8, n/(least/2)))
}

// vsJob is a virtual server whose head is decoded and whose body is not.
type vsJob struct {
	vs   *VirtualServer
	body []*Stmt
}

// decodeDeferred decodes the deferred virtual-server bodies: the first
// share on dec, the others on decoders of their own (each with its own
// arenas and diagnostics, merged afterwards; Config sorts diagnostics by
// position). A body reads nothing but its own statements, so the result
// is the one a single pass gives.
func (dec *decoder) decodeDeferred() {
	jobs := dec.deferred
	dec.deferred = nil
	parts := dec.vsParts(len(jobs))
	size := (len(jobs) + parts - 1) / parts
	subs := make([]*decoder, 0, parts)
	var wg sync.WaitGroup
	for at := size; at < len(jobs); at += size {
		sub := &decoder{cfg: dec.cfg}
		subs = append(subs, sub)
		part := jobs[at:min(at+size, len(jobs))]
		wg.Go(func() {
			sub.reserveBodies(len(part))
			for _, j := range part {
				sub.virtualServer(j.vs, j.body)
			}
		})
	}
	for _, j := range jobs[:min(size, len(jobs))] {
		dec.virtualServer(j.vs, j.body)
	}
	wg.Wait()
	for _, sub := range subs {
		dec.d.list = append(dec.d.list, sub.d.list...)
	}
}

func (dec *decoder) top(list []*Stmt) {
	cfg := dec.cfg
	dec.presize(list)
	for i := 0; i < len(list); i++ {
		s := list[i]
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		var body []*Stmt
		if blockKeywords[kw] {
			var n int
			body, n = dec.body(s, list[i+1:])
			i += n
		}
		switch kw {
		case "global_defs":
			g := cfg.GlobalDefs
			if g == nil {
				g = &GlobalDefs{Stmt: s}
				cfg.GlobalDefs = g
			}
			dec.globalDefs(g, body)
		case "vrrp_script":
			if dec.nargs(s, 2) {
				sc := &VRRPScript{Name: s.Arg(1), Stmt: s, Rise: 1, Fall: 1}
				dec.vrrpScript(sc, body)
				cfg.Scripts = append(cfg.Scripts, sc)
			}
		case "vrrp_track_file", "track_file":
			if dec.nargs(s, 2) {
				tf := &TrackFile{Name: s.Arg(1), Stmt: s}
				dec.trackFile(tf, body)
				cfg.TrackFiles = append(cfg.TrackFiles, tf)
			}
		case "vrrp_sync_group":
			if dec.nargs(s, 2) {
				g := &SyncGroup{Name: s.Arg(1), Stmt: s}
				dec.syncGroup(g, body)
				cfg.SyncGroups = append(cfg.SyncGroups, g)
			}
		case "vrrp_instance":
			if dec.nargs(s, 2) {
				in := &VRRPInstance{Name: s.Arg(1), Stmt: s, Priority: 100, AdvertInt: time.Second}
				dec.instance(in, body)
				cfg.Instances = append(cfg.Instances, in)
			}
		case "virtual_server_group":
			if dec.nargs(s, 2) {
				g := &VirtualServerGroup{Name: s.Arg(1), Stmt: s}
				dec.vsGroup(g, body)
				cfg.VirtualServerGroups = append(cfg.VirtualServerGroups, g)
			}
		case "virtual_server":
			if vs := dec.virtualServerHead(s); vs != nil {
				if dec.deferred != nil {
					dec.deferred = append(dec.deferred, vsJob{vs, body})
				} else {
					dec.virtualServer(vs, body)
				}
				cfg.VirtualServers = append(cfg.VirtualServers, vs)
			}
		case "static_rules":
			for _, v := range dec.values(s, body) {
				dec.rule(v)
			}
		default:
			if !topKeywords[kw] && !isIncludeLine(s.Text()) {
				dec.unknown(s)
				cfg.Unknown = append(cfg.Unknown, s)
			}
		}
	}
	if dec.deferred != nil {
		dec.decodeDeferred()
	}
}

func (dec *decoder) unknown(s *Stmt) {
	dec.d.add(s.Pos, SeverityWarning, ErrUnknownKeyword, "unknown keyword '%s'", s.Keyword())
}

// nargs reports whether s has at least n words, and reports a missing
// parameter when not.
func (dec *decoder) nargs(s *Stmt, n int) bool {
	if len(s.Tokens) >= n {
		return true
	}
	dec.d.errorf(s.Pos, ErrInvalid, "'%s' is missing a parameter at word position %d", s.Keyword(), len(s.Tokens)+1)
	return false
}

// integer reads word i as a decimal integer in [lo, hi].
func (dec *decoder) integer(s *Stmt, i int, lo, hi int64) (int64, bool) {
	if !dec.nargs(s, i+1) {
		return 0, false
	}
	w := s.Arg(i)
	for w != "" && (w[0] == ' ' || w[0] == '\t') {
		w = w[1:]
	}
	v, err := strconv.ParseInt(w, 10, 64)
	if err != nil {
		dec.d.errorf(s.ArgPos(i), ErrInvalid, "%s: invalid number '%s'", s.Keyword(), s.Arg(i))
		return 0, false
	}
	if v < lo || v > hi {
		dec.d.errorf(s.ArgPos(i), ErrInvalid, "%s: number '%s' outside range [%d, %d]", s.Keyword(), s.Arg(i), lo, hi)
		return 0, false
	}
	return v, true
}

func (dec *decoder) setInt(dst *int, s *Stmt, i int, lo, hi int64) {
	if v, ok := dec.integer(s, i, lo, hi); ok {
		*dst = int(v)
	}
}

// seconds reads word i as a (possibly fractional) number of seconds in
// [lo, hi] seconds.
func (dec *decoder) seconds(s *Stmt, i int, lo, hi float64) (time.Duration, bool) {
	if !dec.nargs(s, i+1) {
		return 0, false
	}
	v, err := parseSeconds(s.Arg(i))
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		dec.d.errorf(s.ArgPos(i), ErrInvalid, "%s: invalid number '%s'", s.Keyword(), s.Arg(i))
		return 0, false
	}
	if v < lo || v > hi {
		dec.d.errorf(s.ArgPos(i), ErrInvalid, "%s: number '%s' outside range [%g, %g]", s.Keyword(), s.Arg(i), lo, hi)
		return 0, false
	}
	return time.Duration(v * float64(time.Second)), true
}

// parseSeconds is strconv.ParseFloat with a short cut for the usual
// whole number of seconds (at most 15 digits, so exactly representable).
func parseSeconds(w string) (float64, error) {
	if len(w) == 0 || len(w) > 15 {
		return strconv.ParseFloat(w, 64)
	}
	n := int64(0)
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !isDigit(c) {
			return strconv.ParseFloat(w, 64)
		}
		n = n*10 + int64(c-'0')
	}
	return float64(n), nil
}

func (dec *decoder) setSeconds(dst *time.Duration, s *Stmt, i int, lo, hi float64) {
	if v, ok := dec.seconds(s, i, lo, hi); ok {
		*dst = v
	}
}

// maxTimer is keepalived's largest timer, in seconds.
const maxTimer = float64(math.MaxUint32) / 1e6

// boolArg reads an optional on/off word after a flag keyword; a flag alone
// means true.
func (dec *decoder) boolArg(s *Stmt, i int) bool {
	if len(s.Tokens) <= i {
		return true
	}
	switch s.Arg(i) {
	case "on", "true", "yes":
		return true
	case "off", "false", "no":
		return false
	}
	dec.d.errorf(s.ArgPos(i), ErrInvalid, "%s: invalid boolean '%s'", s.Keyword(), s.Arg(i))
	return true
}

// addr reads word i as an IP address.
func (dec *decoder) addr(s *Stmt, i int) (netip.Addr, bool) {
	if !dec.nargs(s, i+1) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s.Arg(i))
	if err != nil || a.Zone() != "" {
		dec.d.errorf(s.ArgPos(i), ErrInvalid, "%s: invalid address '%s'", s.Keyword(), s.Arg(i))
		return netip.Addr{}, false
	}
	return a, true
}

// port reads word i as a port number.
func (dec *decoder) port(s *Stmt, i int) (uint16, bool) {
	v, ok := dec.integer(s, i, 0, 65535)
	return uint16(v), ok
}

// str reads word i as a string.
func (dec *decoder) str(dst *string, s *Stmt, i int) {
	if dec.nargs(s, i+1) {
		*dst = s.Arg(i)
	}
}

// script reads a script keyword: the rest of the line, as keepalived's
// shell-like splitting gives it to the notify code.
func (dec *decoder) script(dst *string, s *Stmt) {
	if !dec.nargs(s, 2) {
		return
	}
	if len(s.Tokens) == 2 {
		*dst = s.Arg(1)
		return
	}
	// the command as written: keepalived splits it again with shell-like
	// quoting (see ScriptArgv), so blanks inside quotes matter
	if off := s.Tokens[1].Col - s.Pos.Col; s.text != "" && off > 0 && off < len(s.text) {
		*dst = s.text[off:]
		return
	}
	parts := make([]string, 0, len(s.Tokens)-1)
	for _, t := range s.Tokens[1:] {
		parts = append(parts, t.Text)
	}
	*dst = strings.Join(parts, " ")
}

// values returns the active entries of a value block (virtual_ipaddress,
// notification_email, group...).
func (dec *decoder) values(s *Stmt, body []*Stmt) []*Stmt {
	if s.Block == nil {
		dec.d.errorf(s.Pos, ErrSyntax, "'{' missing from beginning of block %s", s.Keyword())
		return nil
	}
	if len(s.Tokens) > 1 {
		dec.d.errorf(s.ArgPos(1), ErrSyntax, "block %s has extra parameters %s ...", s.Keyword(), s.Arg(1))
	}
	out := make([]*Stmt, 0, len(body))
	for _, c := range body {
		if active(c) {
			out = append(out, c)
		}
	}
	return out
}

func (dec *decoder) noBlock(s *Stmt) {
	if s.Block != nil {
		dec.d.errorf(s.Block.Open, ErrSyntax, "unexpected '{' after %s", s.Keyword())
	}
}

func (dec *decoder) globalDefs(g *GlobalDefs, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		if kw != "notification_email" {
			dec.noBlock(s)
		}
		switch kw {
		case "notification_email":
			for _, v := range dec.values(s, blockStmts(s)) {
				for _, t := range v.Tokens {
					g.NotificationEmail = append(g.NotificationEmail, t.Value())
				}
			}
		case "notification_email_from":
			dec.str(&g.NotificationEmailFrom, s, 1)
		case "smtp_server":
			if dec.nargs(s, 2) {
				g.SMTPServer = s.Arg(1)
				if len(s.Tokens) > 2 {
					if p, ok := dec.port(s, 2); ok {
						g.SMTPPort = p
					}
				}
			}
		case "smtp_connect_timeout":
			dec.setSeconds(&g.SMTPConnectTimeout, s, 1, 1, maxTimer)
		case "router_id":
			dec.str(&g.RouterID, s, 1)
		case "vrrp_mcast_group4":
			if a, ok := dec.addr(s, 1); ok {
				if !a.Is4() || !a.IsMulticast() {
					dec.d.errorf(s.ArgPos(1), ErrInvalid, "vrrp_mcast_group4: '%s' is not an IPv4 multicast address", s.Arg(1))
				} else {
					g.VRRPMcastGroup4 = a
				}
			}
		case "vrrp_mcast_group6":
			if a, ok := dec.addr(s, 1); ok {
				if !a.Is6() || !a.IsMulticast() {
					dec.d.errorf(s.ArgPos(1), ErrInvalid, "vrrp_mcast_group6: '%s' is not an IPv6 multicast address", s.Arg(1))
				} else {
					g.VRRPMcastGroup6 = a
				}
			}
		case "vrrp_version":
			dec.setInt(&g.VRRPVersion, s, 1, 2, 3)
		case "vrrp_strict":
			g.VRRPStrict = true
		case "enable_script_security":
			g.EnableScriptSecurity = true
		case "script_user":
			dec.str(&g.ScriptUser, s, 1)
		case "lvs_id":
			dec.str(&g.LVSID, s, 1)
		default:
			if !globalKeywords[kw] {
				dec.unknown(s)
				continue
			}
			if g.Other == nil {
				g.Other = map[string]any{}
			}
			g.Other[kw] = strings.Join(s.Args(), " ")
		}
	}
}

func blockStmts(s *Stmt) []*Stmt {
	if s.Block == nil {
		return nil
	}
	return s.Block.Stmts
}

func (dec *decoder) vrrpScript(sc *VRRPScript, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		dec.noBlock(s)
		switch s.Keyword() {
		case "script":
			dec.script(&sc.Script, s)
		case "interval":
			dec.setSeconds(&sc.Interval, s, 1, 0.000001, maxTimer)
		case "timeout":
			dec.setSeconds(&sc.Timeout, s, 1, 0.000001, maxTimer)
		case "weight":
			dec.setInt(&sc.Weight, s, 1, -253, 253)
		case "rise":
			dec.setInt(&sc.Rise, s, 1, 1, math.MaxInt32)
		case "fall":
			dec.setInt(&sc.Fall, s, 1, 1, math.MaxInt32)
		case "user":
			dec.str(&sc.User, s, 1)
		case "init_fail":
			sc.InitFail = true
		default:
			if !scriptKeywords[s.Keyword()] {
				dec.unknown(s)
			}
		}
	}
}

func (dec *decoder) trackFile(tf *TrackFile, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		dec.noBlock(s)
		switch s.Keyword() {
		case "file":
			dec.str(&tf.File, s, 1)
		case "weight":
			dec.setInt(&tf.Weight, s, 1, -254, 254)
		case "init_file":
			tf.InitFile = true
		default:
			dec.unknown(s)
		}
	}
}

func (dec *decoder) syncGroup(g *SyncGroup, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		if kw != "group" && kw != "track_interface" && kw != "track_script" && kw != "track_file" && kw != "track_process" && kw != "track_bfd" {
			dec.noBlock(s)
		}
		switch kw {
		case "group":
			for _, v := range dec.values(s, blockStmts(s)) {
				for _, t := range v.Tokens {
					g.Group = append(g.Group, t.Value())
				}
			}
		case "notify":
			dec.script(&g.Notify, s)
		case "notify_master":
			dec.script(&g.NotifyMaster, s)
		case "notify_backup":
			dec.script(&g.NotifyBackup, s)
		case "notify_fault":
			dec.script(&g.NotifyFault, s)
		case "smtp_alert":
			g.SMTPAlert = dec.boolArg(s, 1)
		default:
			if !syncGroupKeywords[kw] {
				dec.unknown(s)
			}
		}
	}
}

// valueBlockKeywords are vrrp_instance keywords whose block is a list of
// values rather than keywords.
var valueBlockKeywords = map[string]bool{
	"virtual_ipaddress": true, "virtual_ipaddress_excluded": true, "unicast_peer": true,
	"track_interface": true, "track_script": true, "track_file": true, "track_process": true,
	"track_bfd": true, "virtual_routes": true, "virtual_rules": true, "authentication": true,
}

func (dec *decoder) instance(in *VRRPInstance, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		if !valueBlockKeywords[kw] {
			dec.noBlock(s)
		}
		switch kw {
		case "state":
			if dec.nargs(s, 2) {
				switch v := s.Arg(1); v {
				case "MASTER", "BACKUP":
					in.State = v
				default:
					dec.d.errorf(s.ArgPos(1), ErrInvalid, "(%s) unknown state '%s', defaulting to BACKUP", in.Name, v)
					in.State = "BACKUP"
				}
			}
		case "interface":
			dec.str(&in.Interface, s, 1)
		case "virtual_router_id":
			dec.setInt(&in.VirtualRouterID, s, 1, 1, 255)
		case "priority":
			dec.setInt(&in.Priority, s, 1, 1, 255)
		case "advert_int":
			dec.setSeconds(&in.AdvertInt, s, 1, 0.01, 255)
		case "version":
			dec.setInt(&in.Version, s, 1, 2, 3)
		case "nopreempt":
			in.Nopreempt = true
		case "preempt":
			in.Nopreempt = false
		case "preempt_delay":
			dec.setSeconds(&in.PreemptDelay, s, 1, 0, 1000)
		case "use_vmac":
			in.UseVMAC = true
		case "unicast_src_ip":
			if a, ok := dec.addr(s, 1); ok {
				in.UnicastSrcIP = a
			}
		case "unicast_peer":
			for _, v := range dec.values(s, blockStmts(s)) {
				if a, ok := dec.addr(v, 0); ok {
					in.UnicastPeers = append(in.UnicastPeers, a)
				}
			}
		case "authentication":
			if s.Block == nil {
				dec.d.errorf(s.Pos, ErrSyntax, "missing '{' at beginning of authentication block")
			}
			for _, a := range blockStmts(s) {
				if !active(a) {
					continue
				}
				switch a.Keyword() {
				case "auth_type":
					if dec.nargs(a, 2) {
						switch v := a.Arg(1); v {
						case "PASS", "AH":
							in.AuthType = v
						default:
							dec.d.errorf(a.ArgPos(1), ErrInvalid, "(%s) unknown authentication type '%s'", in.Name, v)
						}
					}
				case "auth_pass":
					dec.str(&in.AuthPass, a, 1)
					if len(in.AuthPass) > 8 {
						dec.d.add(a.ArgPos(1), SeverityWarning, ErrInvalid, "truncating auth_pass to 8 characters")
						in.AuthPass = in.AuthPass[:8]
					}
				default:
					dec.unknown(a)
				}
			}
		case "virtual_ipaddress", "virtual_ipaddress_excluded":
			for _, v := range dec.values(s, blockStmts(s)) {
				if vip, ok := dec.vip(v); ok {
					if kw == "virtual_ipaddress" {
						in.VIPs = append(in.VIPs, vip)
					} else {
						in.ExcludedVIPs = append(in.ExcludedVIPs, vip)
					}
				}
			}
		case "virtual_routes":
			for _, v := range dec.values(s, blockStmts(s)) {
				dec.route(v)
			}
		case "virtual_rules":
			for _, v := range dec.values(s, blockStmts(s)) {
				dec.rule(v)
			}
		case "track_interface", "track_script", "track_file":
			for _, v := range dec.values(s, blockStmts(s)) {
				tr := Track{Name: v.Arg(0), Stmt: v}
				if len(v.Tokens) >= 3 && v.Arg(1) == "weight" {
					dec.setInt(&tr.Weight, v, 2, -254, 254)
				}
				switch kw {
				case "track_interface":
					in.TrackInterfaces = append(in.TrackInterfaces, tr)
				case "track_script":
					in.TrackScripts = append(in.TrackScripts, tr)
				default:
					in.TrackFiles = append(in.TrackFiles, tr)
				}
			}
		case "notify":
			dec.script(&in.Notify, s)
		case "notify_master":
			dec.script(&in.NotifyMaster, s)
		case "notify_backup":
			dec.script(&in.NotifyBackup, s)
		case "notify_fault":
			dec.script(&in.NotifyFault, s)
		case "notify_stop":
			dec.script(&in.NotifyStop, s)
		case "smtp_alert":
			in.SMTPAlert = dec.boolArg(s, 1)
		case "garp_master_delay":
			dec.setSeconds(&in.GarpMasterDelay, s, 1, 0, maxTimer)
		default:
			if !instanceKeywords[kw] {
				dec.unknown(s)
			}
		}
	}
}

// vip reads one virtual_ipaddress entry: ADDR[/LEN] [brd ADDR] [dev IF]
// [scope S] [label L] ...
func (dec *decoder) vip(s *Stmt) (VIP, bool) {
	v := VIP{Stmt: s}
	a := s.Arg(0)
	var err error
	if strings.IndexByte(a, '/') >= 0 {
		v.Prefix, err = netip.ParsePrefix(a)
	} else {
		var ad netip.Addr
		ad, err = netip.ParseAddr(a)
		if err == nil {
			v.Prefix = netip.PrefixFrom(ad, ad.BitLen())
		}
	}
	if err != nil || v.Prefix.Addr().Zone() != "" {
		dec.d.errorf(s.Pos, ErrInvalid, "invalid address '%s'", a)
		return v, false
	}
	for i := 1; i+1 < len(s.Tokens); i += 2 {
		val := s.Arg(i + 1)
		switch s.Arg(i) {
		case "brd":
			if b, ok := dec.addr(s, i+1); ok {
				v.Brd = b
			}
		case "dev":
			v.Dev = val
		case "scope":
			v.Scope = val
		case "label":
			v.Label = val
		}
	}
	return v, true
}

func (dec *decoder) vsGroup(g *VirtualServerGroup, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		m := VSGMember{Stmt: s}
		if s.Keyword() == "fwmark" {
			if v, ok := dec.integer(s, 1, 1, math.MaxUint32); ok {
				m.FWMark = uint32(v)
				g.Members = append(g.Members, m)
			}
			continue
		}
		a := s.Arg(0)
		if dash := strings.LastIndexByte(a, '-'); dash > 0 {
			first, err := netip.ParseAddr(a[:dash])
			last, err2 := strconv.ParseUint(a[dash+1:], 10, 16)
			if err != nil || err2 != nil || (first.Is4() && last > 255) {
				dec.d.errorf(s.Pos, ErrInvalid, "virtual server group %s: invalid address range '%s'", g.Name, a)
				continue
			}
			m.Addr = first
			if first.Is4() {
				b := first.As4()
				b[3] = byte(last)
				m.RangeEnd = netip.AddrFrom4(b)
			} else {
				b := first.As16()
				b[14], b[15] = byte(last>>8), byte(last)
				m.RangeEnd = netip.AddrFrom16(b)
			}
		} else if ad, ok := dec.addr(s, 0); ok {
			m.Addr = ad
		} else {
			continue
		}
		if len(s.Tokens) > 1 {
			if p, ok := dec.port(s, 1); ok {
				m.Port = p
			}
		}
		g.Members = append(g.Members, m)
	}
}

// virtualServerHead reads "virtual_server ADDR PORT", "virtual_server
// fwmark N" or "virtual_server group NAME".
func (dec *decoder) virtualServerHead(s *Stmt) *VirtualServer {
	if !dec.nargs(s, 2) {
		return nil
	}
	vs := dec.vss.new()
	*vs = VirtualServer{Stmt: s, DelayLoop: 60 * time.Second}
	switch s.Arg(1) {
	case "fwmark":
		if v, ok := dec.integer(s, 2, 1, math.MaxUint32); ok {
			vs.FWMark = uint32(v)
		} else {
			return nil
		}
	case "group":
		if !dec.nargs(s, 3) {
			return nil
		}
		vs.Group = s.Arg(2)
	default:
		a, ok := dec.addr(s, 1)
		if !ok {
			return nil
		}
		var p uint16
		if len(s.Tokens) > 2 {
			if p, ok = dec.port(s, 2); !ok {
				return nil
			}
		}
		vs.Addr = netip.AddrPortFrom(a, p)
	}
	return vs
}

// Schedulers are the IPVS schedulers keepalived accepts for lb_algo.
var Schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"}

func (dec *decoder) virtualServer(vs *VirtualServer, body []*Stmt) {
	n := 0
	for _, s := range body {
		if s.Kind == KindStmt && len(s.Tokens) > 0 && s.Tokens[0].Text == "real_server" {
			n++
		}
	}
	if n > 0 {
		vs.RealServers = dec.rsLists.slice(n)
	} else {
		vs.RealServers = make([]*RealServer, 0)
	}
	for i := 0; i < len(body); i++ {
		s := body[i]
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		if kw != "real_server" && kw != "sorry_server" {
			dec.noBlock(s)
		}
		switch kw {
		case "delay_loop":
			dec.setSeconds(&vs.DelayLoop, s, 1, 0.000001, maxTimer)
		case "lb_algo", "lvs_sched":
			if dec.nargs(s, 2) {
				v := s.Arg(1)
				ok := false
				for _, sc := range Schedulers {
					ok = ok || sc == v
				}
				if !ok {
					dec.d.errorf(s.ArgPos(1), ErrInvalid, "invalid scheduler '%s'", v)
				}
				vs.LBAlgo = v
			}
		case "lb_kind", "lvs_method":
			if dec.nargs(s, 2) {
				switch v := s.Arg(1); v {
				case "NAT", "DR", "TUN":
					vs.LBKind = v
				default:
					dec.d.errorf(s.ArgPos(1), ErrInvalid, "invalid forwarding method '%s'", v)
				}
			}
		case "protocol":
			if dec.nargs(s, 2) {
				switch v := s.Arg(1); v {
				case "TCP", "UDP", "SCTP":
					vs.Protocol = v
				default:
					dec.d.errorf(s.ArgPos(1), ErrInvalid, "unknown protocol '%s'", v)
				}
			}
		case "persistence_timeout":
			dec.setSeconds(&vs.PersistenceTimeout, s, 1, 1, math.MaxUint32)
		case "persistence_granularity":
			dec.str(&vs.PersistenceGranularity, s, 1)
		case "virtualhost":
			dec.str(&vs.VirtualHost, s, 1)
		case "sorry_server":
			if a, ok := dec.addr(s, 1); ok {
				var p uint16
				if len(s.Tokens) > 2 {
					p, _ = dec.port(s, 2)
				}
				vs.SorryServer = netip.AddrPortFrom(a, p)
			}
		case "quorum":
			dec.setInt(&vs.Quorum, s, 1, 1, math.MaxUint32)
		case "hysteresis":
			dec.setInt(&vs.Hysteresis, s, 1, 0, math.MaxUint32)
		case "quorum_up":
			dec.script(&vs.QuorumUp, s)
		case "quorum_down":
			dec.script(&vs.QuorumDown, s)
		case "alpha":
			vs.Alpha = true
		case "omega":
			vs.Omega = true
		case "inhibit_on_failure":
			vs.Inhibit = true
		case "real_server":
			rs := dec.realServerHead(s)
			rbody, n := dec.body(s, body[i+1:])
			i += n
			if rs != nil {
				dec.realServer(rs, rbody)
				vs.RealServers = append(vs.RealServers, rs)
			}
		default:
			if !vsKeywords[kw] {
				dec.unknown(s)
			}
		}
	}
}

func (dec *decoder) realServerHead(s *Stmt) *RealServer {
	a, ok := dec.addr(s, 1)
	if !ok {
		return nil
	}
	rs := dec.rss.new()
	*rs = RealServer{Stmt: s, Weight: 1}
	var p uint16
	if len(s.Tokens) > 2 {
		if p, ok = dec.port(s, 2); !ok {
			return nil
		}
	}
	rs.Addr = netip.AddrPortFrom(a, p)
	return rs
}

func (dec *decoder) realServer(rs *RealServer, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		var c Checker
		switch kw {
		case "weight":
			dec.noBlock(s)
			dec.setInt(&rs.Weight, s, 1, 0, math.MaxInt32)
		case "inhibit_on_failure":
			dec.noBlock(s)
			rs.InhibitOnFailure = dec.boolArg(s, 1)
		case "notify_up":
			dec.script(&rs.NotifyUp, s)
		case "notify_down":
			dec.script(&rs.NotifyDown, s)
		case "TCP_CHECK":
			t := dec.tcp.new()
			t.Stmt = s
			dec.check(&t.CheckCommon, s, tcpCheckKeywords, nil)
			c = t
			if rs.Checkers == nil {
				// the usual single checker: no slice growth later
				rs.Checkers = dec.checkers.slice(1)
			}
		case "HTTP_GET", "SSL_GET":
			h := &HTTPCheck{CheckCommon: CheckCommon{Stmt: s}, TLS: kw == "SSL_GET"}
			dec.check(&h.CheckCommon, s, httpCheckKeywords, func(c *Stmt) bool {
				switch c.Keyword() {
				case "url":
					h.URLs = append(h.URLs, dec.url(c))
				case "virtualhost":
					dec.str(&h.Virtualhost, c, 1)
				case "nb_get_retry":
					dec.setInt(&h.Retry, c, 1, 0, math.MaxInt32)
				case "enable_sni", "tls_compliant", "http_protocol", "fast_recovery":
				default:
					return false
				}
				return true
			})
			c = h
		case "SMTP_CHECK":
			m := &SMTPCheck{CheckCommon: CheckCommon{Stmt: s}}
			dec.check(&m.CheckCommon, s, tcpCheckKeywords, func(c *Stmt) bool {
				switch c.Keyword() {
				case "helo_name":
					dec.str(&m.Helo, c, 1)
				case "host":
				default:
					return false
				}
				return true
			})
			c = m
		case "DNS_CHECK":
			d := &DNSCheck{CheckCommon: CheckCommon{Stmt: s}}
			dec.check(&d.CheckCommon, s, tcpCheckKeywords, func(c *Stmt) bool {
				switch c.Keyword() {
				case "type":
					dec.str(&d.QueryType, c, 1)
				case "name":
					dec.str(&d.Name, c, 1)
				default:
					return false
				}
				return true
			})
			c = d
		case "UDP_CHECK":
			u := &UDPCheck{CheckCommon: CheckCommon{Stmt: s}}
			dec.check(&u.CheckCommon, s, tcpCheckKeywords, func(c *Stmt) bool {
				switch c.Keyword() {
				case "payload":
					dec.str(&u.Payload, c, 1)
				case "require_reply":
					u.RequireReply = strings.Join(c.Args(), " ")
				case "min_reply_length", "max_reply_length":
				default:
					return false
				}
				return true
			})
			c = u
		case "PING_CHECK", "ICMP_CHECK":
			p := &PingCheck{CheckCommon{Stmt: s}}
			dec.check(&p.CheckCommon, s, tcpCheckKeywords, nil)
			c = p
		case "MISC_CHECK":
			c = dec.miscCheck(s)
		case "FILE_CHECK":
			f := &FileCheck{Stmt: s}
			dec.blockOf(s, func(c *Stmt) {
				switch c.Keyword() {
				case "track_file":
					dec.str(&f.TrackFile, c, 1)
				case "weight":
					dec.setInt(&f.Weight, c, 1, -254, 254)
					f.Reverse = len(c.Tokens) > 2 && c.Arg(2) == "reverse"
				default:
					dec.unknown(c)
				}
			})
			c = f
		case "BFD_CHECK":
			b := &BFDCheck{Stmt: s}
			dec.blockOf(s, func(c *Stmt) {
				switch c.Keyword() {
				case "name":
					dec.str(&b.Name, c, 1)
				default:
					dec.unknown(c)
				}
			})
			c = b
		default:
			if !rsKeywords[kw] {
				dec.unknown(s)
			}
		}
		if c != nil {
			rs.Checkers = append(rs.Checkers, c)
		}
	}
}

// blockOf calls fn for each active statement of s's block.
func (dec *decoder) blockOf(s *Stmt, fn func(*Stmt)) {
	if s.Block == nil {
		dec.d.errorf(s.Pos, ErrSyntax, "missing '{' at beginning of %s block", s.Keyword())
		return
	}
	for _, c := range s.Block.Stmts {
		if active(c) {
			fn(c)
		}
	}
}

// check reads the settings connecting checkers share; extra handles the
// checker's own keywords and reports whether it knew the keyword.
func (dec *decoder) check(cc *CheckCommon, s *Stmt, known map[string]bool, extra func(*Stmt) bool) {
	dec.blockOf(s, func(c *Stmt) {
		kw := c.Keyword()
		if kw != "url" && kw != "host" {
			dec.noBlock(c)
		}
		switch kw {
		case "connect_ip":
			if a, ok := dec.addr(c, 1); ok {
				cc.ConnectIP = a
			}
		case "connect_port":
			if p, ok := dec.port(c, 1); ok {
				cc.ConnectPort = p
			}
		case "bindto":
			if a, ok := dec.addr(c, 1); ok {
				cc.BindTo = a
			}
		case "bind_port":
			if p, ok := dec.port(c, 1); ok {
				cc.BindPort = p
			}
		case "connect_timeout":
			dec.setSeconds(&cc.ConnectTimeout, c, 1, 0.000001, maxTimer)
		case "retry":
			dec.setInt(&cc.Retry, c, 1, 0, math.MaxInt32)
		case "delay_before_retry":
			dec.setSeconds(&cc.DelayBeforeRetry, c, 1, 0, maxTimer)
		case "warmup":
			dec.setSeconds(&cc.Warmup, c, 1, 0, maxTimer)
		case "delay_loop":
			dec.setSeconds(&cc.DelayLoop, c, 1, 0.000001, maxTimer)
		case "fwmark":
			if v, ok := dec.integer(c, 1, 0, math.MaxUint32); ok {
				cc.FWMark = uint32(v)
			}
		case "alpha":
			cc.Alpha = dec.boolArg(c, 1)
		default:
			if (extra == nil || !extra(c)) && !known[kw] {
				dec.unknown(c)
			}
		}
	})
}

func (dec *decoder) url(s *Stmt) URL {
	u := URL{Stmt: s}
	dec.blockOf(s, func(c *Stmt) {
		switch c.Keyword() {
		case "path":
			dec.str(&u.Path, c, 1)
		case "digest":
			dec.str(&u.Digest, c, 1)
		case "status_code":
			u.StatusCode = strings.Join(c.Args(), " ")
		case "virtualhost":
			dec.str(&u.Virtualhost, c, 1)
		default:
			if !urlKeywords[c.Keyword()] {
				dec.unknown(c)
			}
		}
	})
	return u
}

func (dec *decoder) miscCheck(s *Stmt) *MiscCheck {
	m := &MiscCheck{Stmt: s}
	dec.blockOf(s, func(c *Stmt) {
		switch c.Keyword() {
		case "misc_path":
			dec.script(&m.Path, c)
		case "misc_timeout":
			dec.setSeconds(&m.Timeout, c, 1, 0.000001, maxTimer)
		case "misc_dynamic":
			m.Dynamic = true
		case "user":
			dec.str(&m.User, c, 1)
		case "warmup":
			dec.setSeconds(&m.Warmup, c, 1, 0, maxTimer)
		case "retry":
			dec.setInt(&m.Retry, c, 1, 0, math.MaxInt32)
		case "delay_loop":
			dec.setSeconds(&m.DelayLoop, c, 1, 0.000001, maxTimer)
		case "delay_before_retry":
			dec.setSeconds(&m.DelayBefore, c, 1, 0, maxTimer)
		default:
			if !miscCheckKeywords[c.Keyword()] {
				dec.unknown(c)
			}
		}
	})
	return m
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// route makes keepalived's checks of one virtual_routes entry.
func (dec *decoder) route(s *Stmt) {
	dev, track := false, true
	dst := ""
	for i, t := range s.Tokens {
		switch w := t.Value(); w {
		case "dev":
			dev = true
		case "no_track":
			track = false
		case "or":
			dec.d.add(s.ArgPos(i), SeverityWarning, ErrInvalid, "\"or\" for routes is deprecated, use \"nexthop\"")
		case "gw":
			dec.d.add(s.ArgPos(i), SeverityWarning, ErrInvalid, "\"gw\" for routes is deprecated, use \"via\"")
		default:
			if dst == "" && (i == 0 || s.Arg(i-1) != "src") {
				if _, err := netip.ParsePrefix(w); err == nil {
					dst = w
				} else if a, err := netip.ParseAddr(w); err == nil {
					dst = netip.PrefixFrom(a, a.BitLen()).String()
				}
			}
		}
	}
	if !dev && track {
		dec.d.add(s.Pos, SeverityWarning, ErrInvalid, "cannot track route %s with no interface specified, not tracking", dst)
	}
}

// rule makes keepalived's checks of one virtual_rules / static_rules entry.
func (dec *decoder) rule(s *Stmt) {
	pref := false
	for i, t := range s.Tokens {
		switch t.Value() {
		case "preference", "prio", "priority":
			pref = true
		case "from", "to":
			if i+1 >= len(s.Tokens) {
				continue
			}
			w := s.Arg(i + 1)
			if _, err := netip.ParsePrefix(w); err != nil && w != "all" {
				if _, err := netip.ParseAddr(w); err != nil {
					dec.d.errorf(s.ArgPos(i+1), ErrInvalid, "invalid rule %s address %s", t.Value(), w)
				}
			}
		}
	}
	if !pref {
		dec.d.add(s.Pos, SeverityWarning, ErrInvalid, "rule has no preference specified; keepalived picks one, which is probably not what you want")
	}
}
