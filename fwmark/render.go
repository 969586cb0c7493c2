package fwmark

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultTable is the name of the nftables table lvskit owns.
const DefaultTable = "lvskit"

// maxMultiport is how many port slots one iptables multiport match holds; a
// range takes two.
const maxMultiport = 15

// iptablesSpecs returns, in order, the match-and-target part of each
// iptables rule for rs ("-p tcp -d 192.168.76.24/32 -m multiport --dports
// 80,443 -j MARK --set-mark 80"), with the family it belongs to.
//
// One Rule becomes one line as in the seed; a rule with more ports than one
// multiport match holds is split into several lines with the same mark.
func iptablesSpecs(rs Rules) []familySpec {
	var out []familySpec
	for _, r := range rs {
		head := "-p " + r.Protocol.String() + " -d " + r.Dst.String()
		tail := " -j MARK --set-mark " + strconv.FormatUint(uint64(r.Mark), 10)
		for _, ports := range multiportChunks(r.Ports) {
			var m string
			switch {
			case len(ports) == 0:
			case len(ports) == 1:
				m = " --dport " + ports[0].format(':')
			default:
				parts := make([]string, len(ports))
				for i, p := range ports {
					parts[i] = p.format(':')
				}
				m = " -m multiport --dports " + strings.Join(parts, ",")
			}
			out = append(out, familySpec{r.AddrFamily(), head + m + tail})
		}
	}
	return out
}

type familySpec struct {
	fam  Family
	spec string
}

// multiportChunks splits ports into groups that each fit one multiport
// match. No ports yields one empty group (match every port).
func multiportChunks(ports []PortRange) [][]PortRange {
	if len(ports) == 0 {
		return [][]PortRange{nil}
	}
	var chunks [][]PortRange
	var cur []PortRange
	slots := 0
	for _, p := range ports {
		n := 1
		if !p.Single() {
			n = 2
		}
		if slots+n > maxMultiport {
			chunks = append(chunks, cur)
			cur, slots = nil, 0
		}
		cur = append(cur, p)
		slots += n
	}
	return append(chunks, cur)
}

func iptablesCmd(f Family) string {
	if f == IPv6 {
		return "ip6tables"
	}
	return "iptables"
}

// IptablesCommands renders rs as iptables and ip6tables commands in the
// seed's form:
//
//	iptables -t mangle -A PREROUTING -p tcp -d 192.168.76.24/32 -m multiport --dports 80,443 -j MARK --set-mark 80
func IptablesCommands(rs Rules) ([]string, error) {
	if err := rs.Validate(); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range iptablesSpecs(rs) {
		out = append(out, iptablesCmd(s.fam)+" -t mangle -A PREROUTING "+s.spec)
	}
	return out, nil
}

// IptablesRestore renders the rules of one family in iptables-restore
// (iptables-save) format: a *mangle section that appends to PREROUTING and
// a COMMIT. Feed it to `iptables-restore --noflush` (or ip6tables-restore
// for IPv6) so that other rules stay. It returns "" when no rule has that
// family.
func IptablesRestore(rs Rules, fam Family) (string, error) {
	if err := rs.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, s := range iptablesSpecs(rs) {
		if s.fam != fam {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("*mangle\n")
		}
		b.WriteString("-A PREROUTING " + s.spec + "\n")
	}
	if b.Len() == 0 {
		return "", nil
	}
	b.WriteString("COMMIT\n")
	return b.String(), nil
}

// FirewalldConfig shapes firewall-cmd output; nil and the zero value mean
// the default zone, runtime (not permanent) rules.
type FirewalldConfig struct {
	// Zone adds --zone=Zone; empty uses firewalld's default zone.
	Zone string
	// Permanent adds --permanent and ends with `firewall-cmd --reload`, as
	// the seed does; otherwise the commands change only the runtime state.
	Permanent bool
}

func (o FirewalldConfig) suffix(cmds []string) []string {
	if o.Permanent && len(cmds) > 0 {
		cmds = append(cmds, "firewall-cmd --reload")
	}
	return cmds
}

