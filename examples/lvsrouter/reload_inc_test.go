package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// incModel is a generated configuration: global_defs, a VRRP instance, a
// virtual_server_group with its virtual server, and virtual servers by
// address and fwmark with real servers, checks of several kinds and
// sorry servers.
type incModel struct {
	routerID string
	vs       []incVS
}

type incVS struct {
	fwmark  int
	addr    string
	kind    string
	delay   int
	sorry   bool
	reals   []incRS
	comment string
}

type incRS struct {
	addr    string
	weight  int
	timeout int
	checks  []string
}

func (m *incModel) render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n}\n\n", m.routerID)
	b.WriteString("vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    virtual_ipaddress {\n        192.0.2.10/24\n    }\n}\n\n")
	b.WriteString("virtual_server_group G1 {\n    10.9.0.1 80\n    10.9.0.2 80\n}\n\n")
	b.WriteString("virtual_server group G1 {\n    protocol TCP\n    lb_algo rr\n    lb_kind NAT\n    real_server 10.8.0.1 80 {\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n}\n\n")
	for _, v := range m.vs {
		if v.fwmark > 0 {
			fmt.Fprintf(&b, "virtual_server fwmark %d {\n", v.fwmark)
		} else {
			fmt.Fprintf(&b, "virtual_server %s 80 {\n    protocol TCP\n", v.addr)
		}
		fmt.Fprintf(&b, "    delay_loop %d\n    lb_algo wrr\n    lb_kind %s\n", v.delay, v.kind)
		if v.comment != "" {
			fmt.Fprintf(&b, "    # %s\n", v.comment)
		}
		if v.sorry {
			b.WriteString("    sorry_server 10.7.0.1 80\n")
		}
		for _, r := range v.reals {
			fmt.Fprintf(&b, "    real_server %s 80 {\n        weight %d\n", r.addr, r.weight)
			for _, c := range r.checks {
				switch c {
				case "TCP_CHECK":
					fmt.Fprintf(&b, "        TCP_CHECK {\n            connect_timeout %d\n        }\n", r.timeout)
				case "HTTP_GET":
					fmt.Fprintf(&b, "        HTTP_GET {\n            url {\n                path /health\n                status_code 200\n            }\n            connect_timeout %d\n        }\n", r.timeout)
				case "DNS_CHECK":
					fmt.Fprintf(&b, "        DNS_CHECK {\n            name example.com\n            type A\n            connect_timeout %d\n        }\n", r.timeout)
				}
			}
			b.WriteString("    }\n")
		}
		b.WriteString("}\n\n")
	}
	return b.String()
}

var incCheckKinds = []string{"TCP_CHECK", "HTTP_GET", "DNS_CHECK"}

func newIncModel(rng *rand.Rand) *incModel {
	m := &incModel{routerID: "lb1"}
	for i := range 3 + rng.IntN(6) {
		v := incVS{addr: fmt.Sprintf("10.1.%d.1", i), kind: []string{"NAT", "DR"}[rng.IntN(2)], delay: 1 + rng.IntN(5), sorry: rng.IntN(3) == 0}
		if rng.IntN(4) == 0 {
			v.fwmark, v.kind = 100+i, "DR"
		}
		for j := range 1 + rng.IntN(4) {
			v.reals = append(v.reals, incRS{addr: fmt.Sprintf("10.2.%d.%d", i, j+1), weight: 1 + rng.IntN(5), timeout: 3, checks: []string{incCheckKinds[rng.IntN(3)]}})
		}
		m.vs = append(m.vs, v)
	}
	return m
}

func (m *incModel) clone() *incModel {
	c := &incModel{routerID: m.routerID, vs: slices.Clone(m.vs)}
	for i := range c.vs {
		c.vs[i].reals = slices.Clone(c.vs[i].reals)
		for j := range c.vs[i].reals {
			c.vs[i].reals[j].checks = slices.Clone(c.vs[i].reals[j].checks)
		}
	}
	return c
}

