package main

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// NotifyFIFOs are global_defs' notify_fifo (every event), vrrp_notify_fifo
// (VRRP instances and groups) and lvs_notify_fifo (virtual and real
// servers): FIFO paths that get one line per event in keepalived's format.
type NotifyFIFOs struct {
	All, VRRP, LVS string `json:",omitempty"`
}

// fifoKeywords are the global_defs keywords NotifyFIFOs reads.
var fifoKeywords = map[string]bool{"notify_fifo": true, "vrrp_notify_fifo": true, "lvs_notify_fifo": true}

// notifyFIFOs reads the FIFO paths from global_defs. A user or group after
// the path concerns keepalived's notify_fifo_script, which lvsrouter does
// not run: it is refused with its place. As in keepalived, a vrrp or lvs
// FIFO naming the global one is dropped (each line is written once).
func notifyFIFOs(g *keepalivedconf.GlobalDefs, p *Plan) []error {
	if g == nil || g.Stmt == nil || g.Stmt.Block == nil {
		return nil
	}
	var errs []error
	for _, s := range g.Stmt.Block.Stmts {
		kw := s.Keyword()
		if !fifoKeywords[kw] {
			continue
		}
		args := s.Args()
		if len(args) == 0 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: No %s name specified", s.Pos, kw))
			continue
		}
		if len(args) > 1 {
			errs = append(errs, fmt.Errorf("%s: global_defs: %s user/group is not supported by lvsrouter (%s)", s.ArgPos(2), kw, rFIFOScript))
		}
		switch kw {
		case "notify_fifo":
			p.FIFOs.All = args[0]
		case "vrrp_notify_fifo":
			p.FIFOs.VRRP = args[0]
		case "lvs_notify_fifo":
			p.FIFOs.LVS = args[0]
		}
	}
	if p.FIFOs.VRRP == p.FIFOs.All {
		p.FIFOs.VRRP = ""
	}
	if p.FIFOs.LVS == p.FIFOs.All {
		p.FIFOs.LVS = ""
	}
	return errs
}

// fifoFile is an open notify FIFO.
type fifoFile interface {
	WriteString(string) (int, error)
	Close() error
}

// fifoWriter writes event lines to the notify FIFOs. A FIFO is created
// when missing and opened read-write and non-blocking, as keepalived does,
// so that a missing or slow reader never blocks the router (lines that do
// not fit are lost).
type fifoWriter struct {
	mu             sync.Mutex
	cfg            NotifyFIFOs
	all, vrrp, lvs fifoFile
}

// setFIFOs opens the plan's FIFOs, keeping those already open.
func (o *opsState) setFIFOs(cfg NotifyFIFOs) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fifo == nil {
		o.fifo = &fifoWriter{}
	}
	return o.fifo.set(cfg)
}

func (w *fifoWriter) set(cfg NotifyFIFOs) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	reopen := func(f *fifoFile, old, path string) {
		if old == path && *f != nil {
			return
		}
		if *f != nil {
			(*f).Close()
			*f = nil
		}
		nf, err := openFIFO(path)
		if err != nil {
			errs = append(errs, err)
		}
		*f = nf
	}
	reopen(&w.all, w.cfg.All, cfg.All)
	reopen(&w.vrrp, w.cfg.VRRP, cfg.VRRP)
	reopen(&w.lvs, w.cfg.LVS, cfg.LVS)
	w.cfg = cfg
	if len(errs) > 0 {
		return fmt.Errorf("%v", errs)
	}
	return nil
}

func (w *fifoWriter) close() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range []fifoFile{w.all, w.vrrp, w.lvs} {
		if f != nil {
			f.Close()
		}
	}
	w.all, w.vrrp, w.lvs = nil, nil, nil
}

// write sends a VRRP line to notify_fifo and vrrp_notify_fifo.
func (w *fifoWriter) write(line string) { w.send(line, false) }

// writeLVS sends a VS or RS line to notify_fifo and lvs_notify_fifo.
func (w *fifoWriter) writeLVS(line string) { w.send(line, true) }

func (w *fifoWriter) send(line string, lvs bool) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	other := w.vrrp
	if lvs {
		other = w.lvs
	}
	for _, f := range []fifoFile{w.all, other} {
		if f != nil {
			f.WriteString(line + "\n")
		}
	}
}

// trio is keepalived's inet_sockaddrtotrio: "[10.0.0.1]:tcp:80".
func trio(a netip.AddrPort, proto ipvs.Protocol) string {
	p := strings.ToLower(proto.String())
	if proto == 0 {
		p = "none"
	}
	return fmt.Sprintf("[%s]:%s:%d", a.Addr().Unmap(), p, a.Port())
}

// vsString is keepalived's FMT_VS: "FWM 80" or the address trio.
func vsString(k ipvs.ServiceKey) string {
	if k.FWMark != 0 {
		return fmt.Sprintf("FWM %d", k.FWMark)
	}
	return trio(k.Addr, k.Protocol)
}

// setPlan makes p the plan whose positions the reports name (Load, with
// r.mu held, before any report for p); old and same are as for
// opsReals.follow. Once it returns, o reads nothing of an earlier plan,
// whose Services array the incremental reload may reuse.
func (o *opsState) setPlan(old, p *Plan, same bool) {
	o.mu.Lock()
	o.reals.follow(old, p, same)
	o.mu.Unlock()
}

// noReals reports whether no real server's or service's state was
// reported yet.
func (o *opsState) noReals() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.reals.any
}

// realStates records the health of some real servers of service i of p,
// whose first real server is the k-th of p, as the router applies it and,
// on a change, writes keepalived's "RS <rs> <vs> UP|DOWN" line: in order,
// under one hold of the lock (a start reports 40,000 real servers).
func (o *opsState) realStates(p *Plan, i, k int, changes []realChange) {
	var lines []string
	o.mu.Lock()
	o.reals.follow(nil, p, false)
	vs := &p.Services[i]
	for _, c := range changes {
		at := k + int(c.j)
		st, seen := o.reals.get(at)
		if seen && st.up == c.up {
			continue
		}
		if seen {
			st.transitions++
			key := vs.Service.Key()
			lines = append(lines, fmt.Sprintf("RS %s %s %s", trio(vs.Reals[c.j].Dest.Addr, key.Protocol), vsString(key), upDown(c.up)))
		}
		st.up = c.up
		o.reals.set(at, st)
	}
	f := o.fifo
	o.mu.Unlock()
	for _, l := range lines {
		f.writeLVS(l)
	}
}

// serviceState records the quorum of service i of p and, on a change,
// writes keepalived's "VS <vs> UP|DOWN" line.
func (o *opsState) serviceState(p *Plan, i int, up bool) {
	o.mu.Lock()
	o.reals.follow(nil, p, false)
	was, seen := o.reals.setQuorum(i, up)
	f := o.fifo
	o.mu.Unlock()
	if seen && was != up {
		f.writeLVS(fmt.Sprintf("VS %s %s", vsString(p.Services[i].Service.Key()), upDown(up)))
	}
}

func upDown(up bool) string {
	if up {
		return "UP"
	}
	return "DOWN"
}
