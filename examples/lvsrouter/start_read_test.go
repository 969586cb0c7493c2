package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/lvskit/lvskit/internal/testenv"
)

// BenchmarkRouterRead10k4 is the read phase of BenchmarkRouterStart10k4
// as serve's first load runs it (incReload.start, with the start's GC
// policy): from the file to the Plan handed to Router.Load. peak-heap-MB
// is the most the heap's objects reached (garbage included), held-MB what
// the process holds from the system at the read's end: the proxies for
// the guest's page faults; gcs/op the collections during the read.
func BenchmarkRouterRead10k4(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, scaleConf(1), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var heap, held, gcs uint64
	cycles := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	for b.Loop() {
		b.StopTimer()
		debug.FreeOSMemory() // held counts from what the process holds now
		metrics.Read(cycles)
		gcs -= cycles[0].Value.Uint64()
		b.StartTimer()
		stop := testenv.HeapPeak()
		ir := &incReload{}
		p, _, err := startRead(ir, path)
		h, r := stop(), heldBytes()
		metrics.Read(cycles)
		gcs += cycles[0].Value.Uint64()
		if err != nil || len(p.Services) != scaleServices {
			b.Fatal(err)
		}
		heap, held = max(heap, h), max(held, r)
	}
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(held)/(1<<20), "held-MB")
	b.ReportMetric(float64(gcs)/float64(b.N), "gcs/op")
}

// startRead is serve's first read: incReload.start under the start's GC
// policy.
func startRead(ir *incReload, path string) (*Plan, []error, error) {
	gc := beginStart(path)
	defer gc.end()
	p, w, _, err := ir.start(path, anyInterface, gc)
	return p, w, err
}

