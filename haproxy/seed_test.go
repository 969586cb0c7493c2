package haproxy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
)

func readSeed(t *testing.T, name string) *Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".cfg"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(name+".cfg", b)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(c.Format()); got != string(b) {
		t.Fatalf("%s: round trip differs", name)
	}
	return c
}

// TestSeedConfigs checks the typed values of every HAProxy configuration
// in the RHEL 7 Load Balancer guide (chapter 5 and appendix A).
func TestSeedConfigs(t *testing.T) {
	t.Run("5.2 global", func(t *testing.T) {
		g := readSeed(t, "seed_5_2_global").Global()
		if n, ok, err := g.Maxconn(); n != 4000 || !ok || err != nil {
			t.Errorf("maxconn = %d %v %v", n, ok, err)
		}
		if g.User() != "haproxy" || g.Group() != "haproxy" || !g.Daemon() {
			t.Errorf("user/group/daemon = %q %q %v", g.User(), g.Group(), g.Daemon())
		}
		want := []Log{{Address: "127.0.0.1", Facility: "local2"}}
		if d := cmp.Diff(want, g.Logs()); d != "" {
			t.Errorf("logs (-want +got):\n%s", d)
		}
	})
	t.Run("5.3 defaults", func(t *testing.T) {
		d := readSeed(t, "seed_5_3_defaults").Defaults()[0]
		if d.Mode() != "http" {
			t.Errorf("mode = %q", d.Mode())
		}
		if d := cmp.Diff([]Log{{Global: true}}, d.Logs()); d != "" {
			t.Errorf("logs: %s", d)
		}
		if d := cmp.Diff([]string{"httplog", "dontlognull"}, d.Options()); d != "" {
			t.Errorf("options: %s", d)
		}
		if n, ok, _ := d.Retries(); n != 3 || !ok {
			t.Errorf("retries = %d", n)
		}
		for name, want := range map[string]time.Duration{"http-request": 10 * time.Second, "queue": time.Minute, "connect": 10 * time.Second, "client": time.Minute, "server": time.Minute} {
			got, ok, err := d.Timeout(name)
			if got != want || !ok || err != nil {
				t.Errorf("timeout %s = %v %v %v, want %v", name, got, ok, err, want)
			}
		}
	})
	t.Run("5.4 frontend", func(t *testing.T) {
		fe := readSeed(t, "seed_5_4_frontend").Frontend("main")
		b := fe.Binds()
		if len(b) != 1 || b[0].Address != "192.168.0.10:80" {
			t.Fatalf("binds = %+v", b)
		}
		if ap, err := b[0].AddrPort(); err != nil || ap.String() != "192.168.0.10:80" {
			t.Errorf("AddrPort = %v %v", ap, err)
		}
		if fe.DefaultBackend() != "app" {
			t.Errorf("default_backend = %q", fe.DefaultBackend())
		}
	})
	t.Run("5.5 backend", func(t *testing.T) {
		be := readSeed(t, "seed_5_5_backend").Backend("app")
		if b, ok, err := be.Balance(); b.Algorithm != "roundrobin" || !ok || err != nil {
			t.Errorf("balance = %+v %v %v", b, ok, err)
		}
		want := []Server{
			{Name: "app1", Address: "192.168.1.1:80", Check: On},
			{Name: "app2", Address: "192.168.1.2:80", Check: On},
			{Name: "app3", Address: "192.168.1.3:80", Check: On, Inter: 2 * time.Second, Rise: 4, Fall: 3},
			{Name: "app4", Address: "192.168.1.4:80", Backup: On},
		}
		if d := cmp.Diff(want, be.Servers()); d != "" {
			t.Errorf("servers (-want +got):\n%s", d)
		}
	})
	t.Run("5.7 logging", func(t *testing.T) {
		c := readSeed(t, "seed_5_7_log")
		l := c.Sections[0].Lines[0]
		if d := cmp.Diff([]string{"log", "/dev/log", "local0"}, l.Values()); d != "" {
			t.Error(d)
		}
		d := readSeed(t, "seed_5_7_defaults_log").Defaults()[0]
		if len(d.Logs()) != 1 || !d.Logs()[0].Global || d.Options()[0] != "httplog" {
			t.Errorf("defaults log = %+v %q", d.Logs(), d.Options())
		}
	})
	t.Run("A.4 ceph gateway", func(t *testing.T) {
		c := readSeed(t, "seed_a_4_frontend_backend")
		fe := c.Frontends()
		if len(fe) != 2 || fe[0].Name() != "http_web" || fe[0].Header.Arg(2) != "*:80" || fe[0].Mode() != "http" {
			t.Fatalf("frontends = %+v", fe)
		}
		b := fe[1].Binds()[0]
		if b.Address != "<insert" || b.SSL != true || b.Crt != "/etc/ssl/private/example.com.pem" {
			t.Errorf("bind = %+v", b)
		}
		be := c.Backend("rgw")
		want := []Server{{Name: "rgw1", Address: "10.0.0.71:80", Check: On}, {Name: "rgw2", Address: "10.0.0.80:80", Check: On}}
		if d := cmp.Diff(want, be.Servers()); d != "" {
			t.Errorf("servers: %s", d)
		}
		if be.Mode() != "http" {
			t.Errorf("mode = %q", be.Mode())
		}
	})
}

