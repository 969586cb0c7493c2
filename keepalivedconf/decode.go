package keepalivedconf

import (
	"strings"
	"time"
)

// Config returns the typed view of the configuration keepalived reads from
// the file: for a File from ParseFile, with its includes, definitions,
// ~SEQ lines and @id conditionals applied (see Expand); for a File from
// Parse, with definitions, ~SEQ lines and conditionals applied and an
// error naming each include statement, whose files Parse never read.
//
// The error, an ErrorList, holds what keepalived rejects while reading
// (range checks, missing braces, unknown keywords are warnings, see
// below); the Config is returned even when there are errors. What
// keepalived reports but carries on with (unknown keywords, values it
// clears or rounds) is in Config.Warnings; `keepalived -t` exits non-zero
// on those too. Findings keepalived does not report are in Config.Lint.
//
// A File without any of those directives is decoded as it is, so that
// typed edits (VRRPInstance.SetPriority...) change its tree; the Config of
// an expanded file points into the expansion, which is for reading.
func (f *File) Config() (*Config, error) {
	return f.config(0)
}

// config decodes with procs goroutines for the virtual servers (0: as
// many as pay off).
func (f *File) config(procs int) (*Config, error) {
	src := f
	var pre ErrorList
	switch {
	case f.expanded != nil:
		src = f.expanded
	case f.directives:
		if !f.followed {
			pre = f.unfollowed()
		}
		r := f.cfg.resolved()
		ex := newExpander(r)
		ex.noIncludes = true
		ex.run(f, string(f.Format()))
		src = ex.result(f.Name)
	}
	limits := f.cfg.resolved().Limits
	dec := &decoder{cfg: &Config{file: f, src: src}, procs: procs}
	dec.d.list = append(append(dec.d.list, pre...), src.syntax...)
	dec.d.lints = append(dec.d.lints, src.lints...)
	a := f.arena
	if a != nil && (a.owner != f || a.lent || src != f) {
		a = nil
	}
	if a != nil {
		// the arena's memory, rewound when it parsed f
		a.lent, dec.decodeArenas = true, a.dec
		defer func() { a.dec = dec.decodeArenas }()
	}
	dec.top(src.Stmts)
	dec.validate()
	dec.d.list.Sort()
	dec.d.warn.Sort()
	dec.d.lints.Sort()
	dec.cfg.Warnings = dedup(dec.d.warn).capped(limits.MaxErrors)
	dec.cfg.lints = dec.d.lints
	dec.cfg.maxErrors = limits.MaxErrors
	return dec.cfg, dedup(dec.d.list).capped(limits.MaxErrors).Err()
}

// Source returns the statements the Config was decoded from: the file's
// expansion (includes, definitions, ~SEQ lines and @id conditionals
// applied; see Expand), for reading. Walking it visits every keyword
// keepalived reads, with its file:line:col.
func (c *Config) Source() *File {
	if c.src != nil {
		return c.src
	}
	return c.file
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
	decodeArenas
}

// decodeArenas are the decoder's arenas, which an Arena keeps from one
// decode to the next.
type decodeArenas struct {
	vss      arena[VirtualServer]
	rss      arena[RealServer]
	tcp      arena[TCPCheck]
	rsLists  arena[*RealServer]
	checkers arena[Checker]
}

// rewind rewinds every arena.
func (d *decodeArenas) rewind() {
	d.vss.rewind()
	d.rss.rewind()
	d.tcp.rewind()
	d.rsLists.rewind()
	d.checkers.rewind()
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
				// keepalived copies vrrp_skip_check_adv_addr into each
				// instance as it is created.
				in.SkipCheckAdvAddr = cfg.GlobalDefs != nil && cfg.GlobalDefs.VRRPSkipCheckAdvAddr
				dec.instance(in, body)
				dec.instanceNet(in) // vrrpnet.go
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
		case "vrrp_track_process":
			dec.trackProcess(s, body)
		case "static_ipaddress":
			for _, v := range dec.values(s, body) {
				if vip, ok := dec.vip(v); ok {
					cfg.StaticAddresses = append(cfg.StaticAddresses, vip)
				}
			}
		case "static_routes":
			for _, v := range dec.values(s, body) {
				if r, ok := dec.route(v); ok {
					cfg.StaticRoutes = append(cfg.StaticRoutes, r)
				}
			}
		case "static_rules":
			for _, v := range dec.values(s, body) {
				if r, ok := dec.rule(v); ok {
					cfg.StaticRules = append(cfg.StaticRules, r)
				}
			}
		default:
			if !topKeywords[kw] && !isIncludeLine(s.Text()) {
				dec.unknown(s, topKeywords)
				cfg.Unknown = append(cfg.Unknown, s)
			}
		}
	}
	if dec.deferred != nil {
		dec.decodeDeferred()
	}
}

// unknown reports a keyword keepalived does not know in its context,
// with the nearest keyword of known (the context's keywords) as a hint.
func (dec *decoder) unknown(s *Stmt, known map[string]bool) {
	if hint := nearest(s.Keyword(), known); hint != "" {
		dec.d.add(s.Pos, sevWarning, ErrUnknownKeyword, "unknown keyword '%s' (did you mean %s?)", s.Keyword(), hint)
		return
	}
	dec.d.add(s.Pos, sevWarning, ErrUnknownKeyword, "unknown keyword '%s'", s.Keyword())
}
