package haproxy

import (
	"fmt"
	"net/netip"
	"testing"
)

const sampleStat = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,addr,\n" +
	"fe,FRONTEND,,,0,1,100,3,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,1,,,\n" +
	"be,a,0,0,0,1,,2,182,240,,0,,0,0,0,0,no check,1,1,0,,,0,,,1,3,1,,2,,2,0,,2,,127.0.0.1:4501,\n" +
	"be,b,0,0,3,4,,9,182,240,,0,,0,0,0,0,UP,256,0,1,0,0,10,0,,1,3,2,,7,,2,0,,2,L4OK,127.0.0.1:4502,\n" +
	"be,BACKEND,0,0,3,4,10,11,0,0,0,0,,0,0,0,0,UP,257,1,1,,0,10,0,,1,3,0,,9,,1,0,,2,,,\n"

const sampleServersState = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n" +
	"3 be 1 s1 127.0.0.1 2 0 5 10 2 1 0 2 0 0 0 0 - 3 - 0 0 - - 0\n" +
	"3 be 2 s2 ::1 2 1 1 1 2 1 0 2 0 0 0 0 - 2 - 0 0 - - 0\n"

func TestParseStat(t *testing.T) {
	rows, err := ParseStat(sampleStat)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	b := FindStat(rows, "be", "b")
	if b == nil || b.Status != "UP" || b.Weight != 256 || b.Active != 0 || b.Backup != 1 || b.Scur != 3 || b.Smax != 4 || b.Stot != 9 || b.Lbtot != 7 || b.CheckStatus != "L4OK" || b.Addr != netip.MustParseAddrPort("127.0.0.1:4502") || b.Type != StatServer {
		t.Fatalf("b = %+v", b)
	}
	if fe := FindStat(rows, "fe", "FRONTEND"); fe == nil || fe.Type != StatFrontend || fe.Fields["slim"] != "100" {
		t.Fatalf("fe = %+v", fe)
	}
	for _, bad := range []string{"", "pxname,svname\n", "# a,b\n1,2,3\n", "# type\nx\n"} {
		if _, err := ParseStat(bad); err == nil {
			t.Errorf("ParseStat(%q) accepted", bad)
		}
	}
}

func TestParseServersState(t *testing.T) {
	st, err := ParseServersState(sampleServersState)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Server != "s1" || st[0].UserWeight != 5 || st[0].InitWeight != 10 || st[0].Addr != netip.MustParseAddrPort("127.0.0.1:3") || st[1].Addr != netip.MustParseAddrPort("[::1]:2") || st[1].AdminState != 1 || st[0].OpState != 2 || st[0].BackendID != 3 {
		t.Fatalf("states = %+v", st)
	}
	if _, err := ParseServersState("1\n3 be\n"); err == nil {
		t.Error("row without header accepted")
	}
}

func TestStateStrings(t *testing.T) {
	for got, want := range map[fmt.Stringer]string{
		StateDrain: "drain", HealthStopping: "stopping", AgentDown: "down", OpRunning: "running",
		AdminForcedMaint | AdminForcedDrain: "forced-maint|forced-drain", AdminFlags(0): "none", AdminFlags(0x81): "forced-maint|0x80",
		StatListener: "listener", StatType(9): "StatType(9)", AdminState(0): "AdminState(0)",
	} {
		if got.String() != want {
			t.Errorf("%#v.String() = %q, want %q", got, got.String(), want)
		}
	}
	if !(AdminConfigMaint).Maint() || AdminForcedDrain.Maint() || !AdminInheritedDrain.Drain() {
		t.Error("Maint/Drain")
	}
}