// incEdit changes m (a clone) and returns the new text and the edit's
// name. Some edits are text edits: broken values, syntax errors,
// directives, includes.
func incEdit(rng *rand.Rand, m *incModel, n int) (string, string) {
	v := &m.vs[rng.IntN(len(m.vs))]
	r := &v.reals[rng.IntN(len(v.reals))]
	switch e := rng.IntN(21); e {
	case 0, 1, 2, 3:
		r.weight = rng.IntN(100)
		return m.render(), "weight"
	case 4:
		r.timeout = 1 + rng.IntN(9)
		return m.render(), "check parameter"
	case 5:
		v.reals = append(v.reals, incRS{addr: fmt.Sprintf("10.3.%d.%d", n%250, rng.IntN(250)+1), weight: 1, timeout: 2, checks: []string{incCheckKinds[rng.IntN(3)]}})
		return m.render(), "real server added"
	case 6:
		if len(v.reals) > 1 {
			v.reals = slices.Delete(v.reals, 0, 1)
		}
		return m.render(), "real server removed"
	case 7:
		r.checks = append(r.checks, incCheckKinds[rng.IntN(3)])
		return m.render(), "check added"
	case 8:
		if len(r.checks) > 0 {
			r.checks = r.checks[1:]
		}
		return m.render(), "check removed"
	case 9:
		v.sorry = !v.sorry
		v.delay = 1 + rng.IntN(9)
		return m.render(), "sorry server, delay_loop"
	case 10:
		v.comment = fmt.Sprintf("edit %d", n)
		if n%2 == 0 {
			v.comment = "include /nonexistent/lvskit-inc/*.conf"
		}
		return m.render(), "comment"
	case 20:
		if v.comment == "" {
			return m.render(), "unchanged"
		}
		return incReplaceInBlock(m, v, "    # ", "    "), "uncommented (falls back)"
	case 11:
		v.addr = fmt.Sprintf("10.4.%d.1", n%250)
		return m.render(), "header (falls back)"
	case 12:
		m.routerID = fmt.Sprintf("lb%d", n)
		return m.render(), "globals (falls back)"
	case 13:
		r.weight++
		w := &m.vs[rng.IntN(len(m.vs))].reals[0]
		w.weight += 2
		return m.render(), "two blocks (falls back unless the same)"
	case 14:
		return m.render() + "include /nonexistent/lvskit-inc/*.conf\n", "include (falls back)"
	case 15:
		return strings.Replace(m.render(), "    lb_algo wrr\n", "    lb_algo $ALGO\n", 1), "$def (falls back)"
	case 16:
		return incReplaceInBlock(m, v, "        weight ", "        weight x"), "bad weight (rejected)"
	case 17:
		return incReplaceInBlock(m, v, "    lb_algo wrr\n", "    lb_algo nonesuch\n"), "bad scheduler (rejected)"
	case 18:
		return incReplaceInBlock(m, v, "        }\n", ""), "missing brace (rejected)"
	default:
		return incReplaceInBlock(m, v, "    lb_kind", "    nonesuch_keyword 1\n    lb_kind"), "unknown keyword (warning)"
	}
}

// incReplaceInBlock replaces the first old in v's block of m's text.
func incReplaceInBlock(m *incModel, v *incVS, old, new string) string {
	text := m.render()
	head := fmt.Sprintf("virtual_server %s 80 {\n", v.addr)
	if v.fwmark > 0 {
		head = fmt.Sprintf("virtual_server fwmark %d {\n", v.fwmark)
	}
	i := strings.Index(text, head)
	j := i + strings.Index(text[i:], "\n}\n")
	return text[:i] + strings.Replace(text[i:j], old, new, 1) + text[j:]
}

// planDiff compares two plans, unexported fields included.
func planDiff(a, b *Plan) string {
	return cmp.Diff(a, b, cmp.Exporter(func(reflect.Type) bool { return true }), cmpopts.IgnoreFields(Plan{}, "delta"))
}

