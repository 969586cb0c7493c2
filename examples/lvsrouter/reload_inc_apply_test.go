package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lvskit/lvskit/check"
)

// applyTwin is a router on an in-memory kernel that records what an
// apply tells the world: scripts in the order they run, mails in the
// order they are sent (logged: the SMTP server refuses), besides the
// kernel and the ops states.
type applyTwin struct {
	r *Router
	k *memKernel

	mu      sync.Mutex
	scripts []string
	mails   []string
}

func newApplyTwin(t *testing.T) *applyTwin {
	w := &applyTwin{k: newMemKernel()}
	w.r = memRouter(t, w.k)
	w.r.log = slog.New(&mailLog{w: w})
	w.r.hasInterface = anyInterface
	w.r.script = func(argv []string) {
		w.mu.Lock()
		w.scripts = append(w.scripts, strings.Join(argv, " "))
		w.mu.Unlock()
	}
	return w
}

// mailLog records the subjects of the mails a router tried to send.
type mailLog struct{ w *applyTwin }

func (h *mailLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *mailLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *mailLog) WithGroup(string) slog.Handler            { return h }
func (h *mailLog) Handle(_ context.Context, rec slog.Record) error {
	if !strings.HasPrefix(rec.Message, "smtp alert") {
		return nil
	}
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "subject" {
			h.w.mu.Lock()
			h.w.mails = append(h.w.mails, a.Value.String())
			h.w.mu.Unlock()
		}
		return true
	})
	return nil
}

// settle runs the queued scripts and sends the queued mails.
func (w *applyTwin) settle() {
	w.r.runEvents(true)
	w.r.mu.Lock()
	m := w.r.mail
	w.r.mu.Unlock()
	m.wait()
}

// state is everything compared: kernel, scripts, mails, the states ops
// reports, and the router's notify memory.
func (w *applyTwin) state() string {
	w.settle()
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.r
	r.mu.Lock()
	alive, quorum := fmt.Sprint(r.alive), fmt.Sprint(r.quorum)
	r.mu.Unlock()
	r.ops.mu.Lock()
	reals, services := fmt.Sprint(maps.Collect(r.ops.reals.all())), fmt.Sprint(maps.Collect(r.ops.reals.services()))
	r.ops.mu.Unlock()
	return fmt.Sprintf("kernel:\n%s\nscripts: %q\nmails: %q\nreals: %s\nservices: %s\nalive: %s\nquorum: %s",
		w.k.state(), w.scripts, w.mails, reals, services, alive, quorum)
}

// applyDecorate turns incModel's text into one that exercises what
// desired decides: no VRRP instance (no sockets in a unit test), smtp
// alerts to a port that refuses, and per virtual server a quorum and
// hysteresis that follow its delay_loop (an edit changes them), quorum
// scripts and an alert on every other one; per real server notify
// scripts, and inhibit_on_failure when its weight is even.
func applyDecorate(text string) string {
	const vrrp = "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    virtual_ipaddress {\n        192.0.2.10/24\n    }\n}\n\n"
	text = strings.Replace(text, vrrp, "", 1)
	text = strings.Replace(text, "global_defs {\n", "global_defs {\n    notification_email {\n        root@localhost\n    }\n    notification_email_from lvs@localhost\n    smtp_server 127.0.0.1 1\n    smtp_connect_timeout 1\n    enable_script_security\n    script_user root\n", 1)
	var b strings.Builder
	vs, delay, n := "", 0, 0
	lines := strings.SplitAfter(text, "\n")
	for i, line := range lines {
		b.WriteString(line)
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "virtual_server":
			vs = strings.Join(f[1:len(f)-1], "_")
			n++
		case len(f) == 2 && f[0] == "delay_loop":
			delay, _ = strconv.Atoi(f[1])
		case len(f) == 2 && f[0] == "lb_kind" && vs != "" && !strings.HasPrefix(vs, "group"):
			fmt.Fprintf(&b, "    quorum %d\n    hysteresis %d\n    quorum_up /bin/echo qup %s\n    quorum_down /bin/echo qdown %s\n", 1+delay%4, delay%2, vs, vs)
			if n%2 == 0 {
				b.WriteString("    smtp_alert\n")
			}
		case len(f) == 2 && f[0] == "weight" && i > 0 && strings.Contains(lines[i-1], "real_server"):
			rs := strings.Fields(lines[i-1])[1]
			fmt.Fprintf(&b, "        notify_up /bin/echo up %s %s\n        notify_down /bin/echo down %s %s\n", vs, rs, vs, rs)
			if w, err := strconv.Atoi(f[1]); err == nil && w%2 == 0 {
				b.WriteString("        inhibit_on_failure\n")
			}
		}
	}
	return b.String()
}

