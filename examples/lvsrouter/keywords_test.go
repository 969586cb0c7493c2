package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/keepalivedconf"
)

var updateKeywords = flag.Bool("update-keywords", false, "rewrite KEYWORDS.md and testdata/kwprobe from keywords.go")

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestKeywordTableCoversKeepalived: the table has one row for every
// keyword keepalivedconf knows in every context, and nothing else.
func TestKeywordTableCoversKeepalived(t *testing.T) {
	want := map[[2]string]bool{}
	for ctx, words := range keepalivedconf.Keywords() {
		for _, w := range words {
			want[[2]string{ctx, w}] = true
		}
	}
	seen := map[[2]string]bool{}
	for _, r := range keywordTable {
		k := [2]string{r.Context, r.Keyword}
		if seen[k] {
			t.Errorf("%s %s: two rows", r.Context, r.Keyword)
		}
		seen[k] = true
		if !want[k] {
			t.Errorf("%s %s: in the table, but keepalived 2.2.7 does not know it there", r.Context, r.Keyword)
		}
		if r.Implemented() == (r.Reason != "") {
			t.Errorf("%s %s: a row is implemented (with a test) or refused (with a reason), not both or neither", r.Context, r.Keyword)
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("%s %s: keepalived knows it, the table has no row", k[0], k[1])
		}
	}
}

