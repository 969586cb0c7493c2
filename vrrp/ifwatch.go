package vrrp

import (
	"log/slog"
	"net/netip"
	"slices"
	"sync"
)

// ifWatch hands the link and address changes the Router's one netlink
// subscription reports to the instances' interface trackers (track_interface,
// an instance's own interface and VMAC) and source-address trackers. A
// subscription per tracker would cost a socket and a reading goroutine
// each, and vishvananda/netlink's reader keeps a 64 KiB buffer on its
// stack (128 KiB stacks: 250 MiB for a thousand instances); each would
// also decode every address added anywhere, a million messages when a
// thousand masters add their VIPs. Here each change is decoded once and
// goes to the trackers registered for its link name or address.
//
// A tracker reads the current state when it is added, under mu: the
// subscription is open by then, so a change after that read is reported
// again and one before it is not reported after a newer state.
type ifWatch struct {
	// read reads the links named (every link when names is nil) and,
	// with addrs, their addresses (the Router's netlink handle).
	read func(names []string, addrs bool) (ifState, error)
	log  *slog.Logger

	mu    sync.Mutex
	links map[string][]*linkTracker
	srcs  map[netip.Addr][]*srcTracker
}

// ifState is what the kernel reported of some links and addresses.
type ifState struct {
	links map[string]linkState   // by name
	addrs map[netip.Addr][]int32 // the indexes of the links holding each address
}

// linkState is one link as the kernel reported it.
type linkState struct {
	index int32
	up    bool // linkUp
}

// linkTracker reports the links in tracked under prefix+name.
type linkTracker struct {
	prefix  string
	tracked []TrackInterface
	post    func(key string, st trackStatus)
}

// report posts what link name being up (or not) contributes.
func (t *linkTracker) report(name string, up bool) {
	for _, ti := range t.tracked {
		if ti.Name == name {
			t.post(t.prefix+ti.Name, ifaceStatus(ti, up))
		}
	}
}

// names are the distinct links t tracks.
func (t *linkTracker) names() []string {
	var names []string
	for _, ti := range t.tracked {
		if !slices.Contains(names, ti.Name) {
			names = append(names, ti.Name)
		}
	}
	return names
}

// sync reports the links of st that t tracks; one that does not exist
// reports nothing (until it appears).
func (t *linkTracker) sync(st ifState) {
	for _, name := range t.names() {
		if l, ok := st.links[name]; ok {
			t.report(name, l.up)
		}
	}
}

// srcTracker follows whether src is an address of the link ifname.
type srcTracker struct {
	src     netip.Addr
	ifname  string
	index   int32 // ifname's index; 0: unknown, any link matches
	present bool
	post    func(present bool)
}

// sync takes from st whether t's address is on its link and reports it;
// a failed read (ok false) counts as missing.
func (t *srcTracker) sync(st ifState, ok bool) {
	t.index, t.present = 0, false
	if l, found := st.links[t.ifname]; found && ok {
		t.index = l.index
		t.present = slices.Contains(st.addrs[t.src], l.index)
	}
	t.post(t.present)
}

// addLinks registers t for each link it tracks and reports their states;
// an error is the kernel's answer to reading them.
func (w *ifWatch) addLinks(t *linkTracker) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.links == nil {
		w.links = map[string][]*linkTracker{}
	}
	names := t.names()
	for _, name := range names {
		w.links[name] = append(w.links[name], t)
	}
	st, err := w.read(names, false)
	t.sync(st)
	return err
}

// removeLinks forgets t: it reports nothing more.
func (w *ifWatch) removeLinks(t *linkTracker) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, name := range t.names() {
		l := slices.DeleteFunc(w.links[name], func(o *linkTracker) bool { return o == t })
		if len(l) == 0 {
			delete(w.links, name)
		} else {
			w.links[name] = l
		}
	}
}

// addSource registers t and reports whether its address is there; an
// error is the kernel's answer to reading it.
func (w *ifWatch) addSource(t *srcTracker) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.srcs == nil {
		w.srcs = map[netip.Addr][]*srcTracker{}
	}
	w.srcs[t.src] = append(w.srcs[t.src], t)
	st, err := w.read([]string{t.ifname}, true)
	t.sync(st, err == nil)
	return err
}

// removeSource forgets t: it reports nothing more.
func (w *ifWatch) removeSource(t *srcTracker) {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := slices.DeleteFunc(w.srcs[t.src], func(o *srcTracker) bool { return o == t })
	if len(l) == 0 {
		delete(w.srcs, t.src)
	} else {
		w.srcs[t.src] = l
	}
}

// changed passes one reported change to the trackers it concerns: every
// report of a tracked link (as a link subscription gave them), and a
// source address coming or going.
func (w *ifWatch) changed(c netChange) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch c.key.kind {
	case keyLink:
		for _, t := range w.links[c.name] {
			t.report(c.name, c.up && !c.del)
		}
	case keyAddr:
		for _, t := range w.srcs[c.key.dst.Addr()] {
			if t.index != 0 && c.key.ifindex != t.index {
				continue
			}
			if t.present != !c.del {
				t.present = !c.del
				t.post(t.present)
			}
		}
	}
}

// resync reads every link and address once and reports them to every
// tracker again: the kernel dropped reports (the subscription's buffer
// overflowed), some changes went unseen.
func (w *ifWatch) resync() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.links) == 0 && len(w.srcs) == 0 {
		return
	}
	st, err := w.read(nil, len(w.srcs) > 0)
	if err != nil {
		w.log.Warn("vrrp: reading links and addresses after lost reports", "err", err)
		return
	}
	done := map[*linkTracker]bool{}
	for _, l := range w.links {
		for _, t := range l {
			if !done[t] {
				done[t] = true
				t.sync(st)
			}
		}
	}
	for _, l := range w.srcs {
		for _, t := range l {
			t.sync(st, true)
		}
	}
}
