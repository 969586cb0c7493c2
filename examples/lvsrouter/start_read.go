package main

import (
	"bytes"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/lvskit/lvskit/keepalivedconf"
)

// The start's read. A full read holds the syntax tree and typed
// configuration of the whole file at once, 20 to 30 times the file's
// size (90 MB of a 120 MB heap at 10,000 virtual servers × 4 real
// servers), and in a guest without hardware virtualization every fresh
// page of it is a slow fault. So the start reads a large file a batch of
// virtual_server blocks at a time: each batch is parsed (with the blocks
// that are not virtual servers: global_defs, instances, groups, what a
// virtual server's translation may read), decoded and translated, and
// only its services are kept; its tree is garbage before the batches
// after it are read. A worker parses and decodes its batches in one
// keepalivedconf.Arena, so that the second batch on reuses the first's
// statements, tokens, blocks and typed servers instead of fresh pages,
// and each batch translates its services into its window of the plan's
// one array. At 10,000 × 4 on the host the read allocates 46-49 MB
// instead of 131.9 (132k allocations instead of 243k), its heap peaks at
// 45-48 MB instead of 68 and the collector does not run (2026-12-07).
// In the guest (one vCPU, so one worker) the process holds 51 MiB at the
// read's end instead of 70; the read's time moved less than the guest's
// speed varies: 2.69 and 4.70 s against 2.98 and 5.23 s for the code
// before, in alternated runs.
//
// The rule that makes it safe, tested over generated and testdata
// configurations (TestStartReadEqualsFull): the plan equals the full
// read's. Whenever in doubt it reads the file in full: a file with
// includes or expansion directives, a layout the quick cut gets wrong,
// any error or warning (the full read reports them, with the same
// file:line:col), or a batch whose plan differs from the others outside
// its services.

// readBatchVS is how many virtual_server blocks one batch reads, and
// readBatchMin the number of virtual_server blocks from which the start
// reads in batches. Variables for tests.
var (
	readBatchVS  = 256
	readBatchMin = 2 * readBatchVS
)

// start is the router's first load: load (main.go) reading a large
// file in batches when it can (readBatches), else in full, and keeping
// what the next reload needs as load does. how says which, for the log.
// gc (may be nil) is told when the read is a full one.
func (ir *incReload) start(path string, hasInterface func(string) bool, gc *startGC) (p *Plan, warnings []error, how string, err error) {
	data, err := loadConfig.ReadFileInto(path, nil)
	ir.loaded = true
	if err != nil {
		return nil, nil, "full", err
	}
	if p, blocks, n := readBatches(path, data, hasInterface); p != nil {
		ir.recordBatches(path, data, p, blocks)
		return p, nil, fmt.Sprintf("%d batches", n), nil
	}
	gc.fullRead()
	p, warnings, err = ir.full(path, data, hasInterface)
	return p, warnings, "full", err
}

// heldMiB is the memory the process holds from the system, in MiB.
func heldMiB() uint64 { return heldBytes() >> 20 } // startgc.go

// recordBatches is record (reload_inc.go) for a plan read in batches,
// without warnings or directives, whose top-level blocks readBatches
// found (nil: a layout the incremental reload does not cover).
func (ir *incReload) recordBatches(path string, data []byte, p *Plan, blocks []topBlock) {
	why := ""
	switch {
	case bgpFile != "":
		why = "a --bgp file" // read on every load
	case blocks == nil:
		why = "unexpected block layout"
	}
	ir.setBase(path, data, p, blocks, why)
}

// batch is a run of virtual_server pieces of the file, read together.
type batch struct {
	pieces []keepalivedconf.TopPiece
	offs   []int // each piece's offset in the file
	// services is the batch's window of the plan's services, room for
	// one per virtual server: the plan's array when each batch fills
	// its window exactly, as it does without virtual_server groups.
	services []VirtualService
}

// batchResult is what a batch leaves: its plan (services and mail
// alerts are what the start keeps) and its blocks.
type batchResult struct {
	plan   *Plan
	blocks []topBlock
	ok     bool
}