// TestKeywordTableTests: every implemented row names a test function that
// exists in the module (whatever its build tags).
func TestKeywordTableTests(t *testing.T) {
	decl := regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]*)\(`)
	funcs := map[string]bool{}
	err := filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "../.." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllSubmatch(b, -1) {
			funcs[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range keywordTable {
		if r.Implemented() && !funcs[r.Test] {
			t.Errorf("%s %s: shown by %s, which no _test.go file defines", r.Context, r.Keyword, r.Test)
		}
	}
}

// TestKeywordTableTruth runs a minimal configuration using each keyword
// through the -t path (load): a refused keyword fails with "not supported
// by lvsrouter" and its file:line:col; an implemented one is not refused.
func TestKeywordTableTruth(t *testing.T) {
	dir := t.TempDir()
	for _, p := range keywordProbes() {
		if p.Broken || p.Context == "" {
			continue
		}
		st, _ := lookupKeyword(p.Context, p.Keyword)
		path := filepath.Join(dir, p.Name+".conf")
		mustWrite(t, path, []byte(p.Text))
		_, _, err := load(path, anyInterface)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		place := fmt.Sprintf("%s:%d:%d: ", path, p.Line, p.Col)
		if st.Implemented() {
			if strings.Contains(msg, "not supported by lvsrouter") {
				t.Errorf("%s %s is implemented, but refused:\n%s", p.Context, p.Keyword, msg)
			}
			continue
		}
		// A keyword inside a refused block is refused with the block.
		if parent, opener := parentContext(p.Context); parent != "" {
			if ps, _ := lookupKeyword(parent, opener); !ps.Implemented() {
				if !strings.Contains(msg, opener+" is not supported by lvsrouter ("+ps.Reason+")") {
					t.Errorf("%s %s is in a refused block, but -t said:\n%s", p.Context, p.Keyword, msg)
				}
				continue
			}
		}
		if !strings.Contains(msg, place) || !strings.Contains(msg, p.Keyword+" is not supported by lvsrouter ("+st.Reason+")") {
			t.Errorf("%s %s is refused, but -t said:\n%s\nwant %s...%s is not supported by lvsrouter", p.Context, p.Keyword, msg, place, p.Keyword)
		}
	}
}

// parentContext returns the context holding the block of a context, and
// the keyword opening it ("" for the top level).
func parentContext(context string) (parent, opener string) {
	switch context {
	case "top":
		return "", ""
	case "authentication":
		return "vrrp_instance", context
	case "real_server":
		return "virtual_server", context
	case "url":
		return "HTTP_GET", context
	case "host":
		return "SMTP_CHECK", context
	case "global_defs", "vrrp_instance", "vrrp_script", "vrrp_sync_group", "track_file", "track_group",
		"vrrp_track_process", "garp_group", "SSL", "bfd_instance", "virtual_server":
		return "top", context
	}
	return "real_server", context // the checkers
}

// TestKeywordsMarkdown: KEYWORDS.md is `lvsrouter -keywords` (go test
// -run TestKeywordsMarkdown -update-keywords rewrites it).
func TestKeywordsMarkdown(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-keywords"}, &out, &errb); code != 0 {
		t.Fatalf("lvsrouter -keywords exited %d: %s", code, errb.String())
	}
	var b bytes.Buffer
	if err := writeKeywords(&b); err != nil {
		t.Fatal(err)
	}
	if out.String() != b.String() {
		t.Errorf("lvsrouter -keywords does not print the table")
	}
	if *updateKeywords {
		mustWrite(t, "KEYWORDS.md", out.Bytes())
	}
	if got := mustRead(t, "KEYWORDS.md"); got != out.String() {
		t.Errorf("KEYWORDS.md is stale: go test ./examples/lvsrouter -run TestKeywordsMarkdown -update-keywords")
	}
	for _, r := range keywordTable {
		if !strings.Contains(out.String(), "| "+r.Context+" | `"+r.Keyword+"` |") {
			t.Errorf("%s %s not in the Markdown table", r.Context, r.Keyword)
		}
	}
}

// probe is one configuration of the keyword probes: one keyword in its
// context in a minimal configuration (or, Broken, with a bad value), or a
// named -t fidelity case (Context empty).
type probe struct {
	Name             string
	Context, Keyword string
	Broken           bool
	Text             string
	// Line and Col are where the keyword's statement is.
	Line, Col int
}

// Pieces of the probe configurations. The interface is the one the
// differential creates in its namespace.
const (
	probeIf       = "kwp0"
	probeInstance = "vrrp_instance VI_1 {\n  interface " + probeIf + "\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.0.0.1\n  }\n@@}\n"
	probeVS       = "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n@@  real_server 10.0.1.1 80 {\n@RS@  }\n}\n"
)

// probeTemplate returns the configuration for a keyword line in context,
// with "@@" at the start of the line where it goes, and the block depth
// there.
func probeTemplate(context string) (string, int) {
	rs := func(inner string) string {
		return strings.Replace(strings.Replace(probeVS, "@@", "", 1), "@RS@", inner, 1)
	}
	switch context {
	case "top":
		return "@@", 0
	case "global_defs":
		return "global_defs {\n@@}\n", 1
	case "vrrp_instance":
		return probeInstance, 1
	case "authentication":
		return strings.Replace(probeInstance, "@@", "  authentication {\n    auth_type PASS\n@@  }\n", 1), 2
	case "vrrp_script":
		return "vrrp_script chk {\n  script \"/bin/true\"\n@@}\n", 1
	case "vrrp_sync_group":
		return strings.Replace(probeInstance, "@@", "", 1) + "vrrp_sync_group SG {\n  group {\n    VI_1\n  }\n@@}\n", 1
	case "track_file":
		return "track_file tf1 {\n  file /tmp/lvsrouter-kwprobe-track\n@@}\n", 1
	case "track_group":
		return strings.Replace(probeInstance, "@@", "", 1) + "track_group TG {\n@@}\n", 1
	case "vrrp_track_process":
		return "vrrp_track_process tp {\n  process sshd\n@@}\n", 1
	case "garp_group":
		return "garp_group {\n  interface " + probeIf + "\n@@}\n", 1
	case "SSL":
		return "SSL {\n@@}\n", 1
	case "bfd_instance":
		return "bfd_instance B1 {\n  neighbor_ip 10.0.0.2\n@@}\n", 1
	case "virtual_server":
		return strings.Replace(probeVS, "@RS@", "", 1), 1
	case "real_server":
		return rs("@@"), 2
	case "url":
		return rs("    HTTP_GET {\n      url {\n        path /\n@@      }\n    }\n"), 4
	case "host":
		return rs("    SMTP_CHECK {\n      host {\n        connect_ip 10.0.1.1\n@@      }\n    }\n"), 4
	case "MISC_CHECK":
		return rs("    MISC_CHECK {\n      misc_path /bin/true\n@@    }\n"), 3
	case "FILE_CHECK":
		return "track_file tf1 {\n  file /tmp/lvsrouter-kwprobe-track\n}\n" + rs("    FILE_CHECK {\n      track_file tf1\n@@    }\n"), 3
	case "BFD_CHECK":
		return "bfd_instance B1 {\n  neighbor_ip 10.0.0.2\n}\n" + rs("    BFD_CHECK {\n      name B1\n@@    }\n"), 3
	case "HTTP_GET", "SSL_GET":
		return rs("    " + context + " {\n      url {\n        path /\n      }\n@@    }\n"), 3
	}
	return rs("    " + context + " {\n@@    }\n"), 3
}

// probeSample is a good keyword line (after its indentation) for the
// keyword in context; probeBroken a bad one, or "" when there is none.
var probeSample = map[string]string{
	"top SSL":                      "SSL {\n}",
	"top bfd_instance":             "bfd_instance B1 {\n  neighbor_ip 10.0.0.2\n}",
	"top child_wait_time":          "child_wait_time 5",
	"top garp_group":               "garp_group {\n  garp_interval 1\n  interface " + probeIf + "\n}",
	"top global_defs":              "global_defs {\n  router_id kwprobe\n}",
	"top instance":                 "instance kwprobe",
	"top interface_up_down_delays": "interface_up_down_delays {\n  " + probeIf + " 1 1\n}",
	"top linkbeat_interfaces":      "linkbeat_interfaces {\n  " + probeIf + "\n}",
	"top net_namespace":            "net_namespace kwprobe",
	"top net_namespace_ipvs":       "net_namespace_ipvs kwprobe",
	"top static_ipaddress":         "static_ipaddress {\n  10.9.9.9/32 dev " + probeIf + "\n}",
	"top static_routes":            "static_routes {\n  10.8.0.0/16 dev " + probeIf + "\n}",
	"top static_rules":             "static_rules {\n  from 10.9.9.9 table 100 priority 100\n}",
	"top track_file":               "track_file tf1 {\n  file /tmp/lvsrouter-kwprobe-track\n}",
	"top vrrp_track_file":          "vrrp_track_file tf1 {\n  file /tmp/lvsrouter-kwprobe-track\n}",
	"top track_group":              "track_group TG {\n  group {\n    VI_1\n  }\n}\n" + strings.Replace(probeInstance, "@@", "", 1),
	"top virtual_server":           strings.Replace(strings.Replace(probeVS, "@@", "", 1), "@RS@", "", 1),
	"top virtual_server_group":     "virtual_server_group G1 {\n  10.0.0.5 80\n}\n" + strings.Replace(strings.Replace(strings.Replace(probeVS, "@@", "", 1), "@RS@", "", 1), "10.0.0.1 80", "group G1", 1),
	"top vrrp_instance":            strings.Replace(probeInstance, "@@", "", 1),
	"top vrrp_script":              "vrrp_script chk {\n  script \"/bin/true\"\n}",
	"top vrrp_sync_group":          "vrrp_sync_group SG {\n  group {\n    VI_1\n  }\n}\n" + strings.Replace(probeInstance, "@@", "", 1),
	"top vrrp_track_process":       "vrrp_track_process tp {\n  process sshd\n}",

	"global_defs router_id":                  "router_id kwprobe",
	"global_defs notification_email":         "notification_email {\n    root@localhost\n  }",
	"global_defs notification_email_from":    "notification_email_from kw@localhost",
	"global_defs smtp_server":                "smtp_server 127.0.0.1",
	"global_defs smtp_helo_name":             "smtp_helo_name kwprobe",
	"global_defs script_user":                "script_user root",
	"global_defs dbus_service_name":          "dbus_service_name org.keepalived.kwprobe",
	"global_defs default_interface":          "default_interface " + probeIf,
	"global_defs lvs_sync_daemon":            "lvs_sync_daemon " + probeIf + " VI_1",
	"global_defs lvs_timeouts":               "lvs_timeouts tcp 7200 tcpfin 120 udp 300",
	"global_defs vrrp_mcast_group4":          "vrrp_mcast_group4 224.0.0.18",
	"global_defs vrrp_mcast_group6":          "vrrp_mcast_group6 ff02::12",
	"global_defs notify_fifo":                "notify_fifo /tmp/lvsrouter-kwprobe.fifo",
	"global_defs vrrp_notify_fifo":           "vrrp_notify_fifo /tmp/lvsrouter-kwprobe-vrrp.fifo",
	"global_defs lvs_notify_fifo":            "lvs_notify_fifo /tmp/lvsrouter-kwprobe-lvs.fifo",
	"global_defs notify_fifo_script":         "notify_fifo_script /bin/true",
	"global_defs vrrp_notify_fifo_script":    "vrrp_notify_fifo_script /bin/true",
	"global_defs lvs_notify_fifo_script":     "lvs_notify_fifo_script /bin/true",
	"global_defs startup_script":             "startup_script /bin/true",
	"global_defs shutdown_script":            "shutdown_script /bin/true",
	"global_defs config_save_dir":            "config_save_dir /tmp",
	"global_defs tmp_config_directory":       "tmp_config_directory /tmp",
	"global_defs reload_file":                "reload_file /tmp/lvsrouter-kwprobe-reload",
	"global_defs reload_time_file":           "reload_time_file /tmp/lvsrouter-kwprobe-reload-time",
	"global_defs snmp_socket":                "snmp_socket udp:localhost:705",
	"global_defs umask":                      "umask 022",
	"global_defs vmac_prefix":                "vmac_prefix vrrp",
	"global_defs vmac_addr_prefix":           "vmac_addr_prefix vrrp",
	"global_defs vrrp_rx_bufs_policy":        "vrrp_rx_bufs_policy MTU",
	"global_defs process_name":               "process_name kwprobe",
	"global_defs process_names":              "process_names",
	"global_defs vrrp_process_name":          "vrrp_process_name kwprobe_vrrp",
	"global_defs checker_process_name":       "checker_process_name kwprobe_checker",
	"global_defs bfd_process_name":           "bfd_process_name kwprobe_bfd",
	"global_defs lvs_process_name":           "lvs_process_name kwprobe_lvs",
	"global_defs vrrp_iptables":              "vrrp_iptables",
	"global_defs nftables":                   "nftables",
	"global_defs nftables_ipvs_start_fwmark": "nftables_ipvs_start_fwmark 1000",
	"global_defs vrrp_garp_interval":         "vrrp_garp_interval 0.01",
	"global_defs vrrp_gna_interval":          "vrrp_gna_interval 0.01",
	"global_defs vrrp_version":               "vrrp_version 3",
	"global_defs include_check":              "include_check",
	"global_defs random_seed":                "random_seed 42",
	"global_defs min_auto_priority_delay":    "min_auto_priority_delay 1000",
	"global_defs max_auto_priority":          "max_auto_priority 10",
	"global_defs reload_repeat":              "reload_repeat 1",

	"vrrp_instance interface":                  "interface " + probeIf,
	"vrrp_instance state":                      "state BACKUP",
	"vrrp_instance virtual_router_id":          "virtual_router_id 52",
	"vrrp_instance priority":                   "priority 150",
	"vrrp_instance advert_int":                 "advert_int 2",
	"vrrp_instance version":                    "version 3",
	"vrrp_instance authentication":             "authentication {\n    auth_type PASS\n    auth_pass secret\n  }",
	"vrrp_instance virtual_ipaddress":          "virtual_ipaddress {\n    10.0.0.2/24 dev " + probeIf + "\n  }",
	"vrrp_instance virtual_ipaddress_excluded": "virtual_ipaddress_excluded {\n    10.0.0.3\n  }",
	"vrrp_instance virtual_routes":             "virtual_routes {\n    10.8.0.0/16 dev " + probeIf + "\n  }",
	"vrrp_instance virtual_rules":              "virtual_rules {\n    from 10.0.0.1 table 100 priority 100\n  }",
	"vrrp_instance unicast_peer":               "unicast_peer {\n    10.0.0.9\n  }",
	"vrrp_instance unicast_src_ip":             "unicast_src_ip 10.0.0.8",
	"vrrp_instance mcast_src_ip":               "mcast_src_ip 10.0.0.8",
	"vrrp_instance mcast_dst_ip":               "mcast_dst_ip 224.0.0.18",
	"vrrp_instance track_src_ip":               "track_src_ip",
	"vrrp_instance track_interface":            "track_interface {\n    " + probeIf + " weight -10\n  }",
	"vrrp_instance track_script":               "track_script {\n    chk\n  }",
	"vrrp_instance track_file":                 "track_file {\n    tf1\n  }",
	"vrrp_instance track_process":              "track_process {\n    tp\n  }",
	"vrrp_instance track_bfd":                  "track_bfd {\n    B1\n  }",
	"vrrp_instance preempt_delay":              "preempt_delay 10",
	"vrrp_instance garp_master_delay":          "garp_master_delay 2",
	"vrrp_instance garp_master_refresh":        "garp_master_refresh 60",
	"vrrp_instance garp_master_repeat":         "garp_master_repeat 3",
	"vrrp_instance garp_master_refresh_repeat": "garp_master_refresh_repeat 2",
	"vrrp_instance garp_lower_prio_delay":      "garp_lower_prio_delay 2",
	"vrrp_instance garp_lower_prio_repeat":     "garp_lower_prio_repeat 2",
	"vrrp_instance down_timer_adverts":         "down_timer_adverts 4",
	"vrrp_instance unicast_ttl":                "unicast_ttl 10",
	"vrrp_instance kernel_rx_buf_size":         "kernel_rx_buf_size 65536",
	"vrrp_instance lvs_sync_daemon_interface":  "lvs_sync_daemon_interface " + probeIf,
	"vrrp_instance use_vmac":                   "use_vmac vrrp.51",
	"vrrp_instance use_vmac_addr":              "use_vmac_addr",
	"vrrp_instance vmac_xmit_base":             "vmac_xmit_base",
	"vrrp_instance use_ipvlan":                 "use_ipvlan 10.0.0.7/24",
	"vrrp_instance garp_extra_if":              "garp_extra_if 10",
	"vrrp_instance vrf":                        "vrf kwvrf",
	"vrrp_instance debug":                      "debug 1",
	"vrrp_instance linkbeat_use_polling":       "linkbeat_use_polling",
	"vrrp_instance notify":                     "notify /bin/true",
	"vrrp_instance notify_master":              "notify_master /bin/true",
	"vrrp_instance notify_backup":              "notify_backup /bin/true",
	"vrrp_instance notify_fault":               "notify_fault /bin/true",
	"vrrp_instance notify_stop":                "notify_stop /bin/true",
	"vrrp_instance notify_deleted":             "notify_deleted",
	"vrrp_instance notify_master_rx_lower_pri": "notify_master_rx_lower_pri /bin/true",

	"authentication auth_type": "auth_type PASS",
	"authentication auth_pass": "auth_pass secret",

	"vrrp_script script":   "script \"/bin/true\"",
	"vrrp_script interval": "interval 2",
	"vrrp_script timeout":  "timeout 3",
	"vrrp_script weight":   "weight -20",
	"vrrp_script rise":     "rise 2",
	"vrrp_script fall":     "fall 2",
	"vrrp_script user":     "user root",

	"vrrp_sync_group group":                      "group {\n    VI_1\n  }",
	"vrrp_sync_group notify":                     "notify /bin/true",
	"vrrp_sync_group notify_master":              "notify_master /bin/true",
	"vrrp_sync_group notify_backup":              "notify_backup /bin/true",
	"vrrp_sync_group notify_fault":               "notify_fault /bin/true",
	"vrrp_sync_group notify_stop":                "notify_stop /bin/true",
	"vrrp_sync_group track_interface":            "track_interface {\n    " + probeIf + "\n  }",
	"vrrp_sync_group track_script":               "track_script {\n    chk\n  }",
	"vrrp_sync_group track_file":                 "track_file {\n    tf1\n  }",
	"vrrp_sync_group track_process":              "track_process {\n    tp\n  }",
	"vrrp_sync_group track_bfd":                  "track_bfd {\n    B1\n  }",
	"vrrp_sync_group sync_group_tracking_weight": "sync_group_tracking_weight",

	"track_file file":   "file /tmp/lvsrouter-kwprobe-track2",
	"track_file weight": "weight -10",
	"track_group group": "group {\n    VI_1\n  }",

	"vrrp_track_process process":         "process sshd",
	"vrrp_track_process param_match":     "param_match initial",
	"vrrp_track_process weight":          "weight -10",
	"vrrp_track_process quorum":          "quorum 1",
	"vrrp_track_process quorum_max":      "quorum_max 2",
	"vrrp_track_process delay":           "delay 1",
	"vrrp_track_process terminate_delay": "terminate_delay 1",
	"vrrp_track_process fork_delay":      "fork_delay 1",
	"vrrp_track_process full_command":    "full_command",

	"garp_group garp_interval": "garp_interval 1",
	"garp_group gna_interval":  "gna_interval 1",
	"garp_group interface":     "interface " + probeIf,
	"garp_group interfaces":    "interfaces {\n    " + probeIf + "\n  }",

	"SSL password":    "password secret",
	"SSL ca":          "ca /etc/ssl/certs/ca-certificates.crt",
	"SSL certificate": "certificate /etc/ssl/certs/ca-certificates.crt",
	"SSL key":         "key /etc/ssl/certs/ca-certificates.crt",

	"bfd_instance neighbor_ip":  "neighbor_ip 10.0.0.3",
	"bfd_instance neighbour_ip": "neighbour_ip 10.0.0.3",
	"bfd_instance source_ip":    "source_ip 10.0.0.8",
	"bfd_instance min_rx":       "min_rx 100",
	"bfd_instance min_tx":       "min_tx 100",
	"bfd_instance idle_tx":      "idle_tx 1000",
	"bfd_instance multiplier":   "multiplier 3",
	"bfd_instance ttl":          "ttl 64",
	"bfd_instance hoplimit":     "hoplimit 64",
	"bfd_instance max_hops":     "max_hops 2",
	"bfd_instance weight":       "weight -10",

	"virtual_server lb_algo":                 "lb_algo wlc",
	"virtual_server lvs_sched":               "lvs_sched wlc",
	"virtual_server lb_kind":                 "lb_kind DR",
	"virtual_server lvs_method":              "lvs_method DR",
	"virtual_server protocol":                "protocol TCP",
	"virtual_server persistence_timeout":     "persistence_timeout 300",
	"virtual_server persistence_granularity": "persistence_granularity 255.255.255.0",
	"virtual_server persistence_engine":      "persistence_engine sip",
	"virtual_server sorry_server":            "sorry_server 10.0.1.99 80",
	"virtual_server sorry_server_lvs_method": "sorry_server_lvs_method DR",
	"virtual_server quorum":                  "quorum 1",
	"virtual_server hysteresis":              "hysteresis 0",
	"virtual_server quorum_up":               "quorum_up /bin/true",
	"virtual_server quorum_down":             "quorum_down /bin/true",
	"virtual_server delay_loop":              "delay_loop 10",
	"virtual_server virtualhost":             "virtualhost www.example.com",
	"virtual_server snmp_name":               "snmp_name kwprobe",
	"virtual_server ip_family":               "ip_family inet",
	"virtual_server real_server":             "real_server 10.0.1.2 80 {\n  }",
	"virtual_server weight":                  "weight 2",
	"virtual_server connect_timeout":         "connect_timeout 3",
	"virtual_server retry":                   "retry 2",
	"virtual_server delay_before_retry":      "delay_before_retry 2",
	"virtual_server warmup":                  "warmup 2",

	"real_server weight":             "weight 2",
	"real_server notify_up":          "notify_up /bin/true",
	"real_server notify_down":        "notify_down /bin/true",
	"real_server lvs_method":         "lvs_method DR",
	"real_server uthreshold":         "uthreshold 100",
	"real_server lthreshold":         "lthreshold 10",
	"real_server snmp_name":          "snmp_name kwprobe",
	"real_server virtualhost":        "virtualhost www.example.com",
	"real_server connect_timeout":    "connect_timeout 3",
	"real_server retry":              "retry 2",
	"real_server delay_before_retry": "delay_before_retry 2",
	"real_server delay_loop":         "delay_loop 10",
	"real_server warmup":             "warmup 2",
	"real_server TCP_CHECK":          "TCP_CHECK {\n      connect_timeout 3\n    }",
	"real_server HTTP_GET":           "HTTP_GET {\n      url {\n        path /\n      }\n    }",
	"real_server SSL_GET":            "SSL_GET {\n      url {\n        path /\n      }\n    }",
	"real_server SMTP_CHECK":         "SMTP_CHECK {\n      helo_name kwprobe\n    }",
	"real_server DNS_CHECK":          "DNS_CHECK {\n      name www.example.com\n    }",
	"real_server UDP_CHECK":          "UDP_CHECK {\n      connect_port 53\n    }",
	"real_server PING_CHECK":         "PING_CHECK {\n    }",
	"real_server MISC_CHECK":         "MISC_CHECK {\n      misc_path /bin/true\n    }",
	"real_server FILE_CHECK":         "FILE_CHECK {\n      track_file tf1\n    }",
	"real_server BFD_CHECK":          "BFD_CHECK {\n      name B1\n    }",

	"url path":             "path /healthz",
	"url digest":           "digest 9b3a0c85a887a256d6939da88aabd8cd",
	"url status_code":      "status_code 200-299",
	"url virtualhost":      "virtualhost www.example.com",
	"url regex":            "regex \"OK\"",
	"url regex_no_match":   "regex_no_match",
	"url regex_options":    "regex_options caseless",
	"url regex_min_offset": "regex_min_offset 0",
	"url regex_max_offset": "regex_max_offset 100",
	"url regex_stack":      "regex_stack 1000",

	"MISC_CHECK misc_path":       "misc_path /bin/true",
	"MISC_CHECK misc_timeout":    "misc_timeout 3",
	"MISC_CHECK user":            "user root",
	"FILE_CHECK track_file":      "track_file tf1",
	"FILE_CHECK weight":          "weight -10",
	"BFD_CHECK name":             "name B1",
	"SMTP_CHECK host":            "host {\n        connect_ip 10.0.1.1\n      }",
	"SMTP_CHECK helo_name":       "helo_name kwprobe",
	"DNS_CHECK type":             "type A",
	"DNS_CHECK name":             "name www.example.com",
	"UDP_CHECK payload":          "payload 00ff",
	"UDP_CHECK require_reply":    "require_reply",
	"UDP_CHECK min_reply_length": "min_reply_length 1",
	"UDP_CHECK max_reply_length": "max_reply_length 100",
}

// probeCheckerSample is the sample of a keyword every connecting checker
// has (install_checker_common_keywords).
var probeCheckerSample = map[string]string{
	"connect_ip": "connect_ip 10.0.1.1", "connect_port": "connect_port 8080", "bindto": "bindto 10.0.0.8",
	"bind_port": "bind_port 10000", "bind_if": "bind_if " + probeIf, "connect_timeout": "connect_timeout 3",
	"fwmark": "fwmark 5", "retry": "retry 2", "delay_before_retry": "delay_before_retry 2",
	"warmup": "warmup 2", "delay_loop": "delay_loop 10", "nb_get_retry": "nb_get_retry 2",
	"virtualhost": "virtualhost www.example.com", "http_protocol": "http_protocol 1.1",
	"url": "url {\n        path /ready\n      }",
}

// probeBroken are bad values of implemented keywords, which keepalived -t
// rejects (and lvsrouter -t must reject too).
var probeBroken = map[string]string{
	"global_defs vrrp_version":               "vrrp_version 4",
	"global_defs router_id":                  "router_id",
	"global_defs script_user":                "script_user lvsrouter_no_such_user",
	"global_defs notify_fifo":                "notify_fifo",
	"vrrp_instance interface":                "interface kwnosuch0",
	"vrrp_instance state":                    "state BOGUS",
	"vrrp_instance virtual_router_id":        "virtual_router_id 256",
	"vrrp_instance priority":                 "priority 300",
	"vrrp_instance advert_int":               "advert_int -1",
	"vrrp_instance version":                  "version 4",
	"vrrp_instance preempt_delay":            "preempt_delay 2000",
	"vrrp_instance unicast_src_ip":           "unicast_src_ip 10.0.0.300",
	"vrrp_instance unicast_peer":             "unicast_peer {\n    10.0.0.300\n  }",
	"vrrp_instance garp_master_delay":        "garp_master_delay -1",
	"vrrp_instance virtual_ipaddress":        "virtual_ipaddress {\n    10.0.0.300\n  }",
	"vrrp_instance track_interface":          "track_interface {\n    kwnosuch0\n  }",
	"vrrp_instance track_script":             "track_script {\n    nosuch\n  }",
	"vrrp_instance track_file":               "track_file {\n    nosuch\n  }",
	"vrrp_instance track_bfd":                "track_bfd {\n    nosuch\n  }",
	"vrrp_instance use_vmac":                 "use_vmac a-name-longer-than-fifteen",
	"authentication auth_type":               "auth_type BOGUS",
	"vrrp_script interval":                   "interval 0",
	"vrrp_script weight":                     "weight 300",
	"vrrp_script rise":                       "rise 0",
	"vrrp_script fall":                       "fall 0",
	"vrrp_script timeout":                    "timeout 0",
	"vrrp_script user":                       "user lvsrouter_no_such_user",
	"vrrp_sync_group group":                  "group {\n    NOSUCH\n  }",
	"track_file weight":                      "weight 300",
	"bfd_instance neighbor_ip":               "neighbor_ip 10.0.0.300",
	"bfd_instance min_rx":                    "min_rx 0",
	"bfd_instance multiplier":                "multiplier 0",
	"bfd_instance ttl":                       "ttl 300",
	"virtual_server lb_algo":                 "lb_algo nosuch",
	"virtual_server lb_kind":                 "lb_kind BOGUS",
	"virtual_server protocol":                "protocol BOGUS",
	"virtual_server persistence_timeout":     "persistence_timeout 0",
	"virtual_server persistence_granularity": "persistence_granularity 255.0.255.0",
	"virtual_server sorry_server":            "sorry_server 10.0.1.300 80",
	"virtual_server quorum":                  "quorum 0",
	"virtual_server delay_loop":              "delay_loop 0",
	"real_server weight":                     "weight -1",
	"real_server HTTP_GET":                   "HTTP_GET {\n    }",
	"real_server FILE_CHECK":                 "FILE_CHECK {\n      track_file nosuch\n    }",
	"real_server BFD_CHECK":                  "BFD_CHECK {\n      name nosuch\n    }",
	"real_server MISC_CHECK":                 "MISC_CHECK {\n    }",
	"url status_code":                        "status_code 999",
	"url path":                               "path",
	"DNS_CHECK type":                         "type BOGUS",
	"MISC_CHECK misc_timeout":                "misc_timeout 0",
	"FILE_CHECK weight":                      "weight 300",
	"TCP_CHECK connect_port":                 "connect_port 70000",
	"TCP_CHECK connect_ip":                   "connect_ip 10.0.1.300",
	"TCP_CHECK connect_timeout":              "connect_timeout 0",
	"TCP_CHECK retry":                        "retry -1",
	"TCP_CHECK delay_loop":                   "delay_loop 0",
	"TCP_CHECK bindto":                       "bindto 10.0.0.300",
	"HTTP_GET connect_port":                  "connect_port 70000",
	"SSL_GET connect_port":                   "connect_port 70000",
	"SMTP_CHECK connect_port":                "connect_port 70000",
	"UDP_CHECK connect_port":                 "connect_port 70000",
	"DNS_CHECK connect_port":                 "connect_port 70000",
	"PING_CHECK connect_ip":                  "connect_ip 10.0.1.300",
}

// fidelityProbes are the -t cases of issue 14 beyond single keywords.
var fidelityProbes = map[string]string{
	"duplicate-vrid":          strings.Replace(probeInstance, "@@", "", 1) + strings.Replace(strings.Replace(probeInstance, "@@", "", 1), "VI_1", "VI_2", 1),
	"garp-interval-0":         "global_defs {\n  vrrp_garp_interval 0\n}\n" + strings.Replace(probeInstance, "@@", "", 1),
	"strict-master-not-owner": "global_defs {\n  vrrp_strict\n}\n" + strings.Replace(probeInstance, "@@", "  state MASTER\n", 1),
	"ops-on-tcp":              strings.Replace(strings.Replace(probeVS, "@@", "  ops\n", 1), "@RS@", "", 1),
	"ops-on-udp":              strings.Replace(strings.Replace(strings.Replace(probeVS, "@@", "  ops\n", 1), "@RS@", "", 1), "protocol TCP", "protocol UDP", 1),
	"group-port-mismatch": "virtual_server_group G1 {\n  10.0.0.5 80\n}\n" + strings.Replace(strings.Replace(strings.Replace(probeVS, "@@", "", 1), "@RS@", "", 1), "10.0.0.1 80", "group G1", 1) +
		"virtual_server_group G2 {\n  10.0.0.6 443\n}\n" + strings.Replace(strings.Replace(strings.Replace(strings.Replace(probeVS, "@@", "", 1), "@RS@", "", 1), "10.0.0.1 80", "group G2", 1), "10.0.1.1 80", "10.0.1.1 8443", 1),
	"quorum-above-weight": strings.Replace(strings.Replace(probeVS, "@@", "  quorum 5\n", 1), "@RS@", "", 1),
	"missing-interface":   strings.Replace(strings.Replace(probeInstance, "@@", "", 1), "interface "+probeIf, "interface kwnosuch0", 1),
	"advert-half-v2":      strings.Replace(probeInstance, "@@", "", 1) + "", // advert_int set below
	"advert-half-v3":      "global_defs {\n  vrrp_version 3\n}\n" + strings.Replace(strings.Replace(probeInstance, "@@", "", 1), "advert_int 1", "advert_int 0.5", 1),
	"lo-interface":        strings.Replace(strings.Replace(probeInstance, "@@", "", 1), "interface "+probeIf, "interface lo", 1),
}

func init() {
	fidelityProbes["advert-half-v2"] = strings.Replace(fidelityProbes["advert-half-v2"], "advert_int 1", "advert_int 0.5", 1)
}

// keywordProbes returns the probe configurations: for every row of the
// table, the keyword in its context with a good value, and with a bad one
// where probeBroken has one; then the fidelity cases.
func keywordProbes() []probe {
	var out []probe
	for _, r := range keywordTable {
		key := r.Context + " " + r.Keyword
		line, ok := probeSample[key]
		if !ok {
			line, ok = probeCheckerSample[r.Keyword]
			if !ok || r.Context == "virtual_server" || r.Context == "real_server" || r.Context == "vrrp_instance" || r.Context == "global_defs" {
				line = probeSample[key]
			}
		}
		if line == "" {
			line = r.Keyword
			if !isFlag(r.Context, r.Keyword) {
				line += " 1"
			}
		}
		name := strings.NewReplacer("_", "-", " ", "-").Replace(strings.ToLower(r.Context + "-" + r.Keyword))
		out = append(out, makeProbe(name, r.Context, r.Keyword, false, line))
		if bad := probeBroken[key]; bad != "" {
			out = append(out, makeProbe(name+"-broken", r.Context, r.Keyword, true, bad))
		}
	}
	names := make([]string, 0, len(fidelityProbes))
	for n := range fidelityProbes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, probe{Name: "fidelity-" + n, Text: fidelityProbes[n]})
	}
	return out
}

// isFlag reports keywords that take no value.
func isFlag(context, kw string) bool {
	if strings.HasPrefix(kw, "enable_") || strings.HasSuffix(kw, "_no_swap") || strings.HasSuffix(kw, "_force") {
		return true
	}
	return slices.Contains([]string{
		"linkbeat_use_polling", "namespace_with_ipsets", "use_pid_dir",
		"dynamic_interfaces", "fifo_write_vrrp_states_on_reload", "lvs_flush", "lvs_flush_on_stop", "lvs_flush_onstop",
		"nftables_counters", "nftables_ifindex", "nftables_ipvs", "no_checker_emails", "no_email_faults", "vrrp_strict",
		"checker_log_all_failures", "vrrp_check_unicast_src", "vrrp_skip_check_adv_addr", "vrrp_notify_priority_changes",
		"vrrp_higher_prio_send_advert", "vrrp_lower_prio_no_advert", "log_unknown_vrids", "data_use_instance",
		"disable_local_igmp", "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker", "reload_check_config",
		"rs_init_notifies", "enable_traps", "vrrp_min_garp",
		"accept", "no_accept", "nopreempt", "preempt", "dont_track_primary", "native_ipv6", "check_unicast_src",
		"skip_check_adv_addr", "strict_mode", "unicast_fault_no_peer", "old_unicast_checksum", "promote_secondaries",
		"higher_prio_send_advert", "lower_prio_no_advert", "notify_priority_changes", "global_tracking",
		"init_fail", "init_file", "inhibit_on_failure", "alpha", "omega", "ha_suspend", "hashed", "ops",
		"flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback", "sorry_server_inhibit",
		"misc_dynamic", "log_all_failures", "fast_recovery", "enable_sni", "passive", "vrrp", "checker",
		"regex_no_match", "full_command",
	}, kw)
}

// makeProbe puts line into the template of context and records where it
// starts.
func makeProbe(name, context, kw string, broken bool, line string) probe {
	tmpl, depth := probeTemplate(context)
	indent := strings.Repeat("  ", depth)
	// The line replaces a one-line statement of the same keyword the
	// template has at that depth (a second one would be a probe of
	// repetition, which keepalived reports).
	word, _, _ := strings.Cut(line, " ")
	lines := strings.SplitAfter(tmpl, "\n")
	for i, l := range lines {
		if (strings.HasPrefix(l, indent+word+" ") || l == indent+word+"\n") && !strings.HasSuffix(l, "{\n") {
			lines = append(lines[:i], lines[i+1:]...)
			break
		}
	}
	tmpl = strings.Join(lines, "")
	at := strings.Index(tmpl, "@@")
	text := tmpl[:at] + indent + line + "\n" + tmpl[at+2:]
	ln := strings.Count(tmpl[:at], "\n") + 1
	return probe{Name: name, Context: context, Keyword: kw, Broken: broken, Text: text, Line: ln, Col: depth*2 + 1}
}

// TestKeywordProbesAreWritten: testdata/kwprobe holds the probes the
// differential runs (-update-keywords rewrites them).
func TestKeywordProbesAreWritten(t *testing.T) {
	dir := filepath.Join("testdata", "kwprobe")
	probes := keywordProbes()
	if *updateKeywords {
		old, _ := filepath.Glob(filepath.Join(dir, "*.conf"))
		for _, f := range old {
			os.Remove(f)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range probes {
			mustWrite(t, filepath.Join(dir, p.Name+".conf"), []byte(p.Text))
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.conf"))
	if len(files) != len(probes) {
		t.Errorf("%s has %d probes, keywords.go makes %d: go test -run TestKeywordProbesAreWritten -update-keywords", dir, len(files), len(probes))
	}
	for _, p := range probes {
		b, err := os.ReadFile(filepath.Join(dir, p.Name+".conf"))
		if err != nil || string(b) != p.Text {
			t.Errorf("%s: stale or missing (-update-keywords)", p.Name)
		}
	}
	if len(probes) < 150 {
		t.Errorf("only %d probes", len(probes))
	}
}
