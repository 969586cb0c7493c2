package check_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/testenv"
)

// startHAProxy runs haproxy in the foreground with cfg (in which "DIR" is
// replaced by a fresh temp dir) and returns the stats socket path. It is
// stopped on cleanup.
func startHAProxy(t *testing.T, cfg string) string {
	t.Helper()
	bin := testenv.NeedTool(t, "haproxy")
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	cfg = strings.ReplaceAll(cfg, "DIR", dir)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out := &strings.Builder{}
	cmd := exec.Command(bin, "-db", "-f", path)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("haproxy output:\n%s", out)
		}
	})
	for i := 0; ; i++ { // bounded: 10 s
		if _, err := os.Stat(sock); err == nil {
			if c, err := net.Dial("unix", sock); err == nil {
				c.Close()
				return sock
			}
		}
		select {
		case err := <-done:
			t.Fatalf("haproxy exited: %v\n%s", err, out)
		default:
		}
		if i == 1000 {
			t.Fatalf("haproxy stats socket never appeared\n%s", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// haproxyCmd sends one runtime API command and returns the answer.
func haproxyCmd(t *testing.T, sock, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, cmd+"\n")
	b, err := io.ReadAll(bufio.NewReader(c))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// serverStat returns the status and weight columns of one server from
// "show stat".
func serverStat(t *testing.T, sock, px, sv string) (status, weight string) {
	t.Helper()
	out := haproxyCmd(t, sock, "show stat")
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("show stat: %v\n%s", err, out)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, rec := range recs[1:] {
		if len(rec) > col["weight"] && rec[0] == px && rec[1] == sv {
			return rec[col["status"]], rec[col["weight"]]
		}
	}
	t.Fatalf("no %s/%s in show stat:\n%s", px, sv, out)
	return "", ""
}

// TestAgentDrivesHAProxy: our AgentServer answers a real haproxy's
// agent-check; haproxy's view of the server (show stat) follows every
// reply: weight percentages, drain, maint, ready, down.
func TestAgentDrivesHAProxy(t *testing.T) {
	noLeaks(t)
	testenv.NeedTool(t, "haproxy")
	backend := serveRaw(t, func(c net.Conn) {})
	agent := agentServer(t, check.AgentReply{State: check.AgentUp, Weight: check.Weight{Set: true, Percent: true, Value: 100}})
	aport := agent.Addr().(*net.TCPAddr).Port
	sock := startHAProxy(t, fmt.Sprintf(`global
	stats socket DIR/admin.sock mode 600 level admin
	maxconn 100
defaults
	mode tcp
	timeout connect 1s
	timeout client 5s
	timeout server 5s
backend be
	server s1 %s check inter 100ms agent-check agent-addr 127.0.0.1 agent-port %d agent-inter 50ms weight 80
`, backend, aport))

	steps := []struct {
		reply          check.AgentReply
		status, weight string
	}{
		{check.AgentReply{State: check.AgentUp, Weight: check.Weight{Set: true, Percent: true, Value: 100}}, "UP", "80"},
		{check.AgentReply{Weight: check.Weight{Set: true, Percent: true, Value: 50}}, "UP", "40"},
		{check.AgentReply{Admin: check.AdminDrain}, "DRAIN", "40"}, // stat keeps the weight; the state drains
		{check.AgentReply{Admin: check.AdminReady, Weight: check.Weight{Set: true, Percent: true, Value: 100}}, "UP", "80"},
		{check.AgentReply{Admin: check.AdminMaint}, "MAINT", "80"},
		{check.AgentReply{Admin: check.AdminReady}, "UP", "80"},
		{check.AgentReply{State: check.AgentDown, Reason: "going away"}, "DOWN", "80"},
		{check.AgentReply{State: check.AgentUp, Weight: check.Weight{Set: true, Percent: true, Value: 25}}, "UP", "20"},
	}
	for i, s := range steps {
		agent.Set(s.reply)
		var status, weight string
		for j := 0; ; j++ { // bounded: 10 s
			status, weight = serverStat(t, sock, "be", "s1")
			if strings.HasPrefix(status, s.status) && weight == s.weight {
				break
			}
			if j == 500 {
				t.Fatalf("step %d: agent says %q; haproxy shows status %q weight %s, want %s %s", i, s.reply, status, weight, s.status, s.weight)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("agent %-22q → haproxy %s weight %s", s.reply.String(), status, weight)
	}
	// Our own agent client reads the same server.
	r := check.Agent{Addr: agent.Addr().(*net.TCPAddr).AddrPort()}.Check(context.Background())
	if !r.Up || r.Weight.Value != 25 {
		t.Errorf("agent client: %+v", r)
	}
}