// FirewalldRichRules renders rs as firewall-cmd rich-rule commands, one per
// port or port range, in the seed's form:
//
//	firewall-cmd --add-rich-rule='rule family="ipv4" destination address="192.168.76.24/32" port port="80" protocol="tcp" mark set="80"' --permanent
func FirewalldRichRules(rs Rules, cfg *FirewalldConfig) ([]string, error) {
	var o FirewalldConfig
	if cfg != nil {
		o = *cfg
	}
	if err := rs.Validate(); err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rs {
		for _, p := range r.elements() {
			var b strings.Builder
			b.WriteString("firewall-cmd ")
			if o.Zone != "" {
				b.WriteString("--zone=" + o.Zone + " ")
			}
			fmt.Fprintf(&b, `--add-rich-rule='rule family="%s" destination address="%s"`, firewalldFamily(r.AddrFamily()), r.Dst)
			if p.From == 0 {
				fmt.Fprintf(&b, ` protocol value="%s"`, r.Protocol)
			} else {
				fmt.Fprintf(&b, ` port port="%s" protocol="%s"`, p, r.Protocol)
			}
			fmt.Fprintf(&b, ` mark set="%d"'`, r.Mark)
			if o.Permanent {
				b.WriteString(" --permanent")
			}
			out = append(out, b.String())
		}
	}
	return o.suffix(out), nil
}

// FirewalldDirect renders rs as firewall-cmd direct rules, the iptables
// rules passed through firewalld:
//
//	firewall-cmd --permanent --direct --add-rule ipv4 mangle PREROUTING 0 -p tcp -d 192.168.76.24/32 -m multiport --dports 80,443 -j MARK --set-mark 80
func FirewalldDirect(rs Rules, cfg *FirewalldConfig) ([]string, error) {
	var o FirewalldConfig
	if cfg != nil {
		o = *cfg
	}
	if err := rs.Validate(); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range iptablesSpecs(rs) {
		cmd := "firewall-cmd "
		if o.Permanent {
			cmd += "--permanent "
		}
		out = append(out, cmd+"--direct --add-rule "+firewalldFamily(s.fam)+" mangle PREROUTING 0 "+s.spec)
	}
	return o.suffix(out), nil
}

// nftMatch returns the nft match for one port element of r, in the form
// `nft list` prints what Apply installs ("ip daddr 192.168.76.24 tcp dport
// 10000-20000").
func nftMatch(r Rule, p PortRange) string {
	var b strings.Builder
	if r.AddrFamily() == IPv4 {
		b.WriteString("ip daddr ")
	} else {
		b.WriteString("ip6 daddr ")
	}
	if r.Dst.IsSingleIP() {
		b.WriteString(r.Dst.Addr().String())
	} else {
		b.WriteString(r.Dst.String())
	}
	b.WriteByte(' ')
	if p.From == 0 {
		b.WriteString("meta l4proto " + r.Protocol.String())
	} else {
		b.WriteString(r.Protocol.String() + " dport " + p.String())
	}
	return b.String()
}

// comment is the rule comment Apply stores with each element: the rule in
// config syntax narrowed to the element's ports. Show reads it back.
func comment(r Rule, p PortRange) string {
	e := r
	e.Family = 0
	e.Ports = nil
	if p.From != 0 {
		e.Ports = []PortRange{p}
	}
	return e.String()
}

// NftText renders rs as an nft script that atomically replaces the table
// (DefaultTable when table is ""): the empty `table` line creates it if
// missing so that the `delete` cannot fail, and `nft -f` runs the whole
// file as one transaction. Each port or range becomes one rule with a
// counter, exactly what Apply installs.
func NftText(rs Rules, table string) (string, error) {
	if err := rs.Validate(); err != nil {
		return "", err
	}
	if table == "" {
		table = DefaultTable
	}
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {}\ndelete table inet %s\n", table, table)
	b.WriteString(NftTable(rs, table))
	return b.String(), nil
}

// NftTable renders just the table definition for rs, in the layout `nft
// list table inet NAME` prints it (except that nft prints marks in hex and
// counters with their values). rs must be valid.
func NftTable(rs Rules, table string) string {
	if table == "" {
		table = DefaultTable
	}
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n", table)
	for _, r := range rs {
		for _, p := range r.elements() {
			fmt.Fprintf(&b, "\t\t%s counter meta mark set %d comment %q\n", nftMatch(r, p), r.Mark, comment(r, p))
		}
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}
