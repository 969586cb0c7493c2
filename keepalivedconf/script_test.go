package keepalivedconf

import (
	"reflect"
	"strings"
	"testing"
)

func TestScriptArgv(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "/bin/true", want: []string{"/bin/true"}},
		{in: "  /usr/bin/check  --port 80 ", want: []string{"/usr/bin/check", "--port", "80"}},
		{in: `/bin/echo "a b" 'c "d"' e\ f`, want: []string{"/bin/echo", "a b", `c "d"`, "e f"}},
		{in: `/bin/printf x\ty\x41\101\cA`, want: []string{"/bin/printf", "x\ty" + "A" + "A" + "\x01"}},
		{in: `a"b c"d`, want: []string{"ab cd"}},
		{in: `""`, want: []string{""}},
		// the cases of issue #16, as keepalived 2.2.7's
		// alloc_strvec_quoted_escaped splits them
		{in: `a\ b`, want: []string{"a b"}},
		{in: `"it\"s"`, want: []string{`it"s`}},
		{in: `'it\'s'`, want: []string{`it's`}},
		{in: `'a\nb'`, want: []string{"a\nb"}},
		{in: "x\fy\vz\r", want: []string{"x", "y", "z"}},
		{in: `\E[0m \q`, want: []string{"\x1b[0m", "q"}},
		{in: `'it''s'`, want: []string{"its"}},
		{in: `"open`, err: true},
		{in: `'open`, err: true},
		{in: `trailing\`, err: true},
	} {
		got, err := ScriptArgv(tc.in)
		if (err != nil) != tc.err || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("ScriptArgv(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestScriptKeywords(t *testing.T) {
	src := "vrrp_script s {\n  script \"/bin/check --port 80\"\n}\n" +
		"vrrp_instance I {\n  interface eth0\n  virtual_router_id 1\n  notify /etc/notify.sh 'a  b' \"c\"\n}\n"
	f, _ := Parse("s.conf", []byte(src))
	cfg, _ := f.Config()
	argv, err := ScriptArgv(cfg.Scripts[0].Script)
	if err != nil || !reflect.DeepEqual(argv, []string{"/bin/check", "--port", "80"}) {
		t.Fatalf("script argv %q %v", argv, err)
	}
	argv, err = ScriptArgv(cfg.Instances[0].Notify)
	if err != nil || !reflect.DeepEqual(argv, []string{"/etc/notify.sh", "a  b", "c"}) {
		t.Fatalf("notify argv %q %v (%q)", argv, err, cfg.Instances[0].Notify)
	}
}

func TestScriptLineUnsplittableIsAnError(t *testing.T) {
	src := "vrrp_script s {\n  script \"/bin/check 'open\"\n}\n"
	f, _ := Parse("s.conf", []byte(src))
	_, err := f.Config()
	if err == nil || !strings.Contains(err.Error(), "s.conf:2:10: ") || !strings.Contains(err.Error(), "missing terminating '") {
		t.Fatalf("err = %v", err)
	}
}
