package main

import (
	"fmt"
	"strings"

	"github.com/lvskit/lvskit/keepalivedconf"
)

// refuseKeywords walks the statements keepalived reads (the expansion of
// the configuration, includes and @id lines applied) and returns an error
// for every keyword keywordTable refuses, with its file:line:col, in file
// order. A refused block is reported once, not walked into. Keywords
// keepalived does not know are left to keepalivedconf, which warns about
// them as keepalived does.
func refuseKeywords(cfg *keepalivedconf.Config) []error {
	src := cfg.Source()
	if src == nil {
		return nil
	}
	var errs []error
	for _, r := range refusedIn(src.Stmts) {
		errs = append(errs, refusal(r.Stmt, r.Context, r.Reason))
	}
	return errs
}

// refusedStmt is a statement whose keyword lvsrouter refuses.
type refusedStmt struct {
	Stmt            *keepalivedconf.Stmt
	Context, Reason string
}

// refusedIn returns the statements of a top-level statement list whose
// keywords are refused, in file order.
func refusedIn(stmts []*keepalivedconf.Stmt) []refusedStmt {
	var out []refusedStmt
	walkKeywords(stmts, "top", &out)
	return out
}

func walkKeywords(stmts []*keepalivedconf.Stmt, context string, out *[]refusedStmt) {
	w := kwWalker{out: out}
	w.walk(stmts, w.rows(context))
}

// kwWalker walks statements for refused keywords. It finds a keyword's
// row among the few its context has seen before comparing strings, not
// hashing them: a 10,000 × 4 configuration has 270,000 statements of a
// dozen keywords, and a guest without hardware virtualization emulates
// the instructions Go hashes strings with.
type kwWalker struct {
	ctxs []*kwRows
	out  *[]refusedStmt
}

// kwRows is a context's rows, with the keywords looked up in it so far
// (at most eight kept).
type kwRows struct {
	context string
	index   map[string]keywordStatus
	n       int
	kw      [8]string
	st      [8]keywordStatus
	ok      [8]bool
}

// rows returns context's rows.
func (w *kwWalker) rows(context string) *kwRows {
	for _, r := range w.ctxs {
		if r.context == context {
			return r
		}
	}
	r := &kwRows{context: context, index: keywordIndex[context]}
	w.ctxs = append(w.ctxs, r)
	return r
}

// lookup is r.index[kw].
func (r *kwRows) lookup(kw string) (keywordStatus, bool) {
	for i := range r.n {
		if r.kw[i] == kw {
			return r.st[i], r.ok[i]
		}
	}
	st, ok := r.index[kw]
	if r.n < len(r.kw) {
		r.kw[r.n], r.st[r.n], r.ok[r.n] = kw, st, ok
		r.n++
	}
	return st, ok
}

func (w *kwWalker) walk(stmts []*keepalivedconf.Stmt, rows *kwRows) {
	var last *kwRows // the child context's rows, usually the same
	for _, s := range stmts {
		if !activeStmt(s) {
			continue
		}
		kw := s.Keyword()
		st, ok := rows.lookup(kw)
		if !ok {
			continue
		}
		if !st.Implemented() {
			*w.out = append(*w.out, refusedStmt{s, rows.context, st.Reason})
			continue
		}
		if child := childContext(rows.context, kw); child != "" && s.Block != nil {
			if last == nil || last.context != child {
				last = w.rows(child)
			}
			w.walk(s.Block.Stmts, last)
		}
	}
}

// refusal is the error for a refused keyword at s.
func refusal(s *keepalivedconf.Stmt, context, reason string) error {
	where := context + ": "
	if context == "top" {
		where = ""
	}
	return fmt.Errorf("%s: %s%s is not supported by lvsrouter (%s)", s.Pos, where, s.Keyword(), reason)
}

// activeStmt reports whether keepalived reads s, as keepalivedconf
// decodes: a keyword line outside an @id conditional for another host
// (the expansion has applied the conditionals already).
func activeStmt(s *keepalivedconf.Stmt) bool {
	if s.Kind != keepalivedconf.KindStmt || len(s.Tokens) == 0 {
		return false
	}
	return s.Cond == "" || strings.HasPrefix(s.Cond, "@^")
}

// childContext is the context of the keywords inside the block of kw in
// context, or "" when that block holds values (addresses, names, routes)
// rather than keywords.
func childContext(context, kw string) string {
	switch context {
	case "top":
		switch kw {
		case "track_file", "vrrp_track_file":
			return "track_file"
		case "global_defs", "vrrp_instance", "vrrp_script", "vrrp_sync_group", "track_group",
			"vrrp_track_process", "garp_group", "SSL", "bfd_instance", "virtual_server":
			return kw
		}
	case "vrrp_instance":
		if kw == "authentication" {
			return kw
		}
	case "virtual_server":
		if kw == "real_server" {
			return kw
		}
	case "real_server":
		if strings.HasSuffix(kw, "_CHECK") || kw == "HTTP_GET" || kw == "SSL_GET" {
			return kw
		}
	case "HTTP_GET", "SSL_GET":
		if kw == "url" {
			return kw
		}
	case "SMTP_CHECK":
		if kw == "host" {
			return kw
		}
	}
	return ""
}
