package keepalivedconf

import (
	"runtime"
	"sync"
)

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
		dec.d.merge(&sub.d)
	}
}
