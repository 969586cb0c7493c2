package keepalivedconf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// confFiles returns every .conf file below testdata.
func confFiles(t testing.TB) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".conf") || strings.HasSuffix(path, ".in")) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no testdata")
	}
	return out
}

func TestParseRoundTripTestdata(t *testing.T) {
	for _, path := range confFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := Parse(path, data)
		if got := f.Format(); !bytes.Equal(got, data) {
			t.Errorf("%s: Format differs from input\n got: %q\nwant: %q", path, got, data)
		}
	}
}

// TestParseRoundTripKeepalivedSamples round-trips keepalived's own sample
// configurations when they are installed.
func TestParseRoundTripKeepalivedSamples(t *testing.T) {
	samples, _ := filepath.Glob(keepalivedSamples + "/keepalived.conf.*")
	if len(samples) == 0 {
		testenv.Missing(t, "keepalived's sample configurations (%s)", keepalivedSamples)
	}
	for _, path := range samples {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(path, data)
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if !bytes.Equal(f.Format(), data) {
			t.Errorf("%s: Format differs from input", path)
		}
	}
}

func TestParseStructure(t *testing.T) {
	src := "real_server 1.2.3.4 80 { weight 1 } # c\n" +
		"virtual_ipaddress\n# between\n{\n  10.0.0.1/24 dev lo\n}\n" +
		"@lb1 priority 100\n@^lb1 priority 50\n" +
		"$RS=real_server 1.1.1.1 80 { \\\n  weight 2 }\n" +
		"~SEQ(i, 1, 3) real_server 10.0.0.$i 80 { }\n" +
		"notify \"/bin/echo a # b\" x\\#y\n"
	f, err := Parse("t.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(f.Format()); got != src {
		t.Fatalf("round trip:\n%q\n%q", got, src)
	}
	var kinds []string
	for _, s := range f.Stmts {
		kinds = append(kinds, s.Keyword()+"/"+string("sCDQ"[s.Kind]))
	}
	want := "real_server/s virtual_ipaddress/s priority/s priority/s /D /Q notify/s"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("statements = %q, want %q", got, want)
	}
	rs := f.Stmts[0]
	if rs.Block == nil || len(rs.Block.Stmts) != 1 || rs.Block.Stmts[0].Keyword() != "weight" || rs.Comment() != "" || rs.Block.CloseTrail != " # c\n" {
		t.Fatalf("inline block: %+v", rs.Block)
	}
	vip := f.Stmts[1]
	if vip.Block == nil || vip.Block.OpenLead != "# between\n" || vip.Block.Stmts[0].Arg(0) != "10.0.0.1/24" {
		t.Fatalf("next-line brace: %+v", vip.Block)
	}
	if f.Stmts[2].Cond != "@lb1" || f.Stmts[3].Cond != "@^lb1" || f.Stmts[3].Arg(1) != "50" {
		t.Fatalf("conditionals: %+v %+v", f.Stmts[2], f.Stmts[3])
	}
	if def := f.Stmts[4]; !strings.HasSuffix(def.Tokens[0].Text, "weight 2 }") {
		t.Fatalf("multi-line definition: %q", def.Tokens[0].Text)
	}
	n := f.Stmts[6]
	if n.Arg(1) != "/bin/echo a # b" || n.Arg(2) != "x#y" || n.ArgPos(2).Col != 26 || n.Pos.Line != 12 {
		t.Fatalf("quoting: %q %q %v", n.Arg(1), n.Arg(2), n.ArgPos(2))
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"}\n", "1:1: extra '}' found"},
		{"a {\n b\n", "1:3: missing '}'"},
		{"a {\n}\n{\n}\n", "3:1: unexpected '{'"},
		{"a \"b\n", "1:1: unterminated quote"},
		{"vs 1 80 {\n rs 2 80 {\n }\n}\n}\n", "5:1: extra '}' found"},
	} {
		f, err := Parse("x.conf", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.src, err, tc.want)
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: not ErrSyntax", tc.src)
		}
		if got := string(f.Format()); got != tc.src {
			t.Errorf("%q: round trip %q", tc.src, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, path := range confFiles(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// expansion is kept small: Config expands definitions and ~SEQ
		small := &ParseConfig{Limits: Limits{MaxLines: 10000, MaxSteps: 100000}}
		file, err := small.Parse("fuzz.conf", data)
		sameParse(t, string(data))
		sameConfig(t, file)
		out := file.Format()
		if !bytes.Equal(out, data) {
			t.Fatalf("Format != input (err %v)\n got %q\nwant %q", err, out, data)
		}
		file2, err2 := small.Parse("fuzz.conf", out)
		if (err == nil) != (err2 == nil) || !bytes.Equal(file2.Format(), out) {
			t.Fatalf("Parse(Format) unstable: %v / %v", err, err2)
		}
		// the other views must not panic on any input either; includes
		// are not read and expansion is kept small
		noFS := &ParseConfig{ConfigID: "a", Limits: Limits{MaxLines: 10000, MaxSteps: 100000}}
		noFS.glob = func(string) ([]string, error) { return nil, nil }
		fx, _ := noFS.Parse("fuzz.conf", data)
		if ex, _ := fx.Expand(); ex != nil {
			if cfg, _ := ex.Config(); cfg != nil {
				cfg.Lint()
			}
		}
		if cfg, _ := file.Config(); cfg != nil {
			cfg.Lint()
		}
		if err == nil {
			canon := file.FormatCanonical()
			if _, err := Parse("fuzz.conf", canon); err != nil {
				t.Fatalf("canonical form does not parse: %v\n%q", err, canon)
			}
		}
	})
}