// TestApplyIncrementalEqualsFull is the rule that makes the incremental
// apply safe, as a property: over random sequences of health changes
// (state and dynamic weight) and reload edits, a router that recomputes
// only what changed (through the incremental read when it applies) ends
// every step where one that recomputes everything from a full read does:
// the same kernel state, scripts in the same order, the same mails, the
// same states reported, the same notify memory.
func TestApplyIncrementalEqualsFull(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	ctx := t.Context()
	kinds := map[string]int{}
	var partial, scripts, mails, reused int
	arrays := map[*VirtualService]bool{}
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 23))
		m := newIncModel(rng)
		inc, full := newApplyTwin(t), newApplyTwin(t)
		ir := &incReload{}
		inc.r.release = ir.release // as serve's: splices reuse released arrays
		load := func(step string, text string) bool {
			mustWrite(t, path, []byte(text))
			p, _, how, err := ir.loadPath(path, anyInterface)
			fp, _, ferr := loadData(path, []byte(text), anyInterface)
			if fmt.Sprint(err) != fmt.Sprint(ferr) {
				t.Fatalf("%s: incremental read %v, full read %v", step, err, ferr)
			}
			if err != nil {
				return false
			}
			kinds[how[1].(string)]++
			if len(p.Services) > 0 {
				// an array seen before, not the running plan's: a splice
				// reused a released one
				a := &p.Services[0]
				if arrays[a] && (inc.r.plan == nil || len(inc.r.plan.Services) == 0 || &inc.r.plan.Services[0] != a) {
					reused++
				}
				arrays[a] = true
			}
			if err := inc.r.Load(ctx, p); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			if err := full.r.Load(ctx, fp); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			return true
		}
		load(fmt.Sprintf("seed %d start", seed), applyDecorate(m.render()))
		for n := range 80 {
			step := fmt.Sprintf("seed %d step %d", seed, n)
			if rng.IntN(3) == 0 {
				next := m.clone()
				text, edit := incEdit(rng, next, n)
				step += " (" + edit + ")"
				ok := load(step, applyDecorate(text))
				if ok && !strings.Contains(text, "include") && !strings.Contains(text, "$") && !strings.Contains(edit, "warning") {
					m = next
				}
				if text != m.render() {
					load(step+" back to the model", applyDecorate(m.render()))
				}
			} else {
				// One to three checks change state, or report a weight.
				p := inc.r.plan
				for range 1 + rng.IntN(3) {
					vs := &p.Services[rng.IntN(len(p.Services))]
					rs := &vs.Reals[rng.IntN(len(vs.Reals))]
					if len(rs.Checks) == 0 {
						continue
					}
					tr := check.Transition{ID: rs.Checks[rng.IntN(len(rs.Checks))].ID, Kind: check.StateChange, Up: rng.IntN(2) == 0}
					if rng.IntN(4) == 0 {
						tr.Kind = check.WeightChange
						tr.Up = true
						tr.Result.Weight = check.Weight{Set: true, Value: rng.IntN(6)}
					}
					inc.r.onCheck(tr)
					full.r.onCheck(tr)
				}
			}
			inc.r.mu.Lock()
			svcs, ok := inc.r.dirtyServices()
			inc.r.mu.Unlock()
			if ok && len(svcs) < len(inc.r.plan.Services) {
				partial++
			}
			full.r.mu.Lock()
			full.r.touchAll()
			full.r.mu.Unlock()
			if err := inc.r.apply(ctx); err != nil {
				t.Fatalf("%s: incremental apply: %v", step, err)
			}
			if err := full.r.apply(ctx); err != nil {
				t.Fatalf("%s: full apply: %v", step, err)
			}
			if a, b := inc.state(), full.state(); a != b {
				t.Fatalf("%s: incremental apply differs from the full one:\n--- incremental\n%s\n--- full\n%s", step, a, b)
			}
		}
		scripts += len(inc.scripts)
		mails += len(inc.mails)
	}
	t.Logf("reload paths %v; %d applies recomputed part of the services; %d scripts, %d mails; %d splices reused a released array", kinds, partial, scripts, mails, reused)
	if kinds[pathIncremental] == 0 || partial == 0 || scripts == 0 || mails == 0 || reused == 0 {
		t.Errorf("not exercised: reloads %v, partial applies %d, scripts %d, mails %d, reused arrays %d", kinds, partial, scripts, mails, reused)
	}
}

