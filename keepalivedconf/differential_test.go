package keepalivedconf

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// envMessage matches what keepalived -t reports about the machine rather
// than the configuration: interfaces that do not exist here, or lo, which
// VRRP refuses.
var envMessage = regexp.MustCompile(`doesn't exist|Non-existent interface|cannot use a loopback interface|Unknown interface|Cannot find an IP address to use for interface`)

// keepalivedAccepts runs `keepalived -t -f` on src and reports whether it
// accepts the configuration, ignoring environment-dependent complaints.
func keepalivedAccepts(t *testing.T, bin, src string) (bool, string) {
	t.Helper()
	return keepalivedAcceptsIn(t, bin, t.TempDir(), src)
}

// keepalivedAcceptsIn is keepalivedAccepts with the configuration written
// as keepalived.conf in dir (where included files may wait).
func keepalivedAcceptsIn(t *testing.T, bin, dir, src string) (bool, string) {
	t.Helper()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// a config id no line uses: keepalived would otherwise match @id lines
	// against the host name, and we read them as with no id
	cmd := exec.CommandContext(ctx, bin, "-t", "-i", "kaconf-no-such-id", "-f", path)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil {
		return true, out.String()
	}
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("keepalived -t: %v", err)
	}
	if ee.ExitCode() < 0 {
		// keepalived 2.2.7 kills itself on some broken configurations
		// (an instance of a sync group without virtual_router_id): that
		// is a rejection too.
		return false, out.String() + ee.String()
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l != "" && !envMessage.MatchString(l) {
			return false, out.String()
		}
	}
	return true, out.String()
}

// weAccept reports whether our parser and checks accept src the way
// `kaconf check` does: no errors and no warnings.
func weAccept(src string) (bool, error) {
	return weAcceptIn("", src)
}

// weAcceptIn is weAccept for a keepalived.conf in dir.
func weAcceptIn(dir, src string) (bool, error) {
	f, _ := Parse(filepath.Join(dir, "keepalived.conf"), []byte(src))
	ex, err := f.Expand()
	if err != nil && hasBlocking(err) {
		return false, err
	}
	cfg, err := ex.Config()
	if err == nil && len(cfg.Warnings) > 0 {
		// keepalived -t exits non-zero on what it warns about, too
		return false, cfg.Warnings
	}
	return !hasBlocking(err), err
}

func hasBlocking(err error) bool {
	return err != nil
}

// keepalivedSamples is where Debian's keepalived package puts its sample
// configurations.
const keepalivedSamples = "/usr/share/doc/keepalived/samples"

const diffVS = `global_defs {
    router_id lb1
    enable_script_security
    script_user root
    notification_email {
        admin@example.com
    }
    notification_email_from lb@example.com
    smtp_server 127.0.0.1
    smtp_connect_timeout 30
}

virtual_server 10.0.0.1 80 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_timeout 300

    real_server 192.168.1.20 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
            connect_port 80
        }
    }
    real_server 192.168.1.21 8080 { weight 2
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 2.5
            retry 3
            delay_before_retry 1
        }
    }
    real_server 192.168.1.22 80 {
        MISC_CHECK {
            misc_path "/bin/true arg"
            misc_timeout 5
        }
    }
}
`

const diffVRRP = `global_defs {
    dynamic_interfaces
    enable_script_security
    script_user root
}

vrrp_script chk {
    script "/bin/true"
    interval 2
    weight 0
    fall 2
    rise 1
}

vrrp_sync_group VG1 {
    group {
        VI_1
        VI_2
    }
}

vrrp_instance VI_1 {
    state MASTER
    interface kaconf0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        192.168.200.16/24
        192.168.200.17 dev kaconf0 label kaconf0:1
    }
    track_script {
        chk
    }
}

vrrp_instance VI_2 {
    state BACKUP
    interface kaconf0
    virtual_router_id 52
    priority 90
    advert_int 0.5
    version 3
    unicast_src_ip 192.168.200.1
    unicast_peer {
        192.168.200.2
    }
    virtual_ipaddress {
        192.168.201.10/24
    }
}

vrrp_instance VI_6 {
    interface kaconf0
    virtual_router_id 53
    virtual_ipaddress {
        2001:db8::10/64
    }
}
`