// haproxyCheck runs `haproxy -c -f` on cfg and returns its output.
func haproxyCheck(t *testing.T, bin string, cfg []byte) (string, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(p, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-c", "-f", p).CombinedOutput()
	return string(out), err
}

// TestWrittenConfigPassesHAProxy builds the guide's chapter 5 and
// appendix A configuration through the typed model only, and has HAProxy
// check it.
func TestWrittenConfigPassesHAProxy(t *testing.T) {
	bin := testenv.NeedTool(t, "haproxy")
	c, _ := Parse("new.cfg", nil)
	g := c.EnsureGlobal()
	g.AddLog(Log{Address: "127.0.0.1", Facility: "local2"})
	g.AddLog(Log{Address: "/dev/log", Facility: "local0"})
	g.SetMaxconn(4000)
	g.SetDaemon(true)
	g.SetPidfile("/run/haproxy-test.pid")
	g.AddStatsSocket(StatsSocket{Address: "/run/haproxy-test.sock", Options: []string{"mode", "600", "level", "admin"}})
	g.SetSSLDefaultBindOptions("ssl-min-ver", "TLSv1.2")
	d := c.AddProxy("defaults", "")
	d.SetMode("http")
	d.AddLog(Log{Global: true})
	d.Add("option", "httplog")
	d.Add("option", "dontlognull")
	d.SetRetries(3)
	for _, tm := range []struct {
		n string
		d time.Duration
	}{{"http-request", 10 * time.Second}, {"queue", time.Minute}, {"connect", 10 * time.Second}, {"client", time.Minute}, {"server", time.Minute}} {
		d.SetTimeout(tm.n, tm.d)
	}
	fe := c.AddProxy("frontend", "main")
	fe.AddBind(Bind{Address: "192.168.0.10:80"})
	fe.AddBind(Bind{Address: "*:8000-8010"})
	fe.AddUseBackend("rgw", "if { path_beg /rgw }")
	fe.SetDefaultBackend("app")
	be := c.AddProxy("backend", "app")
	be.SetBalance(Balance{Algorithm: "roundrobin"})
	be.AddServer(Server{Name: "app1", Address: "192.168.1.1:80", Check: On})
	be.AddServer(Server{Name: "app2", Address: "192.168.1.2:80", Check: On})
	be.AddServer(Server{Name: "app3", Address: "192.168.1.3:80", Check: On, Inter: 2 * time.Second, Rise: 4, Fall: 3})
	be.AddServer(Server{Name: "app4", Address: "192.168.1.4:80", Backup: On, Weight: new(0), Maxconn: 100,
		FastInter: 500 * time.Millisecond, DownInter: 5 * time.Second, Slowstart: time.Minute, InitAddr: "last,libc,none",
		AgentCheck: Off, Disabled: On})
	rgw := c.AddProxy("backend", "rgw")
	rgw.SetMode("http")
	rgw.SetBalance(Balance{Algorithm: "hdr", Param: "Host"})
	rgw.SetHashType(HashType{Method: "consistent", Function: "sdbm", Avalanche: true})
	rgw.AddServer(Server{Name: "rgw1", Address: "10.0.0.71:80", Check: On, AgentCheck: On, AgentPort: 8081, AgentInter: 5 * time.Second})
	rgw.AddServer(Server{Name: "rgw2", Address: "10.0.0.80:443", SSL: On, Verify: "none", SNI: "str(rgw.example)", Track: "rgw1"})
	rgw.AddServer(Server{Name: "rgw3", Address: "10.0.0.81:443", Check: Off, SSL: Off, Backup: Off, Weight: new(50)})
	for _, alg := range []Balance{{Algorithm: "uri", Options: []string{"whole", "len", "10", "depth", "3"}}, {Algorithm: "url_param", Param: "userid", Options: []string{"check_post"}}, {Algorithm: "source"}, {Algorithm: "static-rr"}, {Algorithm: "leastconn"}, {Algorithm: "first"}, {Algorithm: "rdp-cookie", Param: "mstshash"}, {Algorithm: "random", Param: "2"}, {Algorithm: "hash", Param: "req.hdr(host)"}} {
		p := c.AddProxy("backend", "be_"+strings.ReplaceAll(alg.Algorithm, "-", "_"))
		p.SetBalance(alg)
		p.AddServer(Server{Name: "s1", Address: "127.0.0.1:8080"})
	}
	out := c.Format()
	if msg, err := haproxyCheck(t, bin, out); err != nil {
		t.Fatalf("haproxy -c rejected the written config: %v\n%s\n%s", err, msg, out)
	}
	if err := mustParse(t, out).Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// What was written reads back as the same typed values.
	c2 := mustParse(t, out)
	if d := cmp.Diff(c.Backend("rgw").Servers(), c2.Backend("rgw").Servers()); d != "" {
		t.Errorf("servers differ after reparse: %s", d)
	}
}

func mustParse(t *testing.T, b []byte) *Config {
	t.Helper()
	c, err := Parse("t.cfg", b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSetServerMinimalEdit(t *testing.T) {
	in := "backend app\n" +
		"  server app3 192.168.1.3:80 check inter 2000ms rise 4 fall 3 cookie check # keep\n" +
		"  server app4 192.168.1.4:80 backup\n"
	c := mustParse(t, []byte(in))
	be := c.Backend("app")
	s, _ := be.Server("app3")
	if s.Inter != 2*time.Second || s.Check != On || len(s.Extra) != 2 || s.Extra[1] != "check" {
		t.Fatalf("parsed %+v", s)
	}
	s.Rise = 2
	s.Fall = 0
	s.Weight = new(10)
	s.Check = Off
	be.SetServer(s)
	s4, _ := be.Server("app4")
	s4.Backup = Unset
	s4.Address = "192.168.1.5:8080"
	be.SetServer(s4)
	be.SetServer(Server{Name: "app5", Address: "192.168.1.6:80", Check: On})
	want := "backend app\n" +
		"  server app3 192.168.1.3:80 no-check inter 2000ms rise 2 cookie check weight 10 # keep\n" +
		"  server app4 192.168.1.5:8080\n" +
		"  server app5 192.168.1.6:80 check\n"
	if got := string(c.Format()); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if !be.DeleteServer("app4") || be.DeleteServer("nope") {
		t.Error("DeleteServer")
	}
}

// selfSignedPEM writes a certificate and key for HAProxy's "ssl crt".
func selfSignedPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "example.com"},
		DNSNames:     []string{"example.com"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(1<<33, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	pem.Encode(&b, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	p := filepath.Join(t.TempDir(), "example.com.pem")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSeedAgainstHAProxy checks the guide's configurations with HAProxy
// itself: chapter 5's sections together pass; appendix A's frontend line
// with an address is rejected by both HAProxy and Validate, and the fix
// made through the typed model (a bind line, a real VIP and certificate)
// passes, changing only the lines concerned.
func TestSeedAgainstHAProxy(t *testing.T) {
	bin := testenv.NeedTool(t, "haproxy")
	var ch5 []byte
	for _, n := range []string{"seed_5_2_global", "seed_5_3_defaults", "seed_5_4_frontend", "seed_5_5_backend"} {
		b, err := os.ReadFile(filepath.Join("testdata", n+".cfg"))
		if err != nil {
			t.Fatal(err)
		}
		ch5 = append(ch5, b...)
	}
	if out, err := haproxyCheck(t, bin, ch5); err != nil {
		t.Fatalf("haproxy rejects chapter 5: %v\n%s", err, out)
	}
	if err := mustParse(t, ch5).Validate(); err != nil {
		t.Fatalf("Validate(chapter 5): %v", err)
	}

	raw, err := os.ReadFile("testdata/seed_a_4_frontend_backend.cfg")
	if err != nil {
		t.Fatal(err)
	}
	defaults := []byte("defaults\n  mode http\n  timeout connect 10s\n  timeout client 1m\n  timeout server 1m\n\n")
	full := append(append([]byte{}, defaults...), raw...)
	if _, err := haproxyCheck(t, bin, full); err == nil {
		t.Fatal("haproxy accepts 'frontend http_web *:80'")
	}
	c := mustParse(t, full)
	err = c.Validate()
	var list ErrorList
	if !errors.As(err, &list) || !errors.Is(list[0], ErrBindOnHeader) || list[0].Pos.Line != 7 || list[0].Pos.Col != 19 {
		t.Fatalf("Validate = %v", err)
	}
	web := c.Frontend("http_web")
	web.Header.SetValues("frontend", "http_web")
	web.InsertAt(0, NewLine("  ", "bind", "*:80"))
	https := c.Frontend("rgw-https")
	https.Delete(https.Find("bind"))
	https.InsertAt(0, NewLine("  ", Bind{Address: "192.168.0.100:443", SSL: true, Crt: selfSignedPEM(t)}.words()...))
	out := c.Format()
	if msg, err := haproxyCheck(t, bin, out); err != nil {
		t.Fatalf("haproxy rejects the fixed appendix: %v\n%s\n%s", err, msg, out)
	}
	if err := mustParse(t, out).Validate(); err != nil {
		t.Fatal(err)
	}
	// Only the frontend lines changed: one line was added.
	before := strings.Split(string(full), "\n")
	after := strings.Split(string(out), "\n")
	if len(after) != len(before)+1 || after[7] != "  bind *:80" || !strings.HasPrefix(after[12], "  bind 192.168.0.100:443 ssl crt ") {
		t.Fatalf("fixed appendix:\n%s", out)
	}
	if tail := strings.Join(after[13:], "\n"); tail != strings.Join(before[12:], "\n") {
		t.Fatalf("backend changed:\n%s", tail)
	}
}

// TestSeedProvenance checks, where the seed document is at hand, that
// every testdata/seed_*.cfg is a verbatim block of it.
func TestSeedProvenance(t *testing.T) {
	var doc []byte
	for _, p := range []string{"../../shared/seed/000_caefc452e9b098b3.txt", "../../../shared/seed/000_caefc452e9b098b3.txt"} {
		if b, err := os.ReadFile(p); err == nil {
			doc = b
			break
		}
	}
	if doc == nil {
		testenv.Missing(t, "the seed document beside the repository (../shared/seed)")
	}
	files, _ := filepath.Glob("testdata/seed_*.cfg")
	if len(files) != 7 {
		t.Fatalf("%d seed configs, want 7", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(doc, append([]byte("```\n"), b...)) {
			t.Errorf("%s is not a verbatim block of the seed document", f)
		}
	}
}
