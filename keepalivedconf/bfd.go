package keepalivedconf

import (
	"math"
	"net/netip"
	"time"
)

// BFDInstance is a bfd_instance block. Zero fields mean keepalived's
// defaults, which BFDInstances fills in: min_rx and min_tx 10 ms, idle_tx
// 1 s, multiplier 5, ttl 255, hoplimit 64, max_hops 0.
type BFDInstance struct {
	Name       string
	NeighborIP netip.Addr `json:",omitzero"`
	SourceIP   netip.Addr `json:",omitzero"`
	MinRx      time.Duration
	MinTx      time.Duration
	IdleTx     time.Duration
	Multiplier int
	Passive    bool `json:",omitempty"`
	// TTL is the IPv4 TTL and HopLimit the IPv6 hop limit of sent
	// packets; MaxHops is how far below it a received packet's may be
	// (255 disables the check).
	TTL      int
	HopLimit int
	MaxHops  int
	// Weight and Reverse are the default tracking weight for track_bfd.
	Weight  int  `json:",omitempty"`
	Reverse bool `json:",omitempty"`
	// VRRP and Checker restrict the instance's events to the VRRP or the
	// checker process; neither set means both.
	VRRP    bool  `json:",omitempty"`
	Checker bool  `json:",omitempty"`
	Stmt    *Stmt `json:"-"`
}

// TrackBFD is one entry of a vrrp_instance's track_bfd block.
type TrackBFD struct {
	Name string
	// Weight overrides the bfd_instance's weight when WeightSet.
	Weight    int   `json:",omitempty"`
	WeightSet bool  `json:",omitempty"`
	Reverse   bool  `json:",omitempty"`
	Stmt      *Stmt `json:"-"`
}

// keepalived's limits for bfd_instance (keepalived/include/bfd.h).
const (
	bfdMaxMs = math.MaxUint32 / 1000
)

// BFDInstances decodes the configuration's bfd_instance blocks with
// keepalived's defaults, limits and messages. A block without
// neighbor_ip, a duplicate name or a source_ip of another family is an
// error, as keepalived disables such an instance; unknown keywords come
// back as warnings, apart from the error.
func (c *Config) BFDInstances() (bfds []*BFDInstance, warnings ErrorList, err error) {
	if c.file == nil {
		return nil, nil, nil
	}
	dec := &decoder{cfg: c}
	var out []*BFDInstance
	seen := map[string]bool{}
	for _, s := range c.file.Stmts {
		if !active(s) || s.Keyword() != "bfd_instance" || !dec.nargs(s, 2) {
			continue
		}
		b := &BFDInstance{Name: s.Arg(1), Stmt: s, MinRx: 10 * time.Millisecond, MinTx: 10 * time.Millisecond,
			IdleTx: time.Second, Multiplier: 5, TTL: 255, HopLimit: 64}
		if seen[b.Name] {
			dec.d.errorf(s.ArgPos(1), ErrInvalid, "BFD instance %s already configured - ignoring", b.Name)
			continue
		}
		seen[b.Name] = true
		for _, k := range blockStmts(s) {
			if !active(k) {
				continue
			}
			dec.noBlock(k)
			switch k.Keyword() {
			case "neighbor_ip", "neighbour_ip":
				if a, ok := dec.addr(k, 1); ok {
					b.NeighborIP = a
				}
			case "source_ip":
				if a, ok := dec.addr(k, 1); ok {
					b.SourceIP = a
				}
			case "min_rx":
				dec.bfdMillis(&b.MinRx, k, 1)
			case "min_tx":
				dec.bfdMillis(&b.MinTx, k, 1)
			case "idle_tx":
				dec.bfdMillis(&b.IdleTx, k, 1000)
			case "multiplier":
				dec.setInt(&b.Multiplier, k, 1, 1, 255)
			case "passive":
				b.Passive = true
			case "ttl":
				dec.setInt(&b.TTL, k, 1, 1, 255)
			case "hoplimit":
				dec.setInt(&b.HopLimit, k, 1, 1, 255)
			case "max_hops":
				dec.setInt(&b.MaxHops, k, 1, -1, 255)
			case "weight":
				dec.setInt(&b.Weight, k, 1, -253, 253)
				b.Reverse = len(k.Tokens) > 2 && k.Arg(2) == "reverse"
			case "vrrp":
				b.VRRP = true
			case "checker":
				b.Checker = true
			default:
				dec.unknown(k, bfdKeywords)
			}
		}
		switch {
		case !b.NeighborIP.IsValid():
			dec.d.errorf(s.Pos, ErrInvalid, "BFD instance %s has no neighbor address set, disabling instance", b.Name)
			continue
		case b.SourceIP.IsValid() && b.SourceIP.Is4() != b.NeighborIP.Is4():
			dec.d.errorf(s.Pos, ErrInvalid, "BFD instance %s source address %s and neighbor address %s are not of the same family, disabling instance", b.Name, b.SourceIP, b.NeighborIP)
			continue
		}
		out = append(out, b)
	}
	dec.d.list.Sort()
	dec.d.warn.Sort()
	return out, dec.d.warn, dec.d.list.Err()
}