// diffCase is one configuration of the differential corpus: base with old
// replaced by new (once).
type diffCase struct {
	name, base, old, new string
}

// diffFiles are written beside keepalived.conf for the cases named.
var diffFiles = map[string]map[string]string{
	"include":           {"rs.d/a.conf": "real_server 192.168.1.40 80 {\n    weight 4\n}\n"},
	"include bad value": {"rs.d/a.conf": "real_server 192.168.1.40 80 {\n    weight -4\n}\n"},
}

var diffCases = []diffCase{
	{"vs valid", diffVS, "", ""},
	{"vrrp valid", diffVRRP, "", ""},
	{"seed nat lb1", "", "", ""}, // placeholder replaced by seed files below
	{"priority 0", diffVRRP, "priority 100", "priority 0"},
	{"priority 256", diffVRRP, "priority 100", "priority 256"},
	{"priority 255", diffVRRP, "priority 100", "priority 255"},
	{"priority abc", diffVRRP, "priority 100", "priority abc"},
	{"vrid 0", diffVRRP, "virtual_router_id 51", "virtual_router_id 0"},
	{"vrid 256", diffVRRP, "virtual_router_id 51", "virtual_router_id 256"},
	{"vrid 255", diffVRRP, "virtual_router_id 51", "virtual_router_id 255"},
	{"vrid missing", diffVRRP, "    virtual_router_id 51\n", ""},
	{"advert_int 0", diffVRRP, "advert_int 1", "advert_int 0"},
	{"advert_int 255", diffVRRP, "advert_int 1", "advert_int 255"},
	{"advert_int 256", diffVRRP, "advert_int 1", "advert_int 256"},
	{"advert_int abc", diffVRRP, "advert_int 1", "advert_int abc"},
	{"advert_int 0.01 v3", diffVRRP, "advert_int 0.5", "advert_int 0.01"},
	{"state bad", diffVRRP, "state MASTER", "state PRIMARY"},
	{"auth_type bad", diffVRRP, "auth_type PASS", "auth_type MD5"},
	{"vip bad", diffVRRP, "192.168.200.17 dev", "192.168.200.300 dev"},
	{"vip bad prefix", diffVRRP, "192.168.200.16/24", "192.168.200.16/33"},
	{"unicast peer bad", diffVRRP, "        192.168.200.2\n", "        192.168.200.x\n"},
	{"unicast src bad", diffVRRP, "unicast_src_ip 192.168.200.1", "unicast_src_ip nope"},
	{"sync group unknown member", diffVRRP, "        VI_2\n    }", "        VI_9\n    }"},
	{"track_script unknown", diffVRRP, "        chk\n", "        nochk\n"},
	{"script weight 300", diffVRRP, "weight 0\n    fall", "weight 300\n    fall"},
	{"weighted script in sync group", diffVRRP, "weight 0\n    fall", "weight 10\n    fall"},
	{"vrid missing no sync group", diffVRRP, "vrrp_instance VI_6 {\n    interface kaconf0\n    virtual_router_id 53\n", "vrrp_instance VI_6 {\n    interface kaconf0\n"},
	{"script interval 0", diffVRRP, "interval 2", "interval 0"},
	{"unknown vrrp keyword", diffVRRP, "    advert_int 1\n", "    advert_int 1\n    frobnicate yes\n"},
	{"unknown top keyword", diffVRRP, "vrrp_sync_group", "vrrp_synk_group"},
	{"missing brace", diffVRRP, "    authentication {\n", "    authentication\n"},
	{"extra close brace", diffVRRP, "    }\n}\n\nvrrp_instance VI_2", "    }\n}\n}\n\nvrrp_instance VI_2"},
	{"unclosed block", diffVRRP, "        2001:db8::10/64\n    }\n}\n", "        2001:db8::10/64\n}\n"},
	{"inline braces", diffVRRP, "    track_script {\n        chk\n    }\n", "    track_script { chk }\n"},
	{"brace on next line", diffVRRP, "vrrp_script chk {\n", "vrrp_script chk\n{\n"},
	{"comments everywhere", diffVRRP, "    priority 100\n", "    priority 100 # prio\n    ! bang comment\n"},
	{"lb_algo bad", diffVS, "lb_algo rr", "lb_algo fastest"},
	{"lb_algo mh", diffVS, "lb_algo rr", "lb_algo mh"},
	{"lb_algo wlc", diffVS, "lb_algo rr", "lb_algo wlc"},
	{"lb_kind DR", diffVS, "lb_kind NAT", "lb_kind DR"},
	{"lb_kind TUN", diffVS, "lb_kind NAT", "lb_kind TUN"},
	{"lb_kind bad", diffVS, "lb_kind NAT", "lb_kind NAT44"},
	{"protocol UDP", diffVS, "protocol TCP", "protocol UDP"},
	{"protocol bad", diffVS, "protocol TCP", "protocol ICMP"},
	{"vs address bad", diffVS, "virtual_server 10.0.0.1 80", "virtual_server 10.0.0.256 80"},
	{"vs port 70000", diffVS, "virtual_server 10.0.0.1 80", "virtual_server 10.0.0.1 70000"},
	{"vs port 0", diffVS, "virtual_server 10.0.0.1 80", "virtual_server 10.0.0.1 0"},
	{"vs ipv6", diffVS, "virtual_server 10.0.0.1 80", "virtual_server 2001:db8::1 80"},
	{"vs fwmark", diffVS, "virtual_server 10.0.0.1 80", "virtual_server fwmark 7"},
	{"rs address bad", diffVS, "real_server 192.168.1.20 80", "real_server 192.168.1 80"},
	{"rs port 70000", diffVS, "real_server 192.168.1.20 80", "real_server 192.168.1.20 70000"},
	{"rs weight -1", diffVS, "weight 1", "weight -1"},
	{"rs weight 70000", diffVS, "weight 1", "weight 70000"},
	{"rs weight abc", diffVS, "weight 1", "weight abc"},
	{"connect_timeout 0", diffVS, "connect_timeout 3", "connect_timeout 0"},
	{"connect_timeout abc", diffVS, "connect_timeout 3", "connect_timeout abc"},
	{"connect_timeout fractional", diffVS, "connect_timeout 3", "connect_timeout 0.25"},
	{"connect_port 70000", diffVS, "connect_port 80", "connect_port 70000"},
	{"delay_loop 0", diffVS, "delay_loop 6", "delay_loop 0"},
	{"delay_loop fractional", diffVS, "delay_loop 6", "delay_loop 1.5"},
	{"retry abc", diffVS, "retry 3", "retry abc"},
	{"persistence_timeout 0", diffVS, "persistence_timeout 300", "persistence_timeout 0"},
	{"unknown checker keyword", diffVS, "connect_port 80\n", "connect_port 80\n            frob 1\n"},
	{"unknown rs keyword", diffVS, "weight 1\n", "weight 1\n        frob 1\n"},
	{"smtp_connect_timeout 0", diffVS, "smtp_connect_timeout 30", "smtp_connect_timeout 0"},
	{"extra brace vs", diffVS, "    }\n}\n", "    }\n}\n}\n"},
	{"missing vs close", diffVS, "    }\n}\n", "    }\n"},
	{"stray open", diffVS, "    delay_loop 6\n", "    delay_loop 6\n    {\n    }\n"},
	{"quoted string", diffVS, "path /health", `path "/health"`},
	{"unterminated quote", diffVS, "path /health", `path "/health`},
	{"missing parameter", diffVS, "lb_algo rr", "lb_algo"},
	{"definitions", "$PORT=80\n$IP=10.0.0.1\n" + diffVS, "virtual_server 10.0.0.1 80", "virtual_server $IP $PORT"},
	{"no script security", diffVRRP, "    enable_script_security\n    script_user root\n", ""},
	{"no script security misc", diffVS, "    enable_script_security\n    script_user root\n", ""},
	{"vip family mismatch", diffVRRP, "        192.168.201.10/24\n", "        2001:db8::11/64\n"},
	{"seq weight out of range", diffVS, "    real_server 192.168.1.22 80 {\n", "~SEQ(w, 1, 2) real_server 192.168.1.7$w 80 { weight -$w }\n    real_server 192.168.1.22 80 {\n"},
	{"definition bad address", "$RS=192.168.1.300\n" + diffVS, "real_server 192.168.1.20 80", "real_server $RS 80"},
	{"conditional skipped", diffVRRP, "    priority 100\n", "    priority 100\n    @kaconf-no-such-host priority 300\n"},
	{"conditional negated kept", diffVRRP, "    priority 100\n", "    priority 100\n    @^kaconf-no-such-host priority 300\n"},
	{"multi-line definition", "$CHK=TCP_CHECK { \\\n    connect_timeout 3 \\\n}\n" + diffVS, "        TCP_CHECK {\n            connect_timeout 3\n            connect_port 80\n        }\n", "        $CHK\n"},
	{"include", diffVS, "    real_server 192.168.1.22 80 {", "    include rs.d/*.conf\n    real_server 192.168.1.22 80 {"},
	{"include bad value", diffVS, "    real_server 192.168.1.22 80 {", "    include rs.d/*.conf\n    real_server 192.168.1.22 80 {"},
	{"auth_pass 9 chars", diffVRRP, "auth_pass secret", "auth_pass secret123"},
	{"script weight 253", diffVRRP, "weight 0\n    fall", "weight 253\n    fall"},
	{"script weight 254", diffVRRP, "weight 0\n    fall", "weight 254\n    fall"},
	{"script weight -254", diffVRRP, "weight 0\n    fall", "weight -254\n    fall"},
	{"script rise 0", diffVRRP, "rise 1", "rise 0"},
	{"preempt_delay 1000", diffVRRP, "    advert_int 1\n", "    advert_int 1\n    preempt_delay 1000\n"},
	{"preempt_delay 1001", diffVRRP, "    advert_int 1\n", "    advert_int 1\n    preempt_delay 1001\n"},
	{"garp_master_delay 255", diffVRRP, "    advert_int 1\n", "    advert_int 1\n    garp_master_delay 255\n"},
	{"garp_master_delay 256", diffVRRP, "    advert_int 1\n", "    advert_int 1\n    garp_master_delay 256\n"},
	{"version 4", diffVRRP, "    version 3\n", "    version 4\n"},
	{"version 2 fractional advert", diffVRRP, "    version 3\n", "    version 2\n"},
	{"track weight 254", diffVRRP, "        chk\n", "        chk weight 254\n"},
	{"vrrp_version global 3", diffVRRP, "    dynamic_interfaces\n", "    dynamic_interfaces\n    vrrp_version 3\n"},
	{"vrrp_version global 1", diffVRRP, "    dynamic_interfaces\n", "    dynamic_interfaces\n    vrrp_version 1\n"},
	{"mcast group bad", diffVRRP, "    dynamic_interfaces\n", "    dynamic_interfaces\n    vrrp_mcast_group4 10.0.0.1\n"},
	{"mcast group ok", diffVRRP, "    dynamic_interfaces\n", "    dynamic_interfaces\n    vrrp_mcast_group4 224.0.0.19\n"},
	{"quorum 0", diffVS, "    persistence_timeout 300\n", "    persistence_timeout 300\n    quorum 0\n"},
	{"quorum 2", diffVS, "    persistence_timeout 300\n", "    persistence_timeout 300\n    quorum 2\n"},
	{"persistence_timeout huge", diffVS, "persistence_timeout 300", "persistence_timeout 4294967296"},
	{"delay_before_retry 0", diffVS, "delay_before_retry 1", "delay_before_retry 0"},
	{"retry 0", diffVS, "retry 3", "retry 0"},
	{"sorry_server", diffVS, "    persistence_timeout 300\n", "    persistence_timeout 300\n    sorry_server 192.168.1.99 80\n"},
	{"sorry_server bad", diffVS, "    persistence_timeout 300\n", "    persistence_timeout 300\n    sorry_server 192.168.1.999 80\n"},
	{"smtp_server port", diffVS, "smtp_server 127.0.0.1", "smtp_server 127.0.0.1 2525"},
	{"alpha omega", diffVS, "    persistence_timeout 300\n", "    persistence_timeout 300\n    alpha\n    omega\n"},
	{"inhibit bad bool", diffVS, "weight 1\n", "weight 1\n        inhibit_on_failure maybe\n"},
	{"vs group", "virtual_server_group G {\n    10.0.0.1 80\n    10.0.0.10-20 80\n    fwmark 5\n}\n" + diffVS, "virtual_server 10.0.0.1 80", "virtual_server group G"},
	{"vs group unknown", diffVS, "virtual_server 10.0.0.1 80", "virtual_server group NOPE"},
	{"vs group bad range", "virtual_server_group G {\n    10.0.0.10-300 80\n}\n" + diffVS, "virtual_server 10.0.0.1 80", "virtual_server group G"},
	{"advert_int 40.95 v3", diffVRRP, "advert_int 0.5", "advert_int 40.95"},
	{"advert_int 41 v3", diffVRRP, "advert_int 0.5", "advert_int 41"},
	{"backup priority 255", diffVRRP, "    priority 90\n", "    priority 255\n"},
	{"unicast peer is self", diffVRRP, "        192.168.200.2\n", "        192.168.200.1\n"},
	{"seq", diffVS, "    real_server 192.168.1.22 80 {\n", "~SEQ(i, 30, 32) real_server 192.168.1.$i 80 { weight $i }\n    real_server 192.168.1.22 80 {\n"},
	{"bool flag", diffVRRP, "    advert_int 1\n", "    advert_int 1\n    nopreempt\n    smtp_alert on\n"},
	{"bool bad", diffVRRP, "    advert_int 1\n", "    advert_int 1\n    smtp_alert maybe\n"},
}

