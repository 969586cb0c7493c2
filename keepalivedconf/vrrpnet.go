package keepalivedconf

import "strings"

// useVMAC reads use_vmac's optional words: an interface name and a MAC
// address (a word with a ':'), at most one of each, as keepalived does.
func (dec *decoder) useVMAC(in *VRRPInstance, s *Stmt) {
	for i := 1; i < len(s.Tokens) && i <= 2; i++ {
		w := s.Arg(i)
		if strings.IndexByte(w, ':') >= 0 {
			if in.VMACAddr != "" {
				dec.d.errorf(s.ArgPos(i), ErrInvalid, "VMAC interface address already specified")
				continue
			}
			in.VMACAddr = w
			continue
		}
		if in.VMACName != "" {
			dec.d.errorf(s.ArgPos(i), ErrInvalid, "VMAC interface name already specified")
			continue
		}
		if len(w) > 15 || strings.ContainsAny(w, "/ \t") {
			dec.d.errorf(s.ArgPos(i), ErrInvalid, "VMAC interface name '%s' too long or invalid characters - ignoring", w)
			continue
		}
		in.VMACName = w
	}
}

// mcastDst reads mcast_dst_ip: an IPv4 multicast or IPv6 link-local
// multicast address (keepalived skips anything else, reporting it).
func (dec *decoder) mcastDst(in *VRRPInstance, s *Stmt) {
	a, ok := dec.addr(s, 1)
	if !ok {
		return
	}
	if !a.IsMulticast() || (a.Is6() && !a.IsLinkLocalMulticast()) {
		ll := ""
		if a.Is6() {
			ll = " link-local"
		}
		dec.d.errorf(s.ArgPos(1), ErrInvalid, "(%s) mcast_dst_ip %s not%s multicast. Skipping...", in.Name, s.Arg(1), ll)
		return
	}
	in.McastDstIP = a
}

// Active reports whether keepalived reads s: a keyword line that no
// conditional (@host) excludes.
func (s *Stmt) Active() bool { return active(s) }

// instanceNet makes keepalived's end-of-instance checks of its address
// keywords (vrrp_complete_instance).
func (dec *decoder) instanceNet(in *VRRPInstance) {
	if in.VMACXmitBase && !in.UseVMAC {
		at := in.Stmt.Pos
		if in.Stmt.Block != nil {
			for _, s := range in.Stmt.Block.Stmts {
				if s.Active() && s.Keyword() == "vmac_xmit_base" {
					at = s.Pos
				}
			}
		}
		dec.d.errorf(at, ErrInvalid, "(%s) vmac_xmit_base is only valid with a vmac", in.Name)
		in.VMACXmitBase = false
	}
}