func TestCRLFAndNoFinalNewline(t *testing.T) {
	src := "vrrp_instance A {\r\n  interface eth0\r\n  virtual_router_id 9\r\n  priority 100 # p\r\n  advert_int 0.5\r\n  version 3\r\n}"
	f, err := Parse("crlf.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Format()) != src {
		t.Fatal("round trip")
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Instances[0]
	if in.Priority != 100 || in.VirtualRouterID != 9 || in.AdvertInt.String() != "500ms" || in.Interface != "eth0" {
		t.Fatalf("typed: %+v", in)
	}
	if err := in.SetPriority(10); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(src, "priority 100 # p", "priority 10 # p", 1)
	if got := string(f.Format()); got != want {
		t.Fatalf("edit: %q", got)
	}
}

// TestReadFileIsTheCallers: the bytes ReadFile returns are the caller's
// own: changing them changes neither the file nor a later read.
func TestReadFileIsTheCallers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	want := "global_defs {\n    router_id A\n}\n"
	if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*ParseConfig{nil, {}} {
		first, err := c.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(first) != want {
			t.Fatalf("ReadFile = %q, want %q", first, want)
		}
		for i := range first {
			first[i] = 'x'
		}
		second, err := c.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(second) != want {
			t.Errorf("after changing the first read's bytes, ReadFile = %q, want %q", second, want)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty.conf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := (*ParseConfig)(nil).ReadFile(empty); err != nil || b == nil || len(b) != 0 {
		t.Errorf("ReadFile(empty) = %v, %v; want an empty slice", b, err)
	}
}

// TestReadFileInto: ReadFileInto reads into the buffer it is given when
// the file fits, grows it when not, applies ReadFile's checks, and what
// ParseData and ParsePieces return keeps no reference to the bytes (a
// caller may overwrite them, as a reload re-reading into one buffer does).
func TestReadFileInto(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	want := "global_defs {\n    router_id A\n}\nvirtual_server 10.0.0.1 80 {\n    real_server 10.0.1.1 80 {\n    }\n}\n"
	if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7, 4096)
	got, err := (*ParseConfig)(nil).ReadFileInto(path, buf)
	if err != nil || string(got) != want {
		t.Fatalf("ReadFileInto = %q, %v; want %q", got, err, want)
	}
	if &got[0] != &buf[:1][0] {
		t.Error("ReadFileInto did not read into the buffer it was given, which had room")
	}
	small, err := (*ParseConfig)(nil).ReadFileInto(path, make([]byte, 0, 3))
	if err != nil || string(small) != want {
		t.Fatalf("ReadFileInto(small buffer) = %q, %v", small, err)
	}
	if b, err := (*ParseConfig)(nil).ReadFileInto(path, nil); err != nil || string(b) != want {
		t.Fatalf("ReadFileInto(nil) = %q, %v", b, err)
	}
	// the checks ReadFile makes
	if _, err := (*ParseConfig)(nil).ReadFileInto(dir, buf); !errors.Is(err, errNotRegular) {
		t.Errorf("ReadFileInto(directory) = %v, want not a regular file", err)
	}
	lim := &ParseConfig{Limits: Limits{MaxFileSize: 10}}
	if _, err := lim.ReadFileInto(path, buf); !errors.Is(err, ErrLimit) {
		t.Errorf("ReadFileInto over the size limit = %v, want ErrLimit", err)
	}
	// nothing parsed refers to the bytes read
	f, err := (*ParseConfig)(nil).ParseData(path, got)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := (*ParseConfig)(nil).ParsePieces(path, []Piece{{Data: got, Line: 1}})
	if err != nil {
		t.Fatal(err)
	}
	before, beforePieces := string(f.Format()), string(pf.Format())
	for i := range got {
		got[i] = 'x'
	}
	if after := string(f.Format()); after != before || after != want {
		t.Errorf("ParseData's tree changed with the bytes it was given: %q", after)
	}
	if after := string(pf.Format()); after != beforePieces || after != want {
		t.Errorf("ParsePieces' tree changed with the bytes it was given: %q", after)
	}
}