// readBatches reads data in batches of readBatchVS virtual servers and
// returns the plan, checked as load checks it, with the file's top-level
// blocks (nil when their layout is not the incremental reload's) and the
// number of batches; a nil plan: read it in full instead. data is never
// written again: the batches parse it in place (Piece.Frozen) instead of
// copying it, 5.8 MB at 10,000 x 4, which the read's peak held as garbage
// (the translation keeps none of its strings: TestStartKeepsNoSource).
func readBatches(path string, data []byte, hasInterface func(string) bool) (p *Plan, blocks []topBlock, batches int) {
	pieces := keepalivedconf.CutTop(data)
	var ctx []keepalivedconf.TopPiece
	var ctxOffs []int
	vss, vsOffs := make([]keepalivedconf.TopPiece, 0, len(pieces)), make([]int, 0, len(pieces))
	off := 0
	for _, pc := range pieces {
		if kindOf(pc.Keyword, pc.Arg) == blockVS {
			pc.Frozen = true
			vss, vsOffs = append(vss, pc), append(vsOffs, off)
		} else {
			ctx, ctxOffs = append(ctx, pc), append(ctxOffs, off)
		}
		off += len(pc.Data)
	}
	if len(vss) < readBatchMin {
		return nil, nil, 0
	}
	// The context alone: it must parse cleanly, without directives or a
	// virtual server of its own, and translate without a warning.
	ctxPieces := joinPieces(data, ctx, ctxOffs)
	f, err := loadConfig.ParsePieces(path, ctxPieces)
	if err != nil || f.HasDirectives() {
		return nil, nil, 0
	}
	vsInCtx, nctx := splitTop(f.Stmts)
	if len(vsInCtx) > 0 {
		return nil, nil, 0
	}
	base, ok := translateClean(f, nil)
	if !ok {
		return nil, nil, 0
	}
	blocks, _ = piecesBlocks(data, pieceSpans(ctx, ctxOffs), f.Stmts)
	if blocks != nil {
		blocks = slices.Grow(blocks, len(vss))
	}
	// The batches, in order, a worker per processor (at most 4: each
	// holds a batch's tree).
	var bs []batch
	services := make([]VirtualService, len(vss))
	for lo := 0; lo < len(vss); lo += readBatchVS {
		hi := min(lo+readBatchVS, len(vss))
		bs = append(bs, batch{pieces: vss[lo:hi], offs: vsOffs[lo:hi], services: services[lo:lo:hi]})
	}
	res := make([]batchResult, len(bs))
	var next atomic.Int64
	var failed atomic.Bool
	work := func() {
		// a worker's batches reuse one arena: a batch's tree is garbage
		// once translated (the plan holds none of it)
		var a keepalivedconf.Arena
		for !failed.Load() {
			k := int(next.Add(1)) - 1
			if k >= len(bs) {
				return
			}
			res[k] = readBatch(&a, path, data, ctxPieces, nctx, bs[k], base)
			if !res[k].ok {
				failed.Store(true)
			}
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), 4, len(bs)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	if failed.Load() {
		return nil, nil, 0
	}
	// The plan: the context's, with every batch's services and mail
	// alerts in order.
	p = base
	inPlace := true
	lo := 0
	for k := range res {
		q := res[k].plan.Services
		hi := lo + len(bs[k].pieces)
		inPlace = inPlace && len(q) == hi-lo && (len(q) == 0 || &q[0] == &services[lo])
		lo = hi
	}
	if inPlace {
		p.Services = services
	} else {
		n := 0
		for _, r := range res {
			n += len(r.plan.Services)
		}
		p.Services = make([]VirtualService, 0, n)
		for k := range res {
			p.Services = append(p.Services, res[k].plan.Services...)
		}
	}
	for k := range res {
		q := res[k].plan
		p.Mail.Checks = mergeInto(p.Mail.Checks, q.Mail.Checks)
		p.Mail.Services = mergeInto(p.Mail.Services, q.Mail.Services)
		if blocks != nil && res[k].blocks != nil {
			blocks = append(blocks, res[k].blocks...)
		} else {
			blocks = nil
		}
		res[k] = batchResult{}
	}
	// As planOf, on the whole plan: the --bgp file, then the host checks.
	if loadBGP(p) != nil || len(p.Warnings) > 0 || checkPlan(p, hasInterface) != nil {
		return nil, nil, 0
	}
	if blocks != nil {
		slices.SortFunc(blocks, func(a, b topBlock) int { return a.start - b.start })
		for i := 1; i < len(blocks); i++ {
			if blocks[i].start < blocks[i-1].end {
				blocks = nil // two blocks on a line
				break
			}
		}
	}
	return p, slices.Clip(blocks), len(bs)
}

// readBatch parses, decodes and translates the context with the virtual
// servers of b in a; ok false if anything is not as in the full read.
func readBatch(a *keepalivedconf.Arena, path string, data []byte, ctx []keepalivedconf.Piece, nctx int, b batch, base *Plan) batchResult {
	pieces := joinPieces(data, b.pieces, b.offs)
	all := make([]keepalivedconf.Piece, 0, len(ctx)+len(pieces))
	// In file order: a virtual server's decoding reads nothing of the
	// context, but the context's blocks keep their order.
	i, j := 0, 0
	for i < len(ctx) || j < len(pieces) {
		if j == len(pieces) || i < len(ctx) && ctx[i].Line < pieces[j].Line {
			all = append(all, ctx[i])
			i++
		} else {
			all = append(all, pieces[j])
			j++
		}
	}
	f, err := loadConfig.ParsePiecesIn(a, path, all)
	if err != nil || f.HasDirectives() {
		return batchResult{}
	}
	vs, other := splitTop(f.Stmts)
	if len(vs) != len(b.pieces) || other != nctx {
		return batchResult{} // a piece held other than one virtual server
	}
	blocks, _ := piecesBlocks(data, pieceSpans(b.pieces, b.offs), vs)
	p, ok := translateClean(f, b.services)
	if !ok || !sameOutsideServices(base, p) {
		return batchResult{}
	}
	return batchResult{plan: p, blocks: blocks, ok: true}
}

// splitTop returns the top-level virtual_server blocks by address or
// fwmark among stmts, and how many other statements there are, comments
// not counted.
func splitTop(stmts []*keepalivedconf.Stmt) (vs []*keepalivedconf.Stmt, other int) {
	for _, s := range stmts {
		switch {
		case s.Kind == keepalivedconf.KindComment:
		case kindOf(s.Keyword(), s.Arg(0)) == blockVS:
			vs = append(vs, s)
		default:
			other++
		}
	}
	return vs, other
}

// translateClean is planOf's translation of f (translateParsed), without
// the host checks, its services appended to services; ok only without an
// error or a warning.
func translateClean(f *keepalivedconf.File, services []VirtualService) (*Plan, bool) {
	p, warnings, err := translateParsed(f, services)
	if err != nil || len(warnings) > 0 || len(p.Warnings) > 0 {
		return nil, false
	}
	return p, true
}

// joinPieces makes one Piece of each run of pieces that follow each
// other in data (offs are their offsets).
func joinPieces(data []byte, pcs []keepalivedconf.TopPiece, offs []int) []keepalivedconf.Piece {
	var out []keepalivedconf.Piece
	from := 0 // the offset of out's last piece
	for i, pc := range pcs {
		end := offs[i] + len(pc.Data)
		if n := len(out); n > 0 && offs[i-1]+len(pcs[i-1].Data) == offs[i] {
			out[n-1].Data = data[from:end:end]
			continue
		}
		from = offs[i]
		out = append(out, pc.Piece)
	}
	return out
}

// pieceSpan is where a piece of data is: its first line and offset, and
// the line and offset of its last line when the piece ends with a
// newline (last 0: unknown).
type pieceSpan struct {
	line, off, last, lastOff int
}

// pieceSpans returns the spans of pieces at offsets offs.
func pieceSpans(pcs []keepalivedconf.TopPiece, offs []int) []pieceSpan {
	spans := make([]pieceSpan, len(pcs))
	for i, pc := range pcs {
		sp := pieceSpan{line: pc.Line, off: offs[i]}
		if n := len(pc.Data); n > 0 && pc.Data[n-1] == '\n' {
			sp.last = pc.Line + pc.Newlines - 1
			sp.lastOff = offs[i] + bytes.LastIndexByte(pc.Data[:n-1], '\n') + 1
		}
		spans[i] = sp
	}
	return spans
}

// mergeInto copies src into dst, making dst if it is nil.
func mergeInto[M ~map[K]V, K comparable, V any](dst, src M) M {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(M, len(src))
	}
	maps.Copy(dst, src)
	return dst
}