// TestStartReadEqualsFull is the rule that makes the batched start read
// safe: over the generated 10,000 × 4 configuration (in batches of the
// default size) and every configuration of the corpus (in batches of one
// virtual server), the start gives the plan, the warnings and the error
// text of a full read of the same file, and leaves the same base for the
// next reload.
func TestStartReadEqualsFull(t *testing.T) {
	check := func(t *testing.T, path string) (batched bool) {
		t.Helper()
		want, wantW, wantErr := load(path, anyInterface)
		full := &incReload{}
		full.loadPath(path, anyInterface)
		ir := &incReload{}
		got, gotW, _, gotErr := ir.start(path, anyInterface, nil)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("%s: error\n got %v\nwant %v", path, gotErr, wantErr)
		}
		if fmt.Sprint(gotW) != fmt.Sprint(wantW) {
			t.Fatalf("%s: warnings\n got %v\nwant %v", path, gotW, wantW)
		}
		if d := planDiff(want, got); d != "" {
			t.Fatalf("%s: plan differs from the full read's (-full +start):\n%s", path, d)
		}
		if ir.none != full.none || !slices.Equal(ir.blocks, full.blocks) || (ir.plan == nil) != (full.plan == nil) {
			t.Fatalf("%s: reload base differs: none %q, %d blocks; full read: none %q, %d blocks", path, ir.none, len(ir.blocks), full.none, len(full.blocks))
		}
		if (ir.sums == nil) != (full.sums == nil) || ir.sums != nil && (!slices.Equal(ir.sums.Ends, full.sums.Ends) || !slices.Equal(ir.sums.Sums, full.sums.Sums)) {
			t.Fatalf("%s: base sums differ", path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, _, n := readBatches(path, data, anyInterface)
		return n > 0
	}
	t.Run("10kx4", func(t *testing.T) {
		testenv.SkipShort(t, "reads 10,000 virtual servers several times")
		big := filepath.Join(t.TempDir(), "keepalived.conf")
		mustWrite(t, big, scaleConf(1))
		if !check(t, big) {
			t.Error("10,000 × 4 was read in full, not in batches")
		}
		// An unknown scheduler in a virtual server in the middle: the
		// start fails with the full read's error, at its file:line:col.
		data := scaleConf(1)
		at := len(data) / 2
		at += bytes.Index(data[at:], []byte("    lb_algo wrr\n"))
		bad := slices.Concat(data[:at], []byte("    lb_algo nope\n"), data[at+len("    lb_algo wrr\n"):])
		badPath := filepath.Join(t.TempDir(), "keepalived.conf")
		mustWrite(t, badPath, bad)
		if check(t, badPath) {
			t.Error("a configuration with an error was read in batches")
		}
		if _, _, _, err := (&incReload{}).start(badPath, anyInterface, nil); err == nil || !strings.Contains(err.Error(), badPath+":") {
			t.Errorf("error %v does not name its file:line:col", err)
		}
	})
	t.Run("group", func(t *testing.T) {
		// A virtual server of a two-address group is two services, more
		// than a batch's window of one per virtual server holds: the
		// start reads such a file as the full read does.
		defer func(n, m int) { readBatchVS, readBatchMin = n, m }(readBatchVS, readBatchMin)
		readBatchVS, readBatchMin = 1, 1
		var b strings.Builder
		b.WriteString("virtual_server_group g {\n    10.0.0.1 80\n    10.0.0.2 80\n}\n")
		for _, vs := range []string{"10.0.1.1 80", "group g", "10.0.1.2 80"} {
			fmt.Fprintf(&b, "virtual_server %s {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 10.0.2.1 80 {\n        weight 1\n    }\n}\n", vs)
		}
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		mustWrite(t, path, []byte(b.String()))
		check(t, path)
	})
	t.Run("corpus", func(t *testing.T) {
		defer func(n, m int) { readBatchVS, readBatchMin = n, m }(readBatchVS, readBatchMin)
		readBatchVS, readBatchMin = 1, 1
		batched, all := 0, 0
		for _, path := range corpus(t) {
			all++
			if check(t, path) {
				batched++
			}
		}
		t.Logf("%d of %d configurations read in batches", batched, all)
		if batched == 0 {
			t.Error("no configuration of the corpus was read in batches")
		}
	})
}

// TestStartKeepsNoSource: the batched read parses the file's bytes in
// place (keepalivedconf.Piece.Frozen), so a string of the parse that the
// plan kept would keep all of the file's memory alive. Every kind of
// string a virtual server or real server carries (checks of each kind,
// scripts, notify commands, descriptions, mail alerts) must be the
// plan's own copy: the file's buffer is collected once the start is over.
func TestStartKeepsNoSource(t *testing.T) {
	defer func(vs, lo int) { readBatchVS, readBatchMin = vs, lo }(readBatchVS, readBatchMin)
	readBatchVS, readBatchMin = 8, 16
	var b strings.Builder
	b.WriteString("global_defs {\n    router_id lvs1\n    notification_email {\n        ops@example.com\n    }\n    smtp_server 127.0.0.1\n    enable_script_security\n    script_user root\n}\ntrack_file tf0 {\n    file /tmp/tf0\n}\ntrack_file tf1 {\n    file /tmp/tf1\n}\ntrack_file tf2 {\n    file /tmp/tf2\n}\n")
	for i := range 40 {
		fmt.Fprintf(&b, "virtual_server 10.0.%d.%d 80 {\n    delay_loop 6\n    lb_algo wlc\n    lb_kind DR\n    protocol TCP\n    persistence_timeout 30\n", i/200, i%200+1)
		fmt.Fprintf(&b, "    virtualhost vs%d.example.com\n    quorum_up \"/bin/true up%d\"\n    quorum_down \"/bin/true down%d\"\n    smtp_alert\n", i, i, i)
		fmt.Fprintf(&b, "    sorry_server 10.9.0.%d 80\n", i%200+1)
		fmt.Fprintf(&b, "    real_server 10.1.0.%d 80 {\n        weight 2\n        notify_up \"/bin/true rs-up%d\"\n        notify_down \"/bin/true rs-down%d\"\n", i%200+1, i, i)
		fmt.Fprintf(&b, "        HTTP_GET {\n            url {\n                path /health%d\n                digest 9b3a0c85a887a256d6939da88aabd8cd\n                status_code 200\n            }\n            connect_timeout 3\n            virtualhost rs%d.example.com\n        }\n    }\n", i, i)
		fmt.Fprintf(&b, "    real_server 10.2.0.%d 80 {\n        MISC_CHECK {\n            misc_path \"/bin/true misc%d\"\n            misc_timeout 5\n        }\n    }\n", i%200+1, i)
		fmt.Fprintf(&b, "    real_server 10.3.0.%d 80 {\n        SMTP_CHECK {\n            helo_name helo%d.example.com\n        }\n    }\n", i%200+1, i)
		fmt.Fprintf(&b, "    real_server 10.4.0.%d 80 {\n        DNS_CHECK {\n            name n%d.example.com\n            type A\n        }\n    }\n", i%200+1, i)
		fmt.Fprintf(&b, "    real_server 10.5.0.%d 80 {\n        SSL_GET {\n            url {\n                path /s%d\n                regex \"ok%d\"\n            }\n        }\n    }\n", i%200+1, i, i)
		fmt.Fprintf(&b, "    real_server 10.6.0.%d 80 {\n        UDP_CHECK {\n            payload 0a0b%02x\n        }\n    }\n", i%200+1, i)
		fmt.Fprintf(&b, "    real_server 10.7.0.%d 80 {\n        FILE_CHECK {\n            track_file tf%d\n        }\n    }\n}\n", i%200+1, i%3)
	}
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	mustWrite(t, path, []byte(b.String()))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	collected := make(chan struct{})
	runtime.AddCleanup(&data[0], func(ch chan struct{}) { close(ch) }, collected)
	lo := uintptr(unsafe.Pointer(&data[0]))
	ir := &incReload{}
	p, blocks, n := readBatches(path, data, anyInterface)
	if p == nil || n == 0 {
		_, w, err := load(path, anyInterface)
		t.Fatalf("the configuration was not read in batches: %v, %v", w, err)
	}
	ir.recordBatches(path, data, p, blocks)
	in := map[string]int{}
	stringsIn(reflect.ValueOf(p), "plan", lo, lo+uintptr(len(data)), map[uintptr]bool{}, in)
	stringsIn(reflect.ValueOf(ir), "reload", lo, lo+uintptr(len(data)), map[uintptr]bool{}, in)
	if len(in) > 0 {
		t.Errorf("strings of the file's bytes kept (field: count): %v", in)
	}
	data = nil
	for range 100 {
		runtime.GC()
		select {
		case <-collected:
			runtime.KeepAlive(p)
			runtime.KeepAlive(ir)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	runtime.KeepAlive(p)
	runtime.KeepAlive(ir)
	t.Fatal("the file's bytes are still reachable from the plan or the reload's base after the batched read")
}

// stringsIn counts, by field path, the strings reachable from v whose
// bytes lie in [lo, hi).
func stringsIn(v reflect.Value, path string, lo, hi uintptr, seen map[uintptr]bool, out map[string]int) {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); s != "" {
			if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= lo && p < hi {
				out[path]++
			}
		}
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		if v.Kind() == reflect.Pointer {
			if seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
		}
		stringsIn(v.Elem(), path, lo, hi, seen, out)
	case reflect.Struct:
		for i := range v.NumField() {
			stringsIn(v.Field(i), path+"."+v.Type().Field(i).Name, lo, hi, seen, out)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			stringsIn(v.Index(i), path+"[]", lo, hi, seen, out)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			stringsIn(it.Key(), path+"{key}", lo, hi, seen, out)
			stringsIn(it.Value(), path+"{}", lo, hi, seen, out)
		}
	}
}
