package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/lvskit/lvskit/keepalivedconf"
)

// incReload makes a reload that changed one virtual_server block re-read
// only that block. It keeps, from the last accepted load, a fingerprint
// of the configuration file by top-level block (keepalivedconf.Sums: 32
// bytes a block, not the file's bytes nor the parse trees, 20 to 30 times
// the file's size), the bytes of the blocks that are not virtual
// servers, and the plan that load gave. On a reload it sums the file's
// blocks (keepalivedconf.ParseConfig.DiffSums, one pass through a
// mapping); when only the segment of one virtual_server block with an
// address or fwmark header changed (the block and the blank or comment
// lines up to the next), it parses that segment together with the
// blocks that are not virtual servers (global_defs, VRRP instances,
// groups: what a virtual server's translation may depend on), each at
// its line so that errors name the right file:line:col, runs the same
// translation and host checks as a full load, and splices the block's
// service into a copy of the last plan. Whenever in doubt it reads the
// whole file as a start does: see fallback reasons in try.
//
// A reload touches no fresh memory in proportion to the file, and
// copies none of it on the way to the kernel: it sums the file through
// a mapping, copying out only the changed segment's bytes; parses,
// translates and splices the block's service into a Services array the
// Router has released (or a copy the last full read made). In a guest
// without hardware virtualization each fresh page is a slow fault and a
// pass over 5.8 MB costs milliseconds: at 10,000 virtual servers × 4 real
// servers the splice took 8.4 ms into fresh memory and 1.2 ms reusing it
// (one TCG guest, 2026-12-06). The price is one Services array and the
// sums (320 KB), kept between reloads; the file's 5.8 MB are not kept.
//
// The rule that makes it safe, tested as a property in
// reload_inc_test.go: the plan (or the error) equals the full read's.
// It rests on the sums: a block whose sum is unchanged is taken as
// unchanged (keepalivedconf.Sum: an edit within one 8-byte word, a
// weight, is always seen; another edit is missed with a chance of
// about 2^-64 per lane, four lanes; no defence against a file made to
// collide, which its writer could as well make say anything).
// The plan is shared with the router, which only reads it: a reload
// builds a new Plan (a Services array of its own; the mail alert maps
// only when the block's alerts changed) and never writes to a plan the
// router may still read: the array it reuses is one the Router has
// released (reload_inc_apply.go).
type incReload struct {
	log *slog.Logger
	// path is the last accepted file, sums its fingerprint (segment
	// 0 the lines before the first block, segment i+1 block i and the
	// lines up to the next), blocks its top-level blocks in order (their
	// line and kind kept current; their byte offsets the file's when it
	// was read in full), and ctx the bytes of its blocks of kind
	// blockContext (nil for the others); plan is what it gave (before
	// restrict); nil plan: no base (the first load, or a configuration
	// the incremental path does not cover; why is in none).
	path   string
	sums   *keepalivedconf.Sums
	blocks []topBlock
	ctx    [][]byte
	plan   *Plan
	none   string
	// warmBlock is the last virtual_server block's bytes, for warm.
	warmBlock []byte
	// loaded is set after the first load: later ones are reloads.
	loaded bool
	// readTook is how long the last load took to compare the file with
	// the base (the incremental path logs it with its other phases).
	readTook time.Duration
	// scratch holds the changed segment's bytes of the last compare
	// (its capacity reused by the next): safe because nothing keeps
	// them, ParsePieces copies what it parses, and the plan holds
	// strings of those copies (TestReloadReusesReadBuffer).
	scratch []byte
	// prev is the Services array of the plan plan was spliced from (or a
	// copy of plan's when plan was read in full), and prevDiff the
	// positions where the two differ: once the Router has let go of that
	// plan, the next splice reuses its array (nextServices).
	prev     []VirtualService
	prevDiff []int
	// prevOwn says prev is a copy of plan's services that incReload made
	// and nobody else holds (at a full read): the first splice after it
	// takes it without waiting for the Router's release.
	prevOwn bool
	// released is the Services array the Router released last (release).
	released struct {
		sync.Mutex
		s []VirtualService
	}
}