// piecesBlocks returns the byte ranges of the top-level blocks of stmts,
// parsed from pieces of data at spans (in order), walking only the
// pieces' bytes; or why the incremental path cannot use them.
func piecesBlocks(data []byte, spans []pieceSpan, stmts []*keepalivedconf.Stmt) ([]topBlock, string) {
	blocks := make([]topBlock, 0, len(stmts))
	// line and off walk the piece k forward: off is the start of line.
	k, line, off := -1, 0, 0
	seek := func(l int) int {
		j := max(k, 0)
		for j+1 < len(spans) && spans[j+1].line <= l {
			j++
		}
		if j >= len(spans) || l < spans[j].line {
			return -1
		}
		if sp := spans[j]; sp.last != 0 && l == sp.last {
			// A block's closing line is usually its piece's last:
			// found from the piece's end, not by walking its lines.
			k, line, off = j, l, sp.lastOff
			return off
		}
		if j != k || l < line {
			k, line, off = j, spans[j].line, spans[j].off
		}
		for line < l {
			i := bytes.IndexByte(data[off:], '\n')
			if i < 0 {
				return -1
			}
			off += i + 1
			line++
		}
		return off
	}
	at := func(pos keepalivedconf.Position) int {
		s := seek(pos.Line)
		if s < 0 || s+pos.Col-1 >= len(data) {
			return -1
		}
		return s + pos.Col - 1
	}
	prevEnd := 0
	for _, s := range stmts {
		if s.Kind == keepalivedconf.KindComment {
			continue
		}
		if s.Block == nil || s.Block.Unclosed {
			return nil, "a top-level statement outside a block"
		}
		start := seek(s.Pos.Line)
		if start < prevEnd || start < 0 {
			return nil, "two top-level blocks on a line"
		}
		if !onlyBlanksB(data[start : start+s.Pos.Col-1]) {
			return nil, "a top-level block not at a line start"
		}
		open := at(s.Block.Open)
		if open < 0 || data[open] != '{' {
			return nil, "unexpected block layout"
		}
		closing := at(s.Block.Close)
		if closing < 0 || data[closing] != '}' {
			return nil, "unexpected block layout"
		}
		end := len(data)
		if nl := bytes.IndexByte(data[closing:], '\n'); nl >= 0 {
			end = closing + nl + 1
		}
		b := topBlock{start: start, open: open, close: closing, end: end, line: s.Pos.Line, kind: kindOf(s.Keyword(), s.Arg(0))}
		blocks = append(blocks, b)
		prevEnd = b.end
	}
	return slices.Clip(blocks), ""
}