// TestReloadIncrementalEqualsFull is the rule that makes the incremental
// reload safe, as a property: over random edits of generated
// configurations, the incremental path gives the plan, the error text
// and the warnings of a full read of the same file, falls back where it
// must, and a rejected edit keeps the last accepted state.
func TestReloadIncrementalEqualsFull(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	paths := map[string]int{}
	edits := map[string]int{}
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 20))
		m := newIncModel(rng)
		mustWrite(t, path, []byte(m.render()))
		ir := &incReload{}
		if _, _, _, err := ir.loadPath(path, anyInterface); err != nil {
			t.Fatalf("seed %d: start: %v\n%s", seed, err, m.render())
		}
		for n := range 60 {
			next := m.clone()
			text, edit := incEdit(rng, next, n)
			mustWrite(t, path, []byte(text))
			want, wantW, wantErr := dedupWarnings(loadData(path, []byte(text), anyInterface))
			got, gotW, how, gotErr := ir.loadPath(path, anyInterface)
			kind := how[1].(string)
			paths[kind]++
			edits[edit+" -> "+kind]++
			ctx := fmt.Sprintf("seed %d edit %d (%s, path %v)", seed, n, edit, how)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("%s: error\n got %v\nwant %v", ctx, gotErr, wantErr)
			}
			if fmt.Sprint(gotW) != fmt.Sprint(wantW) {
				t.Fatalf("%s: warnings\n got %v\nwant %v", ctx, gotW, wantW)
			}
			if wantErr != nil {
				continue // the model stays the last accepted one
			}
			if d := planDiff(want, got); d != "" {
				t.Fatalf("%s: plan differs from the full read's (-full +incremental):\n%s", ctx, d)
			}
			if strings.Contains(edit, "(falls back)") && kind == pathIncremental {
				t.Fatalf("%s: took the incremental path", ctx)
			}
			if len(wantW) == 0 && !strings.Contains(edit, "(falls back") && !strings.Contains(edit, "two blocks") && kind == pathFull && ir.none == "" {
				t.Errorf("%s: fell back", ctx)
			}
			if !strings.Contains(text, "include") && !strings.Contains(text, "$") && len(wantW) == 0 {
				m = next
			}
			// The file stays as written for the next edit: write the
			// model back when the edit was not taken into it.
			if !bytes.Equal([]byte(text), []byte(m.render())) {
				mustWrite(t, path, []byte(m.render()))
				if _, _, _, err := ir.loadPath(path, anyInterface); err != nil {
					t.Fatalf("%s: back to the model: %v", ctx, err)
				}
			}
		}
	}
	t.Logf("paths: %v", paths)
	keys := make([]string, 0, len(edits))
	for k := range edits {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("%4d %s", edits[k], k)
	}
	if paths[pathIncremental] < 200 {
		t.Errorf("%d incremental reloads of %d, want most", paths[pathIncremental], 12*60)
	}
}

// TestReloadIncrementalKeepsStateOnError: a broken edit of one block is
// rejected with its file:line:col, and the next reload compares with the
// last accepted file, not the broken one.
func TestReloadIncrementalKeepsStateOnError(t *testing.T) {
	ir, path, good, p0 := loadedEditConf(t)
	bad := strings.Replace(good, "real_server 10.2.3.1 80 {\n        weight 1", "real_server 10.2.3.1 80 {\n        weight x", 1)
	mustWrite(t, path, []byte(bad))
	_, _, how, err := ir.loadPath(path, anyInterface)
	if err == nil || how[1] != pathIncremental {
		t.Fatalf("broken edit: %v, path %v; want rejected on the incremental path", err, how)
	}
	line := strings.Count(bad[:strings.Index(bad, "weight x")], "\n") + 1
	if want := fmt.Sprintf("%s:%d:", path, line); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
	if !baseIs(ir, good) || planDiff(ir.plan, p0) != "" {
		t.Error("a rejected reload changed the base")
	}
	weight9EqualsFull(t, ir, path, good)
}

// baseIs reports whether ir's base is the file data: its sums are
// data's, by the same segments.
func baseIs(ir *incReload, data string) bool {
	s := ir.sums
	if s == nil || s.Size() != len(data) {
		return false
	}
	return slices.Equal(s.Sums, keepalivedconf.NewSums([]byte(data), s.Ends).Sums)
}