// reloadReuse is false only in a benchmark comparing reloads into fresh
// memory (the compare's buffer, the splice's Services array) with reloads
// that reuse it: LVSKIT_RELOAD_FRESH=1 in the VM benchmarks.
var reloadReuse = true

// topBlock is one top-level statement with a { } block: data[start:end]
// from the beginning of its line to the end of the line of its '}' (at
// close), its '{' at open.
type topBlock struct {
	start, open, close, end int
	line                    int
	kind                    blockKind
}

type blockKind uint8

const (
	blockContext blockKind = iota // read with every changed block
	blockVS                       // virtual_server by address or fwmark
	blockVSGroup                  // virtual_server group NAME: never re-read alone
)

// kindOf is the kind of a top-level block by its keyword and first
// argument.
func kindOf(keyword, arg string) blockKind {
	switch {
	case keyword != "virtual_server":
		return blockContext
	case arg == "group":
		return blockVSGroup
	}
	return blockVS
}

// Reload paths, as logged.
const (
	pathFull        = "full"
	pathIncremental = "incremental"
	pathUnchanged   = "unchanged"
)

// load is load (main.go) remembering what the next reload needs: the
// incremental path when it applies, else the full read. It logs which.
// serve runs a reload's load boosted (reload_inc_boost.go).
func (ir *incReload) load(path string, hasInterface func(string) bool) (*Plan, []error, error) {
	first := !ir.loaded
	t0 := time.Now()
	u0, s0 := cpuTimes()
	p, w, how, err := ir.loadPath(path, hasInterface)
	ir.loaded = true
	if ir.log != nil && !first {
		// The process's CPU time meanwhile, the checks' included: on one
		// CPU it tells the read's own cost from the wait for the CPU.
		// total is the whole load's time (the phases' sum and the rest).
		u1, s1 := cpuTimes()
		ir.log.Info("reload", append(how, "total", time.Since(t0).Round(time.Microsecond),
			"user", (u1-u0).Round(time.Millisecond), "sys", (s1-s0).Round(time.Millisecond))...)
	}
	return p, w, err
}

// loadPath is load, also returning the path it took as slog attributes.
func (ir *incReload) loadPath(path string, hasInterface func(string) bool) (*Plan, []error, []any, error) {
	reason := ir.none
	switch {
	case ir.plan == nil && reason == "":
		reason = "first load"
	case ir.plan != nil && ir.path != path:
		reason = "another file"
	case ir.plan != nil:
		t0 := time.Now()
		buf := ir.scratch
		if !reloadReuse {
			buf = nil
		}
		d, err := loadConfig.DiffSums(path, ir.sums, buf)
		if err != nil {
			return nil, nil, []any{"path", pathFull, "reason", "read failed"}, err
		}
		ir.scratch = d.Changed[:0]
		ir.readTook = time.Since(t0)
		traceMark("compared")
		p, how, ok, err := ir.try(d, hasInterface)
		if ok {
			return p, nil, how, err
		}
		reason = how[len(how)-1].(string)
	}
	data, err := loadConfig.ReadFileInto(path, nil)
	if err != nil {
		return nil, nil, []any{"path", pathFull, "reason", "read failed"}, err
	}
	p, w, err := ir.full(path, data, hasInterface)
	return p, w, []any{"path", pathFull, "reason", reason}, err
}

// full reads the whole file as a start does, and records the base for
// the next reload when the load succeeds.
func (ir *incReload) full(path string, data []byte, hasInterface func(string) bool) (*Plan, []error, error) {
	f, err := loadConfig.ParseData(path, data)
	if err != nil {
		return nil, nil, err
	}
	p, w, err := dedupWarnings(planOf(f, hasInterface))
	if err != nil {
		return p, w, err // the base stays the running configuration's
	}
	ir.record(path, data, f, p, w)
	return p, w, err
}

