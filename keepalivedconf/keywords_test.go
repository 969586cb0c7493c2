package keepalivedconf

import (
	"sort"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// TestKeywordSetsAgainstKeepalived re-measures part of the keyword sets:
// keepalived -t must not call any of these keywords unknown in its context.
func TestKeywordSetsAgainstKeepalived(t *testing.T) {
	bin := testenv.NeedTool(t, "keepalived")
	contexts := []struct {
		name string
		set  map[string]bool
		all  bool
		wrap func(kw string) string
	}{
		{"vrrp_script", scriptKeywords, true, func(kw string) string { return "vrrp_script S {\n" + kw + "\n}\n" }},
		{"vrrp_sync_group", syncGroupKeywords, true, func(kw string) string { return "vrrp_sync_group G {\n" + kw + "\n}\n" }},
		{"TCP_CHECK", tcpCheckKeywords, true, func(kw string) string {
			return "virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\nTCP_CHECK {\n" + kw + "\n}\n}\n}\n"
		}},
		{"url", urlKeywords, true, func(kw string) string {
			return "virtual_server 10.0.0.1 80 {\nreal_server 10.0.0.2 80 {\nHTTP_GET {\nurl {\n" + kw + "\n}\n}\n}\n}\n"
		}},
		{"vrrp_instance", instanceKeywords, false, func(kw string) string {
			return "global_defs {\ndynamic_interfaces\n}\nvrrp_instance V {\ninterface kaconf0\nvirtual_router_id 9\n" + kw + "\n}\n"
		}},
		{"virtual_server", vsKeywords, false, func(kw string) string { return "virtual_server 10.0.0.1 80 {\n" + kw + "\n}\n" }},
		{"global_defs", globalKeywords, false, func(kw string) string { return "global_defs {\n" + kw + "\n}\n" }},
	}
	dir := t.TempDir()
	for _, c := range contexts {
		words := make([]string, 0, len(c.set))
		for w := range c.set {
			words = append(words, w)
		}
		sort.Strings(words)
		if !c.all && len(words) > 8 {
			words = words[:8]
		}
		for _, kw := range words {
			_, out := keepalivedAcceptsIn(t, bin, dir, c.wrap(kw))
			if strings.Contains(out, "Unknown keyword '"+kw+"'") {
				t.Errorf("%s: keepalived does not know %q", c.name, kw)
			}
		}
		// and the probe does see unknown words in this context
		const bogus = "kaconf_not_a_keyword"
		if _, out := keepalivedAcceptsIn(t, bin, dir, c.wrap(bogus)); !strings.Contains(out, "Unknown keyword '"+bogus+"'") {
			t.Errorf("%s: keepalived did not report %s:\n%s", c.name, bogus, out)
		}
	}
}
