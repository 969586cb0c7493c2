package haproxy

import (
	"errors"
	"flag"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// diffBase is a valid configuration the mutations start from. Line numbers
// matter: mutations name the line they expect an error on.
const diffBase = `# differential base
global
  log 127.0.0.1 local2
  maxconn 4000
  pidfile /tmp/lvskit-diff.pid

defaults base
  mode          http
  log           global
  option        httplog
  option        dontlognull
  retries       3
  timeout http-request 10s
  timeout queue 1m
  timeout connect 10s
  timeout client 1m
  timeout server 1m

frontend main
  bind 127.0.0.1:18080
  acl is_api path_beg /api
  use_backend api if is_api
  default_backend app

backend app
  balance roundrobin
  server app1 192.168.1.1:80 check
  server app2 192.168.1.2:80 check
  server app3 192.168.1.3:80 check inter 2s rise 4 fall 3
  server app4 192.168.1.4:80 backup

backend api
  balance uri whole len 10
  hash-type consistent sdbm avalanche
  server api1 192.168.2.1:80 weight 10 maxconn 100 slowstart 30s
  server api1x 192.168.2.2:80 check
`

// diffCase is a mutation of diffBase: replace old by new (or append new
// when old is empty).
type diffCase struct {
	name     string
	old, new string
	class    error // nil: haproxy must accept and so must we
	line     int
}

var diffCases = []diffCase{
	{name: "base"},
	{name: "comments and quotes", old: "  retries       3", new: "  retries \"3\" # three\n  # comment\n\n  option 'forwardfor'"},
	{name: "escaped hash", old: "  acl is_api path_beg /api", new: `  acl is_api path_beg /api\#x`},
	{name: "env default", old: "  bind 127.0.0.1:18080", new: `  bind "${LVSKIT_NOPE-127.0.0.1}:18080"`},
	{name: "conditional block", old: "  maxconn 4000", new: "  .if defined(LVSKIT_NOPE)\n  maxconn 10\n  .else\n  maxconn 4000\n  .endif"},
	{name: "diag lines", old: "  maxconn 4000", new: "  maxconn 4000\n  .notice \"hello ${.LINE}\""},
	{name: "frontend and backend share a name", old: "\nbackend api\n", new: "\nbackend main\n  server m 127.0.0.1:1\nbackend api\n"},
	{name: "default_backend to listen", old: "  default_backend app", new: "  default_backend lst\nlisten lst\n  bind 127.0.0.1:18081\n  server l 127.0.0.1:1"},
	{name: "dynamic use_backend", old: "  use_backend api if is_api", new: "  use_backend %[req.hdr(host),lower]"},
	{name: "unindented directives", old: "  balance roundrobin", new: "balance roundrobin\nmode http"},
	{name: "unnamed defaults", old: "\ndefaults base\n", new: "\ndefaults\n"},
	{name: "listen after backend of the same name (2.6 accepts)", old: "\nbackend api\n", new: "\nlisten app\n  bind 127.0.0.1:18082\nbackend api\n"},
	{name: "defaults from", old: "\nfrontend main", new: "\ndefaults other from base\n  mode http\nfrontend main from other"},
	{name: "peers section", old: "", new: "peers mypeers\n  peer p1 127.0.0.1:10000\n"},
	{name: "no- forms", old: "  server app4 192.168.1.4:80 backup", new: "  server app4 192.168.1.4:80 no-backup no-check enabled no-ssl no-agent-check weight 0"},
	{name: "all balance forms", old: "  balance uri whole len 10", new: "  balance hdr(Host)\n  balance rdp-cookie\n  balance rdp-cookie(mstshash)\n  balance url_param id check_post\n  balance random(3)\n  balance hash req.cook(x)\n  balance first\n  balance static-rr\n  balance source\n  balance leastconn"},
	{name: "time units", old: "  timeout queue 1m", new: "  timeout queue 100us\n  timeout tunnel 1h\n  timeout client-fin 1d\n  timeout check 1500"},
	{name: "trailing unit junk is only a warning in 2.6", old: "check inter 2s", new: "check inter 2sec"},
	{name: "integers read with atol", old: "rise 4 fall 3", new: "rise 4x fall 3s"},
	{name: "odd but accepted values", old: "maxconn 100 slowstart 30s", new: "maxconn -5 slowstart 0 agent-port x"},

	// Mutations HAProxy rejects; we must flag the class on the line.
	{name: "unknown section", old: "\nbackend app", new: "\nbacknd app", class: ErrUnknownSection, line: 25},
	{name: "misspelt frontend", old: "frontend main", new: "frontnd main", class: ErrUnknownSection, line: 19},
	{name: "out of section", old: "# differential base", new: "maxconn 10", class: ErrOutOfSection, line: 1},
	{name: "server in frontend", old: "  bind 127.0.0.1:18080", new: "  bind 127.0.0.1:18080\n  server x 127.0.0.1:1", class: ErrServerPlacement, line: 21},
	{name: "server in defaults", old: "  retries       3", new: "  server x 127.0.0.1:1", class: ErrServerPlacement, line: 12},
	{name: "server in global", old: "  maxconn 4000", new: "  server x 127.0.0.1:1", class: ErrServerPlacement, line: 4},
	{name: "bad timeout unit", old: "  timeout client 1m", new: "  timeout client 1x", class: ErrBadValue, line: 16},
	{name: "fractional timeout", old: "  timeout client 1m", new: "  timeout client 1.5s", class: ErrBadValue, line: 16},
	{name: "bad inter unit", old: "check inter 2s", new: "check inter 2y", class: ErrBadValue, line: 29},
	{name: "bad slowstart", old: "slowstart 30s", new: "slowstart 30y", class: ErrBadValue, line: 35},
	{name: "weight too big", old: "weight 10", new: "weight 300", class: ErrBadValue, line: 35},
	{name: "rise not a number", old: "rise 4", new: "rise four", class: ErrBadValue, line: 29},
	{name: "inter zero", old: "check inter 2s", new: "check inter 0", class: ErrBadValue, line: 29},
	{name: "negative weight", old: "weight 10", new: "weight -1", class: ErrBadValue, line: 35},
	{name: "missing inter value", old: "server app4 192.168.1.4:80 backup", new: "server app4 192.168.1.4:80 backup inter", class: ErrBadValue, line: 30},
	{name: "check with track", old: "server app4 192.168.1.4:80 backup", new: "server app4 192.168.1.4:80 check track app1", class: ErrBadValue, line: 30},
	{name: "duplicate backend", old: "\nbackend api", new: "\nbackend app", class: ErrDuplicateProxy, line: 32},
	{name: "duplicate frontend", old: "\nbackend api\n", new: "\nfrontend main\n  bind 127.0.0.1:18082\nbackend api\n", class: ErrDuplicateProxy, line: 32},
	{name: "backend clashes with earlier listen", old: "\nbackend app\n", new: "\nlisten app\n  bind 127.0.0.1:18082\nbackend app\n", class: ErrDuplicateProxy, line: 27},
	{name: "missing defaults", old: "\nfrontend main", new: "\nfrontend main from nope", class: ErrMissingDefaults, line: 19},
	{name: "missing default_backend", old: "  default_backend app", new: "  default_backend nope", class: ErrMissingBackend, line: 23},
	{name: "missing use_backend", old: "  use_backend api if is_api", new: "  use_backend nope if is_api", class: ErrMissingBackend, line: 22},
	{name: "unmatched quote", old: "  retries       3", new: "  retries \"3", class: ErrSyntax, line: 12},
	{name: "bad hex escape", old: "  retries       3", new: `  retries \x3`, class: ErrSyntax, line: 12},
	{name: "unmatched brace", old: "  bind 127.0.0.1:18080", new: `  bind "${IP:18080"`, class: ErrSyntax, line: 20},
	{name: "bad variable name", old: "  bind 127.0.0.1:18080", new: `  bind "$1:18080"`, class: ErrSyntax, line: 20},
	{name: "address on frontend line", old: "frontend main", new: "frontend main *:80", class: ErrBindOnHeader, line: 19},
	{name: "nameless backend", old: "\nbackend api", new: "\nbackend", class: ErrMissingName, line: 32},
	{name: "unknown balance", old: "  balance roundrobin", new: "  balance round-robin", class: ErrBadValue, line: 26},
	{name: "hdr without name", old: "  balance roundrobin", new: "  balance hdr", class: ErrBadValue, line: 26},
	{name: "bad hash-type", old: "  hash-type consistent sdbm avalanche", new: "  hash-type ring", class: ErrBadValue, line: 34},
	{name: "64 words", old: "  acl is_api path_beg /api", new: "  acl is_api path_beg /api" + strings.Repeat(" /x", 60)},
	{name: "65 words", old: "  acl is_api path_beg /api", new: "  acl is_api path_beg /api" + strings.Repeat(" /x", 61), class: ErrSyntax, line: 21},
	{name: "alternatives in conditional blocks", old: "\nbackend api\n", new: "\n.if defined(LVSKIT_NOPE)\nbackend app\n  server x 127.0.0.1:1\n.else\nbackend app2\n  server app1 127.0.0.1:1\n  .if defined(LVSKIT_NOPE)\n  server app1 127.0.0.1:2\n  .endif\n.endif\nbackend api\n"},
	{name: "every proxy timeout", old: "  timeout queue 1m", new: "  timeout queue 1m\n  timeout check 1s\n  timeout tarpit 1s\n  timeout client-fin 1s\n  timeout server-fin 1s\n  timeout tunnel 1h\n  timeout http-keep-alive 1s"},
	{name: "mode tcp", old: "", new: "listen tcpl\n  mode tcp\n  bind 127.0.0.1:18090\n  balance source\n  server t 127.0.0.1:1\n"},
	{name: "unknown timeout", old: "  timeout queue 1m", new: "  timeout queues 1m", class: ErrBadValue, line: 14},
	{name: "unknown mode", old: "  mode          http", new: "  mode          HTTP", class: ErrBadValue, line: 8},
	{name: "removed mode health", old: "  mode          http", new: "  mode          health", class: ErrBadValue, line: 8},
	{name: "bind in defaults", old: "  retries       3", new: "  bind :80", class: ErrPlacement, line: 12},
	{name: "bind in global", old: "  maxconn 4000", new: "  bind :80", class: ErrPlacement, line: 4},
	{name: "predefined and anonymous ACLs", old: "  use_backend api if is_api", new: "  use_backend api if is_api || TRUE METH_GET !HTTP_1.0 or { path /x } !is_api"},
	{name: "proxy keyword in global", old: "  maxconn 4000", new: "  option httplog", class: ErrPlacement, line: 4},
	{name: "timeout in global", old: "  maxconn 4000", new: "  timeout client 1s", class: ErrPlacement, line: 4},
	{name: "global keyword in backend", old: "  balance roundrobin", new: "  daemon", class: ErrPlacement, line: 26},
	{name: "tune in defaults", old: "  retries       3", new: "  tune.bufsize 16384", class: ErrPlacement, line: 12},
	{name: "undefined ACL", old: "  use_backend api if is_api", new: "  use_backend api if is_apx", class: ErrMissingACL, line: 22},
	{name: "ACL used before declaration", old: "  acl is_api path_beg /api\n  use_backend api if is_api", new: "  use_backend api if !is_api\n  acl is_api path_beg /api", class: ErrMissingACL, line: 21},
	{name: "missing LF", old: "slowstart 30s\n  server api1x 192.168.2.2:80 check\n", new: "slowstart 30s\n  server api1x 192.168.2.2:80 check", class: ErrMissingLF, line: 36},
	{name: "hash function none is not in 2.6", old: "  hash-type consistent sdbm avalanche", new: "  hash-type consistent none", class: ErrBadValue, line: 34},
	{name: "log forms", old: "  log 127.0.0.1 local2", new: "  log 127.0.0.1 local2\n  log 127.0.0.1 len 2048 format rfc5424 sample 1:2 local0 info notice\n  log stdout format raw daemon"},
	{name: "unknown log facility", old: "  log 127.0.0.1 local2", new: "  log 127.0.0.1 local9", class: ErrBadValue, line: 3},
	{name: "unknown log level", old: "  log 127.0.0.1 local2", new: "  log 127.0.0.1 local2 infox", class: ErrBadValue, line: 3},
	{name: "log without facility", old: "  log 127.0.0.1 local2", new: "  log 127.0.0.1", class: ErrBadValue, line: 3},
	{name: "log with extra word", old: "  log 127.0.0.1 local2", new: "  log 127.0.0.1 local2 info notice debug", class: ErrBadValue, line: 3},
	{name: "balance uri options", old: "  balance uri whole len 10", new: "  balance uri depth 3 len 2 whole path-only"},
	{name: "bad balance uri option", old: "  balance uri whole len 10", new: "  balance uri wholelen 10", class: ErrBadValue, line: 33},
	{name: "literal dollar outside quotes is checked", old: "  timeout client 1m", new: "  timeout client 1$m", class: ErrBadValue, line: 16},
	{name: "keyword starting with a digit", old: "  retries       3", new: "  3", class: ErrUnknownKeyword, line: 12},
	{name: "keyword starting with a dollar", old: "  use_backend api if is_api", new: "  $use_backend api if is_api", class: ErrUnknownKeyword, line: 22},
	{name: "timeout without value", old: "  timeout queue 1m", new: "  timeout queue", class: ErrBadValue, line: 14},
	{name: "bind without port", old: "  bind 127.0.0.1:18080", new: "  bind 127.0.0.1", class: ErrBadValue, line: 20},
	{name: "bind bad IPv4", old: "  bind 127.0.0.1:18080", new: "  bind 1270.0.1:18080", class: ErrBadValue, line: 20},
	{name: "bind forms", old: "  bind 127.0.0.1:18080", new: "  bind 127.0.0.1:18080,127.0.0.1:18085-18086\n  bind unix@/tmp/lvskit-diff.sock\n  bind ipv4@127.0.0.1:18087\n  bind [::1]:18088\n  bind :::18089 v4v6"},
	{name: "misspelt timeout", old: "  timeout queue 1m", new: "  timout queue 1m", class: ErrUnknownKeyword, line: 14},
	{name: "misspelt server", old: "  server app2 192.168.1.2:80 check", new: "  sever app2 192.168.1.2:80 check", class: ErrUnknownKeyword, line: 28},
	{name: "misspelt global keyword", old: "  pidfile /tmp/lvskit-diff.pid", new: "  pidfle /tmp/lvskit-diff.pid", class: ErrUnknownKeyword, line: 5},
	{name: "duplicate server", old: "  server app2 192.168.1.2:80 check", new: "  server app1 192.168.1.2:80 check", class: ErrDuplicateServer, line: 28},
	{name: "track", old: "  server app4 192.168.1.4:80 backup", new: "  server app4 192.168.1.4:80 backup track app1\n  server app5 192.168.1.5:80 track api/api1x\n  server app6 192.168.1.5:80 track app4"},
	{name: "track missing server", old: "  server app4 192.168.1.4:80 backup", new: "  server app4 192.168.1.4:80 track nope", class: ErrTrack, line: 30},
	{name: "track missing proxy", old: "  server app4 192.168.1.4:80 backup", new: "  server app4 192.168.1.4:80 track nope/app1", class: ErrTrack, line: 30},
	{name: "track unchecked server", old: "  server app4 192.168.1.4:80 backup", new: "  server app4 192.168.1.4:80 track api/api1", class: ErrTrack, line: 30},
	{name: "unclosed if", old: "  maxconn 4000", new: "  .if defined(X)\n  maxconn 4000", class: ErrConditional, line: 4},
	{name: "stray endif", old: "  maxconn 4000", new: "  maxconn 4000\n  .endif", class: ErrConditional, line: 5},
	{name: "bare balance", old: "  balance roundrobin", new: "  balance"},
	{name: "NUL byte", old: "  retries       3", new: "  retries       3\x00", class: ErrSyntax, line: 12},
	{name: "NUL byte in a comment", old: "  retries       3", new: "  retries       3 # a\x00b", class: ErrSyntax, line: 12},
	{name: "slash in backend name", old: "backend api\n", new: "backend api/v2\n", class: ErrBadName, line: 32},
	{name: "plus in frontend name", old: "frontend main", new: "frontend ma+in", class: ErrBadName, line: 19},
	{name: "non-ASCII in listen name", old: "  default_backend app", new: "  default_backend app\nlisten l\xc3\xa4\n  bind 127.0.0.1:18081\n  server l 127.0.0.1:1", class: ErrBadName, line: 24},
	{name: "slash in server name", old: "  server app2 192.168.1.2:80 check", new: "  server app/2 192.168.1.2:80 check", class: ErrBadName, line: 28},
	{name: "permitted name characters", new: "backend Api.v2-x_y:z\n  server s-1.a_b:c 127.0.0.1:1\n"},
}

func (d diffCase) config(t *testing.T) string {
	if d.old == "" {
		return diffBase + d.new
	}
	if !strings.Contains(diffBase, d.old) {
		t.Fatalf("%s: %q not in base", d.name, d.old)
	}
	return strings.Replace(diffBase, d.old, d.new, 1)
}

// TestDifferentialHAProxy runs haproxy -c and Validate over the same
// corpus: what HAProxy accepts we accept, and the mutations HAProxy
// rejects we flag with the right class and line.
func TestDifferentialHAProxy(t *testing.T) {
	bin := testenv.NeedTool(t, "haproxy")
	for _, d := range diffCases {
		t.Run(d.name, func(t *testing.T) {
			cfg := d.config(t)
			out, herr := haproxyCheck(t, bin, []byte(cfg))
			c, err := Parse("diff.cfg", []byte(cfg))
			if err != nil {
				t.Fatal(err)
			}
			warns, verr := c.Check(nil)
			if d.class == nil {
				if herr != nil {
					t.Fatalf("haproxy rejects a case meant to be valid: %v\n%s", herr, out)
				}
				if verr != nil {
					t.Fatalf("haproxy accepts but Validate rejects:\n%v", verr)
				}
				if warns != nil {
					t.Fatalf("haproxy accepts but Check warns:\n%v", warns)
				}
				return
			}
			if herr == nil {
				t.Fatalf("haproxy accepts a mutation meant to be invalid:\n%s", cfg)
			}
			if !errors.Is(verr, d.class) {
				t.Fatalf("Validate = %v, want class %v (haproxy: %s)", verr, d.class, out)
			}
			var list ErrorList
			errors.As(verr, &list)
			found := false
			for _, e := range list {
				if errors.Is(e, d.class) && e.Pos.Line == d.line && e.Pos.Filename == "diff.cfg" && e.Pos.Col >= 1 {
					found = true
				}
			}
			if !found {
				t.Errorf("no %v at line %d: %v", d.class, d.line, verr)
			}
		})
	}
}

// mutate applies one random edit to cfg.
func mutate(r *rand.Rand, cfg string) string {
	lines := strings.Split(cfg, "\n")
	i := r.IntN(len(lines))
	switch r.IntN(6) {
	case 0: // delete a byte
		if p := r.IntN(len(cfg)); cfg[p] != '\n' {
			return cfg[:p] + cfg[p+1:]
		}
	case 1: // duplicate a line
		lines = append(lines[:i+1], lines[i:]...)
	case 2: // delete a line
		lines = append(lines[:i], lines[i+1:]...)
	case 3: // swap two lines
		j := r.IntN(len(lines))
		lines[i], lines[j] = lines[j], lines[i]
	case 4: // insert a character that matters to the tokenizer
		p := r.IntN(len(cfg))
		c := []string{`"`, `'`, `\`, `#`, `$`, `{`, ` `, `x`, `;`, `0`}[r.IntN(10)]
		return cfg[:p] + c + cfg[p:]
	case 5: // swap two words on a line
		w := strings.Fields(lines[i])
		if len(w) > 1 {
			a, b := r.IntN(len(w)), r.IntN(len(w))
			w[a], w[b] = w[b], w[a]
			lines[i] = "  " + strings.Join(w, " ")
		}
	}
	return strings.Join(lines, "\n")
}

// TestDifferentialMutants throws deterministic random mutants of the base
// at haproxy -c and Validate: whatever HAProxy accepts, Validate must
// accept too. How many of HAProxy's rejections Validate also catches is
// logged.
func TestDifferentialMutants(t *testing.T) {
	bin := testenv.NeedTool(t, "haproxy")
	r := rand.New(rand.NewPCG(uint64(*seedFlag), 2026))
	n := *mutantsFlag
	if testing.Short() {
		n = 10
	}
	rejected, caught, warned := 0, 0, 0
	for k := 0; k < n; k++ {
		cfg := mutate(r, diffBase)
		if r.IntN(2) == 0 {
			cfg = mutate(r, cfg)
		}
		out, herr := haproxyCheck(t, bin, []byte(cfg))
		if strings.Contains(out, "egmentation") {
			continue // HAProxy crashed: no verdict
		}
		c, err := Parse("m.cfg", []byte(cfg))
		if err != nil {
			t.Fatal(err)
		}
		warns, verr := c.Check(nil)
		if herr == nil && verr != nil {
			t.Errorf("mutant %d: haproxy accepts, Validate rejects: %v\n%s", k, verr, cfg)
		}
		if herr == nil && warns != nil {
			t.Errorf("mutant %d: haproxy accepts, Check warns: %v\n%s", k, warns, cfg)
		}
		if herr != nil {
			rejected++
			if verr != nil {
				caught++
			} else if warns != nil {
				warned++
			} else if testing.Verbose() {
				for _, l := range strings.Split(out, "\n") {
					if strings.Contains(l, "ALERT") && !strings.Contains(l, "Fatal errors") && !strings.Contains(l, "Error(s) found") {
						t.Logf("missed: %s", l[strings.Index(l, "config :")+8:])
						break
					}
				}
			}
		}
	}
	t.Logf("%d mutants, haproxy rejected %d, Validate caught %d of those and Check warned about %d more", n, rejected, caught, warned)
}

var (
	seedFlag    = flag.Int("mutant-seed", 5, "seed of TestDifferentialMutants")
	mutantsFlag = flag.Int("mutants", 60, "number of mutants in TestDifferentialMutants")
)

func TestValidateEnv(t *testing.T) {
	cfg := "frontend f\n  bind :80\n  timeout client \"${T}\"\n  default_backend \"${BE-app}\"\nbackend app\n  server \"${S[*]}\"\n"
	c, err := Parse("e.cfg", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate without env: %v", err)
	}
	if err := c.ValidateEnv(MapEnv(map[string]string{"T": "1m", "S": "a 127.0.0.1:80 check"})); err != nil {
		t.Fatalf("good env: %v", err)
	}
	err = c.ValidateEnv(MapEnv(map[string]string{"T": "1x", "BE": "nope", "S": "a 127.0.0.1:80 weight 999"}))
	for _, want := range []string{"e.cfg:3:18: invalid value", "e.cfg:4:19: missing backend", "e.cfg:6:3: invalid value"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad env: %v, want %q", err, want)
		}
	}
}

// TestBindAddressMatchesHAProxy: the IPv4 forms the C library accepts
// (short, octal) pass as they pass haproxy -c; the others fail in both.
func TestBindAddressMatchesHAProxy(t *testing.T) {
	bin := testenv.NeedTool(t, "haproxy")
	for _, h := range []string{"127.1", "127.00.1", "08.0.0.1", "010.0.0.1", "1.2.3.256", "1.2.65535", "1.2.65536", "4294967295", "4294967296", "1.2.3.4.5", "127.0.0.1"} {
		cfg := "frontend f\n  bind " + h + ":18080\n"
		_, herr := haproxyCheck(t, bin, []byte(cfg))
		err := checkBindAddress(h + ":18080")
		if (herr == nil) != (err == nil) {
			t.Errorf("bind %s: haproxy %v, we %v", h, herr, err)
		}
	}
}