// loadedEditConf writes editConf(5) and loads it with a new incReload,
// the base of the reloads that follow.
func loadedEditConf(t *testing.T) (ir *incReload, path, good string, p0 *Plan) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "keepalived.conf")
	good = editConf(5)
	mustWrite(t, path, []byte(good))
	ir = &incReload{log: slog.New(slog.DiscardHandler)}
	p0, _, err := ir.load(path, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	return ir, path, good, p0
}

// weight9EqualsFull edits the weight of 10.2.3.1 in good (editConf's) to
// 9, reloads it with ir, and checks that the incremental path took it to
// the full read's plan.
func weight9EqualsFull(t *testing.T, ir *incReload, path, good string) {
	t.Helper()
	edited := strings.Replace(good, "real_server 10.2.3.1 80 {\n        weight 1", "real_server 10.2.3.1 80 {\n        weight 9", 1)
	mustWrite(t, path, []byte(edited))
	p, _, how, err := ir.loadPath(path, anyInterface)
	if err != nil || how[1] != pathIncremental {
		t.Fatalf("weight edit: %v, path %v", err, how)
	}
	want, _, _ := load(path, anyInterface)
	if d := planDiff(want, p); d != "" {
		t.Errorf("plan differs from the full read's:\n%s", d)
	}
}

