package main

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vrrp"
)

func testOps(t *testing.T) *Router {
	t.Helper()
	r := newRouter(slog.New(slog.DiscardHandler))
	c := vrrp.Config{Name: "VI_1", Interface: "eth0", VRID: 51, Version: 2, Priority: 100, Interval: time.Second,
		AuthType: vrrp.AuthSimple, AuthPass: "secret",
		VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.9.0.100/24")}, {Prefix: netip.MustParsePrefix("10.9.0.101/32"), Dev: "eth1"}}}
	r.ops.addUnit(vrrpUnit{Instances: []vrrp.Config{c}}, &vrrp.Router{})
	return r
}

// keepalivedJSONFields are keepalived 2.2.7's vrrp_json.c "data" fields in
// order, for an instance with VIPs and PASS authentication and without
// scripts or tracking (the JSON build has no firewall-less variant here).
var keepalivedJSONFields = []string{"iname", "dont_track_primary", "skip_check_adv_addr", "strict_mode", "vmac_ifname",
	"ifp_ifname", "master_priority", "last_transition", "garp_delay", "garp_refresh", "garp_rep", "garp_refresh_rep",
	"garp_lower_prio_delay", "garp_lower_prio_rep", "lower_prio_no_advert", "higher_prio_send_advert", "vrid",
	"base_priority", "effective_priority", "vipset", "promote_secondaries", "adver_int", "master_adver_int", "accept",
	"nopreempt", "preempt_delay", "state", "wantstate", "version", "smtp_alert", "notify_deleted", "vips",
	"auth_type", "auth_data"}

var keepalivedStatsFields = []string{"advert_rcvd", "advert_sent", "become_master", "release_master", "packet_len_err",
	"advert_interval_err", "ip_ttl_err", "invalid_type_rcvd", "addr_list_err", "invalid_authtype", "authtype_mismatch",
	"auth_failure", "pri_zero_rcvd", "pri_zero_sent"}

// keys returns an object's keys in their order.
func keys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	var out []string
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	for dec.More() {
		k, _ := dec.Token()
		out = append(out, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	return out
}

func TestJSONDumpLayout(t *testing.T) {
	r := testOps(t)
	r.ops.transition(r.log, "VI_1", vrrp.Transition{From: vrrp.StateBackup, To: vrrp.StateMaster})
	r.ops.transition(r.log, "VI_1", vrrp.Transition{From: vrrp.StateMaster, To: vrrp.StateBackup})
	r.ops.transition(r.log, "VI_1", vrrp.Transition{From: vrrp.StateBackup, To: vrrp.StateMaster})
	var dump []struct{ Data, Stats json.RawMessage }
	if err := json.Unmarshal(r.ops.jsonDump(), &dump); err != nil || len(dump) != 1 {
		t.Fatalf("%v: %s", err, r.ops.jsonDump())
	}
	if got := keys(t, dump[0].Data); strings.Join(got, " ") != strings.Join(keepalivedJSONFields, " ") {
		t.Errorf("data fields\n%v\nwant\n%v", got, keepalivedJSONFields)
	}
	if got := keys(t, dump[0].Stats); strings.Join(got, " ") != strings.Join(keepalivedStatsFields, " ") {
		t.Errorf("stats fields\n%v\nwant\n%v", got, keepalivedStatsFields)
	}
	var data map[string]any
	var stats map[string]float64
	json.Unmarshal(dump[0].Data, &data)
	json.Unmarshal(dump[0].Stats, &stats)
	if data["iname"] != "VI_1" || data["vrid"] != 51.0 || data["base_priority"] != 100.0 || data["version"] != 2.0 ||
		data["adver_int"] != 1.0 || data["auth_type"] != 1.0 || data["auth_data"] != "secret" {
		t.Errorf("data %v", data)
	}
	if vips := data["vips"].([]any); len(vips) != 2 || vips[0] != "10.9.0.100/24 dev eth0 scope global" || vips[1] != "10.9.0.101 dev eth1 scope global" {
		t.Errorf("vips %v", vips)
	}
	if stats["become_master"] != 2 || stats["release_master"] != 1 {
		t.Errorf("stats %v", stats)
	}
	r.ops.clearStats()
	json.Unmarshal(r.ops.jsonDump(), &dump)
	json.Unmarshal(dump[0].Stats, &stats)
	if stats["become_master"] != 0 {
		t.Errorf("after STATS_CLEAR %v", stats)
	}
}

func TestStatsText(t *testing.T) {
	r := testOps(t)
	r.ops.transition(r.log, "VI_1", vrrp.Transition{From: vrrp.StateBackup, To: vrrp.StateMaster})
	want := `VRRP Instance: VI_1
  Advertisements:
    Received: 0
    Sent: 0
  Became master: 1
  Released master: 0
  Packet Errors:
    Length: 0
    TTL: 0
    Invalid Type: 0
    Advertisement Interval: 0
    Address List: 0
  Authentication Errors:
    Invalid Type: 0
    Type Mismatch: 0
    Failure: 0
  Priority Zero:
    Received: 0
    Sent: 0
`
	if got := string(r.ops.statsText()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := string(r.dataText()); !strings.Contains(got, " VRRP Instance = VI_1\n   VRRP Version = 2\n") || !strings.Contains(got, "   Virtual IP (2):\n     10.9.0.100/24 dev eth0 scope global\n") {
		t.Errorf("data\n%s", got)
	}
}

// TestDumpSignals sends this process keepalived's signals and reads the
// files they write.
func TestDumpSignals(t *testing.T) {
	dir := t.TempDir()
	old := dumpDir
	dumpDir = dir
	t.Cleanup(func() { dumpDir = old })
	r := testOps(t)
	stop := handleDumpSignals(t.Context(), r, r.log)
	defer stop()
	for sig, file := range map[syscall.Signal]string{sigData: "keepalived.data", sigStats: "keepalived.stats", sigJSON: "keepalived.json"} {
		syscall.Kill(os.Getpid(), sig)
		path := filepath.Join(dir, file)
		deadline := time.Now().Add(10 * time.Second)
		for {
			if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), "VI_1") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("signal %d wrote no %s", sig, file)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestNotifyFIFO(t *testing.T) {
	dir := t.TempDir()
	conf := writeConf(t, dir, "k.conf", `global_defs {
  notify_fifo `+dir+`/all.fifo
  vrrp_notify_fifo `+dir+`/vrrp.fifo
  lvs_notify_fifo `+dir+`/lvs.fifo
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority 100
  virtual_ipaddress {
    10.9.0.1
  }
}
`)
	p, warnings, err := load(conf, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	if p.FIFOs != (NotifyFIFOs{All: dir + "/all.fifo", VRRP: dir + "/vrrp.fifo", LVS: dir + "/lvs.fifo"}) {
		t.Errorf("%+v", p.FIFOs)
	}
	for _, w := range warnings {
		if strings.Contains(w.Error(), "notify_fifo") {
			t.Errorf("fifo reported: %v", w)
		}
	}
	// A user after the path is for keepalived's notify_fifo_script, which
	// lvsrouter does not run: refused with its place.
	bad := writeConf(t, dir, "user.conf", strings.Replace(mustRead(t, conf), "/lvs.fifo\n", "/lvs.fifo keepalived_script\n", 1))
	if _, _, err := load(bad, anyInterface); err == nil || !strings.Contains(err.Error(), "user.conf:4:") ||
		!strings.Contains(err.Error(), "lvs_notify_fifo user/group is not supported by lvsrouter") {
		t.Errorf("lvs_notify_fifo with a user: %v, want refused with its place", err)
	}
	r := testOps(t)
	if err := r.ops.setFIFOs(p.FIFOs); err != nil {
		t.Fatal(err)
	}
	type fifoReader struct {
		f *os.File
		*bufio.Reader
	}
	read := func(name string) fifoReader {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return fifoReader{f, bufio.NewReader(f)}
	}
	all, vr, lvs := read("all.fifo"), read("vrrp.fifo"), read("lvs.fifo")
	r.ops.transition(r.log, "VI_1", vrrp.Transition{From: vrrp.StateBackup, To: vrrp.StateMaster})
	k := ipvs.ServiceKey{Family: 2, Protocol: 6, Addr: netip.MustParseAddrPort("10.0.0.1:80")}
	rs := netip.MustParseAddrPort("10.1.0.1:8080")
	reportReal(&r.ops, k, rs, true)
	reportReal(&r.ops, k, rs, false)
	reportService(&r.ops, k, true)
	reportService(&r.ops, k, false)
	line := func(b fifoReader, wait time.Duration) string {
		b.f.SetReadDeadline(time.Now().Add(wait))
		s, _ := b.ReadString(10)
		return s
	}
	for _, tc := range []struct {
		b    fifoReader
		want []string
	}{
		{all, []string{"INSTANCE \"VI_1\" MASTER 100\n", "RS [10.1.0.1]:tcp:8080 [10.0.0.1]:tcp:80 DOWN\n", "VS [10.0.0.1]:tcp:80 DOWN\n"}},
		{vr, []string{"INSTANCE \"VI_1\" MASTER 100\n"}},
		{lvs, []string{"RS [10.1.0.1]:tcp:8080 [10.0.0.1]:tcp:80 DOWN\n", "VS [10.0.0.1]:tcp:80 DOWN\n"}},
	} {
		for _, w := range tc.want {
			if got := line(tc.b, 5*time.Second); got != w {
				t.Errorf("got %q want %q", got, w)
			}
		}
		if got := line(tc.b, 100*time.Millisecond); got != "" {
			t.Errorf("extra line %q", got)
		}
	}
}