// TestApplyIncrementalOneCheckOneService: a check going down recomputes
// its service alone and costs one operation; a reload of one block
// recomputes that block's service alone.
func TestApplyIncrementalOneCheckOneService(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	mustWrite(t, path, []byte(editConf(10)))
	w := newApplyTwin(t)
	ir := &incReload{}
	p, _, err := ir.load(path, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.r.Load(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	id := p.Services[5].Reals[0].Checks[0].ID
	w.r.onCheck(check.Transition{ID: id, Kind: check.StateChange, Up: false})
	w.r.mu.Lock()
	svcs, ok := w.r.dirtyServices()
	w.r.mu.Unlock()
	if !ok || !slices.Equal(svcs, []int{5}) {
		t.Errorf("dirty after one check down: %v %v, want [5] true", svcs, ok)
	}
	ops := w.k.ops
	if err := w.r.apply(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := w.k.ops - ops; n != 1 {
		t.Errorf("%d operations, want 1", n)
	}
	mustWrite(t, path, []byte(editConf(10, "real_server 10.2.3.1 80 {\n        weight 1", "real_server 10.2.3.1 80 {\n        weight 7")))
	p, _, how, err := ir.loadPath(path, anyInterface)
	if err != nil || how[1] != pathIncremental {
		t.Fatalf("%v, path %v", err, how)
	}
	if err := w.r.Load(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	// A full recompute would have dropped the check index.
	if w.r.checks == nil {
		t.Error("the reload of one block recomputed every service")
	}
	if got := regexp.MustCompile(`10\.2\.3\.1:80 \S+ w=7`).FindString(w.k.state()); got == "" {
		t.Errorf("weight 7 not applied:\n%s", w.k.state())
	}
}

// TestApplyIncrementalBFD: a BFD session going down takes its BFD_CHECK
// real server out through the incremental apply too.
func TestApplyIncrementalBFD(t *testing.T) {
	p := loadOK(t, writeConf(t, t.TempDir(), "keepalived.conf", bfdConf))
	k := newMemKernel()
	r := memRouter(t, k)
	r.plan = p
	r.bfd.up, r.bfd.feeds = map[string]bool{}, map[[2]string]chan bool{}
	if err := r.apply(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := k.state()
	for _, to := range []check.BFDState{check.BFDUp, check.BFDDown} {
		r.onBFD(check.BFDTransition{Name: "both", To: to})
		r.mu.Lock()
		ids := slices.Clone(r.dirty.ids)
		r.mu.Unlock()
		if to == check.BFDDown && len(ids) != 1 {
			t.Errorf("checks marked after the session went down: %q, want its BFD_CHECK", ids)
		}
		if err := r.apply(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if k.state() == before || strings.Count(k.state(), "->") != strings.Count(before, "->")-1 {
		t.Errorf("the BFD_CHECK server did not leave:\nbefore\n%s\nafter\n%s", before, k.state())
	}
}

// TestReloadReuseWhileRouterReads runs serve's pipeline with the splice's
// array reuse on: one goroutine reads reloads (one weight each) and hands
// the plans over, another loads them while a third dumps the router's
// state, so that a reload is read while the last one still loads. Under
// the race detector it shows that nothing reads an array a splice reuses;
// the kernel ends as a fresh start on the last file leaves it.
func TestReloadReuseWhileRouterReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	const services, reloads = 12, 40
	k := newMemKernel()
	r := memRouter(t, k)
	// The file after reload n: reload m set the weight of the second
	// real server of service m%services to 10+m, for every m up to n.
	confOf := func(n int) string {
		var edits []string
		for i := range min(n+1, services) {
			m := n - (n-i)%services // the last reload m <= n of service i
			edits = append(edits, fmt.Sprintf("real_server 10.2.%d.2 80 {\n        weight 2", i), fmt.Sprintf("real_server 10.2.%d.2 80 {\n        weight %d", i, 10+m))
		}
		return editConf(services, edits...)
	}
	mustWrite(t, path, []byte(editConf(services)))
	ir := &incReload{}
	r.release = ir.release // as serve's
	p, _, err := ir.load(path, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Load(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	plans := make(chan *Plan)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				r.checkDataText()
				r.dataText()
			}
		}
	})
	incremental, reused := 0, 0
	seen := map[*VirtualService]bool{}
	wg.Go(func() {
		defer close(plans)
		for n := range reloads {
			mustWrite(t, path, []byte(confOf(n)))
			p, _, how, err := ir.loadPath(path, anyInterface)
			if err != nil {
				t.Errorf("reload %d: %v", n, err)
				return
			}
			if how[1] == pathIncremental {
				incremental++
			}
			if seen[&p.Services[0]] {
				reused++
			}
			seen[&p.Services[0]] = true
			p.hostChecked = true
			plans <- p
		}
	})
	for p := range plans {
		if err := r.Load(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d of %d reloads incremental, %d into a reused array", incremental, reloads, reused)
	if incremental < reloads/2 || reused == 0 {
		t.Errorf("%d of %d reloads incremental, %d into a reused array", incremental, reloads, reused)
	}
	fresh := newMemKernel()
	want, _, err := load(path, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	if err := memRouter(t, fresh).Load(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	if got, want := k.state(), fresh.state(); got != want {
		t.Errorf("kernel after the reloads:\n%s\nafter a fresh start:\n%s", got, want)
	}
}