// TestDifferentialKeepalived compares our accept/reject decision with
// `keepalived -t -f` on valid configurations and on mutations of them.
func TestDifferentialKeepalived(t *testing.T) {
	bin := testenv.NeedTool(t, "keepalived")
	// keepalived -t run by another user than root judges scripts insecure
	// and rejects what root accepts: compare as root only.
	testenv.NeedRoot(t)
	cases := diffCases
	seeds, _ := filepath.Glob("testdata/seed/*.conf")
	seeds = append(seeds, "testdata/checkers.conf")
	// keepalived's own sample configurations, when the package installed
	// its documentation
	samples, _ := filepath.Glob(keepalivedSamples + "/keepalived.conf.*")
	seeds = append(seeds, samples...)
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, diffCase{name: s, base: string(data)})
	}
	for _, tc := range cases {
		if tc.base == "" {
			continue
		}
		src := tc.base
		if tc.old != "" {
			if !strings.Contains(src, tc.old) {
				t.Fatalf("%s: mutation target %q not in base", tc.name, tc.old)
			}
			src = strings.Replace(src, tc.old, tc.new, 1)
		}
		dir := t.TempDir()
		for name, body := range diffFiles[tc.name] {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		theirs, out := keepalivedAcceptsIn(t, bin, dir, src)
		ours, err := weAcceptIn(dir, src)
		t.Logf("%-32s keepalived accepts=%v", tc.name, theirs)
		if strings.HasSuffix(tc.name, " valid") && !theirs {
			t.Errorf("%s: base configuration rejected by keepalived:\n%s", tc.name, out)
		}
		if theirs != ours {
			t.Errorf("%s: keepalived accepts=%v, we accept=%v\nkeepalived said:\n%s\nwe said: %v", tc.name, theirs, ours, out, err)
		}
		// what kaconf fmt writes must pass keepalived -t as the input did
		if f, err := Parse("keepalived.conf", []byte(src)); err == nil && theirs {
			canon := string(f.FormatCanonical())
			if ok, out := keepalivedAccepts(t, bin, canon); !ok {
				t.Errorf("%s: keepalived rejects the canonical form:\n%s\n%s", tc.name, canon, out)
			}
		}
	}
}