// bfdMillis reads word 1 as milliseconds with up to three decimals (a
// microsecond resolution), at least lo ms.
func (dec *decoder) bfdMillis(dst *time.Duration, s *Stmt, lo float64) {
	if !dec.nargs(s, 2) {
		return
	}
	v, err := parseSeconds(s.Arg(1))
	if err != nil || math.IsNaN(v) || v < lo || v > bfdMaxMs {
		dec.d.errorf(s.ArgPos(1), ErrInvalid, "%s value %s is not valid (must be in range [%g-%d])", s.Keyword(), s.Arg(1), lo, bfdMaxMs)
		return
	}
	*dst = time.Duration(math.Round(v*1000)) * time.Microsecond
}

// TrackBFD decodes the instance's track_bfd block: each entry is a
// bfd_instance name, optionally followed by "weight N" and "reverse".
// Warnings come back apart from the error.
func (in *VRRPInstance) TrackBFD() (tracks []TrackBFD, warnings ErrorList, err error) {
	if in.Stmt == nil {
		return nil, nil, nil
	}
	dec := &decoder{}
	var out []TrackBFD
	for _, s := range blockStmts(in.Stmt) {
		if !active(s) || s.Keyword() != "track_bfd" {
			continue
		}
		for _, v := range dec.values(s, blockStmts(s)) {
			t := TrackBFD{Name: v.Arg(0), Stmt: v}
			switch {
			case len(v.Tokens) == 1:
			case v.Arg(1) == "weight" && len(v.Tokens) >= 3:
				dec.setInt(&t.Weight, v, 2, -253, 253)
				t.WeightSet = true
				if len(v.Tokens) >= 4 {
					if v.Arg(3) != "reverse" || len(v.Tokens) > 4 {
						dec.d.errorf(v.ArgPos(3), ErrInvalid, "track_bfd %s: unknown option '%s'", t.Name, v.Arg(3))
					} else {
						t.Reverse = true
					}
				}
			default:
				dec.d.errorf(v.ArgPos(1), ErrInvalid, "track_bfd %s: unknown option '%s'", t.Name, v.Arg(1))
			}
			out = append(out, t)
		}
	}
	dec.d.list.Sort()
	dec.d.warn.Sort()
	return out, dec.d.warn, dec.d.list.Err()
}

// bfdKeywords are the keywords of a bfd_instance block, for the
// nearest-keyword hint on a typo.
var bfdKeywords = set("neighbor_ip", "neighbour_ip", "source_ip", "min_rx", "min_tx", "idle_tx",
	"multiplier", "passive", "ttl", "hoplimit", "max_hops", "weight", "vrrp", "checker")