// record makes data, f and p the base of the next reload, when the
// incremental path can cover it.
func (ir *incReload) record(path string, data []byte, f *keepalivedconf.File, p *Plan, warnings []error) {
	why := func() string {
		switch {
		case bgpFile != "":
			return "a --bgp file" // read on every load
		case len(warnings) > 0:
			return "the configuration has warnings"
		}
		if f.HasDirectives() {
			return "includes or expansion directives"
		}
		return ""
	}()
	var blocks []topBlock
	if why == "" {
		blocks, why = topBlocks(data, f)
	}
	ir.setBase(path, data, p, blocks, why)
}

// setBase makes data and p, with data's top-level blocks, the base of
// the next reload; a reason why not leaves none. It keeps data's sums
// and the bytes of its context blocks, not data.
func (ir *incReload) setBase(path string, data []byte, p *Plan, blocks []topBlock, why string) {
	ir.path, ir.sums, ir.blocks, ir.ctx, ir.plan, ir.none, ir.warmBlock = "", nil, nil, nil, nil, "", nil
	ir.prev, ir.prevDiff, ir.prevOwn = nil, nil, false
	if why == "" && len(blocks) == 0 {
		why = "no top-level block"
	}
	if why != "" {
		ir.none = why
		return
	}
	ends := make([]int, len(blocks)+1)
	ir.ctx = make([][]byte, len(blocks))
	for i, b := range blocks {
		ends[i] = b.start
		if b.kind == blockContext {
			ir.ctx[i] = bytes.Clone(data[b.start:b.end])
		}
		if b.kind == blockVS {
			ir.warmBlock = data[b.start:b.end]
		}
	}
	ends[len(blocks)] = len(data)
	ir.warmBlock = bytes.Clone(ir.warmBlock)
	ir.path, ir.sums, ir.blocks, ir.plan = path, keepalivedconf.NewSums(data, ends), blocks, p
	// The first splice's array: a copy nobody else holds, touched now
	// (the later ones reuse what the Router releases).
	ir.prev, ir.prevDiff, ir.prevOwn = slices.Clone(p.Services), nil, true
}

// topBlocks returns the byte ranges of the top-level blocks of f, parsed
// from data, or why the incremental path cannot use them.
func topBlocks(data []byte, f *keepalivedconf.File) ([]topBlock, string) {
	return piecesBlocks(data, []pieceSpan{{line: 1}}, f.Stmts) // start_read.go
}