// TestReloadIncrementalOneWeightIsOneOp: a weight edit reloaded on the
// incremental path costs one IPVS operation and restarts no check.
func TestReloadIncrementalOneWeightIsOneOp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	mustWrite(t, path, []byte(editConf(10)))
	ir := &incReload{}
	k := newMemKernel()
	r := memRouter(t, k)
	p, _, err := ir.load(path, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Load(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	ops := k.ops
	var logs bytes.Buffer
	r.log = slog.New(slog.NewTextHandler(&logs, nil))
	mustWrite(t, path, []byte(editConf(10, "real_server 10.2.3.1 80 {\n        weight 1", "real_server 10.2.3.1 80 {\n        weight 7")))
	p, _, how, err := ir.loadPath(path, anyInterface)
	if err != nil || how[1] != pathIncremental {
		t.Fatalf("%v, path %v", err, how)
	}
	if err := r.Load(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if n := k.ops - ops; n != 1 {
		t.Errorf("%d operations, want 1", n)
	}
	if m := regexp.MustCompile(`msg=checks kept=(\d+) updated=(\d+) added=(\d+) removed=(\d+)`).FindStringSubmatch(logs.String()); m == nil || m[2] != "0" || m[3] != "0" || m[4] != "0" {
		t.Errorf("checks touched by the reload: %q\n%s", m, logs.String())
	}
}

// BenchmarkRouterReloadIncremental10k4 is serve's reload on the host with
// the incremental path: 10,000 virtual servers × 4 TCP-checked real
// servers, one weight changed per reload (read, compare, re-read the one
// block, splice, Router.Load: one IPVS operation). The full read's
// figure for the same edit is BenchmarkRouterReload10k4.
func BenchmarkRouterReloadIncremental10k4(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keepalived.conf")
	mustWriteB(b, path, scaleConf(1))
	r, ops := hostRouter(b)
	ir := &incReload{}
	r.release = ir.release // as serve's
	p, _, err := ir.load(path, interfaceExists)
	if err != nil {
		b.Fatal(err)
	}
	p.hostChecked = true // as serve does
	if err := r.Load(b.Context(), p); err != nil {
		b.Fatal(err)
	}
	confs := [][]byte{scaleConf(3), scaleConf(1)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		mustWriteB(b, path, confs[i%2])
		b.StartTimer()
		before := ops.ops
		p, _, how, err := ir.loadPath(path, interfaceExists)
		if err != nil || how[1] != pathIncremental {
			b.Fatalf("%v, path %v", err, how)
		}
		p.hostChecked = true
		if err := r.Load(b.Context(), p); err != nil {
			b.Fatal(err)
		}
		if n := ops.ops - before; n != 1 {
			b.Fatalf("reload cost %d IPVS operations, want 1", n)
		}
		i++
	}
	b.ReportMetric(float64(cap(ir.sums.Ends)*8+cap(ir.sums.Sums)*32+cap(ir.scratch)+cap(ir.blocks)*int(unsafe.Sizeof(topBlock{}))+cap(ir.prev)*int(unsafe.Sizeof(VirtualService{})))/(1<<20), "retained-MiB")
}

func mustWriteB(b *testing.B, path string, data []byte) {
	b.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// TestReloadReusesReadBuffer: reloads keep one buffer, of the last
// changed segment's bytes, and no plan, however old, refers to them:
// scribbling over it after every load leaves every plan equal to a full
// read of its file (its check IDs, URL paths, names unchanged), and the
// base's sums those of the file.
func TestReloadReusesReadBuffer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	http := func(p string) string {
		return "real_server 10.2.4.2 80 {\n        weight 2\n        HTTP_GET {\n            url {\n                path " + p + "\n                status_code 200\n            }\n        }\n        TCP_CHECK"
	}
	confs := []string{
		editConf(8, "real_server 10.2.4.2 80 {\n        weight 2\n        TCP_CHECK", http("/first")),
		editConf(8, "real_server 10.2.4.2 80 {\n        weight 2\n        TCP_CHECK", http("/second-longer"), "real_server 10.2.4.1 80 {\n        weight 1", "real_server 10.2.4.1 80 {\n        weight 7"),
		editConf(8, "real_server 10.2.4.2 80 {\n        weight 2\n        TCP_CHECK", http("/3")),
		// a new service at the end: read in full
		editConf(8, "real_server 10.2.4.2 80 {\n        weight 2\n        TCP_CHECK", http("/3")) + editConf(9)[len(editConf(8)):],
		editConf(8, "real_server 10.2.4.2 80 {\n        weight 2\n        TCP_CHECK", http("/fifth")) + editConf(9)[len(editConf(8)):],
		editConf(8, "real_server 10.2.4.2 80 {\n        weight 2\n        TCP_CHECK", http("/fifth")) + editConf(9)[len(editConf(8)):],
	}
	wantPaths := []string{pathFull, pathIncremental, pathIncremental, pathFull, pathIncremental, pathUnchanged}
	ir := &incReload{}
	var plans, wants []*Plan
	for n, c := range confs {
		mustWrite(t, path, []byte(c))
		p, _, how, err := ir.loadPath(path, anyInterface)
		if err != nil || how[1] != wantPaths[n] {
			t.Fatalf("load %d: %v, path %v; want %s", n, err, how, wantPaths[n])
		}
		want, _, err := load(path, anyInterface)
		if err != nil {
			t.Fatal(err)
		}
		plans, wants = append(plans, p), append(wants, want)
		scribble(ir.scratch[:cap(ir.scratch)])
		if !baseIs(ir, c) {
			t.Fatalf("load %d: the base's sums are not the file's", n)
		}
	}
	for n := range plans {
		if d := planDiff(wants[n], plans[n]); d != "" {
			t.Errorf("plan %d changed with the read buffers (-full read +kept):\n%s", n, d)
		}
	}
	if got := fmt.Sprintf("%+v", plans[4].Services[4].Reals[1].Checks[0].Checker); !strings.Contains(got, "/fifth") {
		t.Errorf("checker %s, want the URL path /fifth", got)
	}
}

// TestReloadSumsFollowEdits: after incremental reloads that change a
// block's length (shorter, longer, by many lines) and one that keeps
// it, the base's sums are the file's and the plan a full read's.
func TestReloadSumsFollowEdits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	w1 := "real_server 10.2.4.1 80 {\n        weight 1"
	confs := []string{
		editConf(8),
		editConf(8, w1, "real_server 10.2.4.1 80 {\n        weight 9"),
		editConf(8, w1, "real_server 10.2.4.1 80 {\n        weight 100"),
		editConf(8, w1, "real_server 10.2.4.1 80 {\n        weight 2"),
		editConf(8, w1, "real_server 10.2.4.1 80 {\n        weight 1\n        inhibit_on_failure\n"+strings.Repeat("        # padding to grow the file\n", 400)),
		editConf(8, w1, "real_server 10.2.4.1 80 {\n        weight 3"),
	}
	ir := &incReload{}
	for n, c := range confs {
		mustWrite(t, path, []byte(c))
		_, _, how, err := ir.loadPath(path, anyInterface)
		if err != nil || n > 0 && how[1] != pathIncremental {
			t.Fatalf("load %d: %v, path %v", n, err, how)
		}
		if !baseIs(ir, c) {
			t.Fatalf("load %d: the base's sums are not the file's", n)
		}
		if want, _, err := load(path, anyInterface); err != nil || planDiff(want, ir.plan) != "" {
			t.Fatalf("load %d: plan differs from a full read's (%v)", n, err)
		}
	}
}

func scribble(b []byte) {
	for i := range b {
		b[i] = 'x'
	}
}

// TestReloadWarmChangesNothing: the dry run of the incremental path
// after a start leaves the base (sums, blocks, plan, mail maps) as it
// was, and the next reload still equals a full read.
func TestReloadWarmChangesNothing(t *testing.T) {
	ir, path, good, p0 := loadedEditConf(t)
	blocks := slices.Clone(ir.blocks)
	mail := ir.plan.Mail
	ir.warm(anyInterface)
	if ir.plan != p0 || !baseIs(ir, good) || !slices.Equal(ir.blocks, blocks) {
		t.Fatal("warm changed the base")
	}
	if fmt.Sprintf("%p %p", ir.plan.Mail.Checks, ir.plan.Mail.Services) != fmt.Sprintf("%p %p", mail.Checks, mail.Services) {
		t.Error("warm replaced the plan's mail maps")
	}
	weight9EqualsFull(t, ir, path, good)
}

// TestReloadSegmentEdits: a reload compares the file by segments (a
// top-level block and the lines after it up to the next), so an edit of
// a virtual_server block's header that keeps its service, or of its
// closing line, is read incrementally; one that retypes the block, adds
// a block, or inserts lines between two segments falls back to a full
// read; each time the plan (or the error) is a full read's and the
// base's sums the file's.
func TestReloadSegmentEdits(t *testing.T) {
	vs4 := "virtual_server 10.1.4.1 80 {\n"
	end3 := "    }\n}\n" + vs4
	for _, tc := range []struct {
		name, old, new, path string
	}{
		{"header spacing", vs4, "virtual_server  10.1.4.1   80 {\n", pathIncremental},
		{"comment on the closing line", end3, "    }\n} # three\n" + vs4, pathIncremental},
		{"comment between blocks", end3, "    }\n}\n# four\n" + vs4, pathFull},
		{"block added", end3, "    }\n}  \nvirtual_server 10.1.99.1 80 {\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n    real_server 10.9.0.1 80 {\n        weight 1\n    }\n}\n" + vs4, pathFull},
		{"retyped", vs4, "virtual_server group G {\n", pathFull},
		{"head comment", "virtual_server 10.1.0.1 80 {\n", "# head\nvirtual_server 10.1.0.1 80 {\n", pathFull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ir, path, good, _ := loadedEditConf(t)
			text := strings.Replace(good, tc.old, tc.new, 1)
			if text == good {
				t.Fatal("edit not found")
			}
			mustWrite(t, path, []byte(text))
			want, _, wantErr := load(path, anyInterface)
			p, _, how, err := ir.loadPath(path, anyInterface)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) || how[1] != tc.path {
				t.Fatalf("%v, path %v; want %v, path %s", err, how, wantErr, tc.path)
			}
			if wantErr != nil {
				return
			}
			if d := planDiff(want, p); d != "" {
				t.Errorf("plan differs from the full read's:\n%s", d)
			}
			if !baseIs(ir, text) {
				t.Error("the base's sums are not the file's")
			}
			weight9EqualsFull(t, ir, path, text)
		})
	}
}