func onlyBlanksB(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// try reloads incrementally the file that differs from the base by d.
// ok false means: read it all, for the reason that is the last element
// of how.
func (ir *incReload) try(d keepalivedconf.SumChange, hasInterface func(string) bool) (p *Plan, how []any, ok bool, err error) {
	fall := func(reason string) (*Plan, []any, bool, error) {
		return nil, []any{"path", pathFull, "reason", reason}, false, nil
	}
	if bgpFile != "" {
		return fall("a --bgp file")
	}
	t1 := time.Now()
	n := len(ir.sums.Ends)
	if d.First == n && d.End == n && len(d.Changed) == 0 {
		q := *ir.plan // a Plan of its own: serve marks it host-checked
		return &q, []any{"path", pathUnchanged}, true, nil
	}
	// Segment i+1 is block i and the lines after it up to the next.
	i := d.First - 1
	if d.End != d.First+1 || i < 0 {
		return fall("the change is outside a virtual_server block")
	}
	b := ir.blocks[i]
	switch b.kind {
	case blockContext:
		return fall("the change is in a block other than virtual_server")
	case blockVSGroup:
		return fall("the change is in a virtual_server group block")
	}
	// The changed segment's bytes, the only ones of the new file read
	// again. Its lines before: those of the blocks after it move.
	blk := d.Changed
	dLines := 0
	if i+1 < len(ir.blocks) {
		dLines = bytes.Count(blk, []byte{'\n'}) - (ir.blocks[i+1].line - b.line)
	}
	pieces, nctx := ir.pieces(i, blk, dLines)
	blockPos := fmt.Sprintf("%s:%d", ir.path, b.line)
	f, err := loadConfig.ParsePieces(ir.path, pieces)
	traceMark("parsed")
	if err != nil {
		return fall("the block does not parse alone")
	}
	// Expansion directives ($NAME, ~SEQ, @id, include) are read by a
	// full load.
	if f.HasDirectives() {
		return fall("the block has an expansion directive or include")
	}
	if vs, other := splitTop(f.Stmts); len(vs) != 1 || other != nctx { // start_read.go
		return fall("the change splits, joins or retypes blocks")
	}
	np, w, err := planOf(f, hasInterface)
	t2 := time.Now()
	traceMark("translated")
	// The phases: reading the file, comparing it with the last one,
	// parsing and translating the block, and splicing its service in.
	inc := []any{"path", pathIncremental, "block", blockPos, "compare", ir.readTook.Round(time.Microsecond),
		"translate", t2.Sub(t1).Round(time.Microsecond)}
	if len(w) > 0 {
		return fall("the block has warnings")
	}
	if err != nil {
		return nil, inc, true, err
	}
	if len(np.Services) != 1 {
		return fall("the block gives other than one service")
	}
	k := -1
	// Two fields of each service, not a copy of each (10,000 × its size).
	addr, mark := np.Services[0].Service.Addr, np.Services[0].Service.FWMark
	for j := range ir.plan.Services {
		s := &ir.plan.Services[j].Service
		if s.Addr == addr && s.FWMark == mark {
			if k >= 0 {
				return fall("two services share the block's address")
			}
			k = j
		}
	}
	if k < 0 {
		return fall("the block's service is not in the running plan")
	}
	if !sameOutsideServices(ir.plan, np) {
		return fall("the block changes more than its service")
	}
	q := *ir.plan
	if !spliceMail(&q.Mail, &ir.plan.Services[k], &np.Mail, &np.Services[0]) {
		return fall("the block's mail alerts are not its own")
	}
	q.Services = ir.nextServices() // reload_inc_apply.go
	q.Services[k] = np.Services[0]
	q.setDelta(ir.plan, []int{k})
	// The new base: the changed segment's sum, and the blocks after it
	// a few lines further.
	ir.prev, ir.prevDiff, ir.prevOwn = ir.plan.Services, []int{k}, false
	ir.plan = &q
	ir.sums.Replace(i+1, blk)
	for j := i + 1; j < len(ir.blocks); j++ {
		ir.blocks[j].line += dLines
	}
	traceMark("spliced")
	return ir.plan, append(inc, "splice", time.Since(t2).Round(time.Microsecond)), true, nil
}

// pieces returns what ParsePieces reads for a change in block i: its
// bytes now, blk, and the context blocks (those after it dLines lines
// further), and how many context blocks there are.
func (ir *incReload) pieces(i int, blk []byte, dLines int) ([]keepalivedconf.Piece, int) {
	var pieces []keepalivedconf.Piece
	nctx := 0
	for j, c := range ir.blocks {
		switch {
		case j == i:
			pieces = append(pieces, keepalivedconf.Piece{Data: blk, Line: c.line})
		case c.kind != blockContext:
		case j < i:
			pieces = append(pieces, keepalivedconf.Piece{Data: ir.ctx[j], Line: c.line})
			nctx++
		default:
			pieces = append(pieces, keepalivedconf.Piece{Data: ir.ctx[j], Line: c.line + dLines})
			nctx++
		}
	}
	return pieces, nctx
}

// warm runs the incremental read of the base's last virtual_server
// block, unchanged, as a reload would, and drops the result: the first
// reload then finds the code and memory of the read's path in use. In
// the guest without hardware virtualization the first reload after a
// start took 20 to 30 ms longer than the next ones, its parse and
// translation of one block 15 to 25 ms of it (code run for the first
// time is translated, memory touched first is faulted in). It changes
// nothing: serve runs it before it takes the first SIGHUP.
func (ir *incReload) warm(hasInterface func(string) bool) {
	if ir.plan == nil {
		return
	}
	blk := ir.warmBlock
	ir.warmBlock = nil // once
	i := len(ir.blocks) - 1
	for i >= 0 && ir.blocks[i].kind != blockVS {
		i--
	}
	if i < 0 {
		return
	}
	pieces, _ := ir.pieces(i, blk, 0)
	f, err := loadConfig.ParsePieces(ir.path, pieces)
	if err != nil || f.HasDirectives() {
		return
	}
	splitTop(f.Stmts)
	np, _, err := planOf(f, hasInterface)
	if err != nil || len(np.Services) != 1 || !sameOutsideServices(ir.plan, np) {
		return
	}
	for k := range ir.plan.Services {
		if s := &ir.plan.Services[k]; s.Service.Addr == np.Services[0].Service.Addr && s.Service.FWMark == np.Services[0].Service.FWMark {
			m := ir.plan.Mail // a copy: spliceMail clones the maps it changes
			spliceMail(&m, s, &np.Mail, &np.Services[0])
			return
		}
	}
}

// sameOutsideServices reports whether the plans a and b (b from the
// changed block and the context blocks alone) agree on everything but
// their services: otherwise the block changed something beyond its
// service, or a part of the plan depends on every service, and only a
// full read gives it right.
func sameOutsideServices(a, b *Plan) bool {
	x, y := *a, *b
	x.Services, y.Services = nil, nil
	x.hostChecked, y.hostChecked = false, false
	x.delta, y.delta = nil, nil
	// The mail alerts of checks and services are keyed by them
	// (spliceMail).
	x.Mail.Checks, y.Mail.Checks = nil, nil
	x.Mail.Services, y.Mail.Services = nil, nil
	return reflect.DeepEqual(x, y)
}

// spliceMail replaces, in m (a copy of the running plan's), the mail
// alerts of the service old by those of its successor, from nm, the
// plan of the changed block (whose alerts must all be the new
// service's). m's maps are copied before they change: the running plan
// keeps its own.
func spliceMail(m *MailPlan, old *VirtualService, nm *MailPlan, new *VirtualService) bool {
	var newIDs int
	for _, r := range new.Reals {
		for _, c := range r.Checks {
			if _, ok := nm.Checks[c.ID]; ok {
				newIDs++
			}
		}
	}
	if newIDs != len(nm.Checks) {
		return false
	}
	oldKey, newKey := vsString(old.Service.Key()), vsString(new.Service.Key())
	if _, ok := nm.Services[newKey]; len(nm.Services) > 1 || len(nm.Services) == 1 && !ok {
		return false
	}
	// A weight edit keeps the checks and their alerts: the 40,000
	// entries at 10k × 4 are then not copied.
	changed := false
	for id, a := range nm.Checks {
		if had, ok := m.Checks[id]; !ok || had != a {
			changed = true
		}
	}
	for _, r := range old.Reals {
		for _, c := range r.Checks {
			if _, ok := m.Checks[c.ID]; ok {
				if _, still := nm.Checks[c.ID]; !still {
					changed = true
				}
			}
		}
	}
	if changed {
		m.Checks = maps.Clone(m.Checks)
		for _, r := range old.Reals {
			for _, c := range r.Checks {
				delete(m.Checks, c.ID)
			}
		}
		if m.Checks == nil && len(nm.Checks) > 0 {
			m.Checks = make(map[string]RealAlert, len(nm.Checks))
		}
		maps.Copy(m.Checks, nm.Checks)
		if len(m.Checks) == 0 {
			m.Checks = nil
		}
	}
	had, hadOK := m.Services[oldKey]
	now, nowOK := nm.Services[newKey]
	if hadOK != nowOK || had != now || oldKey != newKey && hadOK {
		m.Services = maps.Clone(m.Services)
		delete(m.Services, oldKey)
		if m.Services == nil {
			m.Services = map[string]ServiceAlert{}
		}
		maps.Copy(m.Services, nm.Services)
		if len(m.Services) == 0 {
			m.Services = nil
		}
	}
	return true
}
