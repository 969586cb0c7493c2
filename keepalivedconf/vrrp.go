package keepalivedconf

import (
	"math"
	"net/netip"
	"strings"
)

func (dec *decoder) vrrpScript(sc *VRRPScript, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		dec.noBlock(s)
		switch s.Keyword() {
		case "script":
			dec.script(&sc.Script, s)
		case "interval":
			dec.setSeconds(&sc.Interval, s, 1, 0.000001, maxTimer)
		case "timeout":
			dec.setSeconds(&sc.Timeout, s, 1, 0.000001, maxTimer)
		case "weight":
			dec.setInt(&sc.Weight, s, 1, -253, 253)
		case "rise":
			dec.setInt(&sc.Rise, s, 1, 1, math.MaxInt32)
		case "fall":
			dec.setInt(&sc.Fall, s, 1, 1, math.MaxInt32)
		case "user":
			dec.str(&sc.User, s, 1)
		case "init_fail":
			sc.InitFail = true
		default:
			if !scriptKeywords[s.Keyword()] {
				dec.unknown(s, scriptKeywords)
			}
		}
	}
}

func (dec *decoder) trackFile(tf *TrackFile, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		dec.noBlock(s)
		switch s.Keyword() {
		case "file":
			dec.str(&tf.File, s, 1)
		case "weight":
			dec.setInt(&tf.Weight, s, 1, -254, 254)
		case "init_file":
			tf.InitFile = true
		default:
			dec.unknown(s, nil)
		}
	}
}

func (dec *decoder) syncGroup(g *SyncGroup, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		if kw != "group" && kw != "track_interface" && kw != "track_script" && kw != "track_file" && kw != "track_process" && kw != "track_bfd" {
			dec.noBlock(s)
		}
		switch kw {
		case "group":
			for _, v := range dec.values(s, blockStmts(s)) {
				for _, t := range v.Tokens {
					g.Group = append(g.Group, t.Value())
				}
			}
		case "notify":
			dec.script(&g.Notify, s)
		case "notify_master":
			dec.script(&g.NotifyMaster, s)
		case "notify_backup":
			dec.script(&g.NotifyBackup, s)
		case "notify_fault":
			dec.script(&g.NotifyFault, s)
		case "smtp_alert":
			g.SMTPAlert = dec.boolArg(s, 1)
		default:
			if !syncGroupKeywords[kw] {
				dec.unknown(s, syncGroupKeywords)
			}
		}
	}
}

// valueBlockKeywords are vrrp_instance keywords whose block is a list of
// values rather than keywords.
var valueBlockKeywords = map[string]bool{
	"virtual_ipaddress": true, "virtual_ipaddress_excluded": true, "unicast_peer": true,
	"track_interface": true, "track_script": true, "track_file": true, "track_process": true,
	"track_bfd": true, "virtual_routes": true, "virtual_rules": true, "authentication": true,
}

func (dec *decoder) instance(in *VRRPInstance, body []*Stmt) {
	for _, s := range body {
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		if !valueBlockKeywords[kw] {
			dec.noBlock(s)
		}
		switch kw {
		case "state":
			if dec.nargs(s, 2) {
				switch v := s.Arg(1); v {
				case "MASTER":
					in.State = StateMaster
				case "BACKUP":
					in.State = StateBackup
				default:
					dec.d.errorf(s.ArgPos(1), ErrInvalid, "(%s) unknown state '%s', defaulting to BACKUP", in.Name, v)
					in.State = StateBackup
				}
			}
		case "interface":
			dec.str(&in.Interface, s, 1)
		case "virtual_router_id":
			dec.setInt(&in.VirtualRouterID, s, 1, 1, 255)
		case "priority":
			dec.setInt(&in.Priority, s, 1, 1, 255)
		case "advert_int":
			dec.setSeconds(&in.AdvertInt, s, 1, 0.01, 255)
		case "version":
			dec.setInt(&in.Version, s, 1, 2, 3)
		case "nopreempt":
			in.Nopreempt = true
		case "preempt":
			in.Nopreempt = false
		case "preempt_delay":
			dec.setSeconds(&in.PreemptDelay, s, 1, 0, 1000)
		case "use_vmac":
			in.UseVMAC = true
			dec.useVMAC(in, s)
		case "vmac_xmit_base":
			in.VMACXmitBase = true
		case "mcast_src_ip":
			if a, ok := dec.addr(s, 1); ok {
				in.McastSrcIP = a
			}
		case "mcast_dst_ip":
			dec.mcastDst(in, s)
		case "skip_check_adv_addr":
			// keepalived 2.2.7 sets the flag for any valid boolean, "off"
			// included (vrrp_skip_check_adv_addr_handler).
			dec.boolArg(s, 1)
			in.SkipCheckAdvAddr = true
		case "unicast_src_ip":
			if a, ok := dec.addr(s, 1); ok {
				in.UnicastSrcIP = a
			}
		case "unicast_peer":
			for _, v := range dec.values(s, blockStmts(s)) {
				if a, ok := dec.addr(v, 0); ok {
					in.UnicastPeers = append(in.UnicastPeers, a)
				}
			}
		case "authentication":
			if s.Block == nil {
				dec.d.errorf(s.Pos, ErrSyntax, "missing '{' at beginning of authentication block")
			}
			for _, a := range blockStmts(s) {
				if !active(a) {
					continue
				}
				switch a.Keyword() {
				case "auth_type":
					if dec.nargs(a, 2) {
						switch v := a.Arg(1); v {
						case "PASS":
							in.AuthType = AuthTypePass
						case "AH":
							in.AuthType = AuthTypeAH
						default:
							dec.d.errorf(a.ArgPos(1), ErrInvalid, "(%s) unknown authentication type '%s'", in.Name, v)
						}
					}
				case "auth_pass":
					dec.str(&in.AuthPass, a, 1)
					if len(in.AuthPass) > 8 {
						dec.d.add(a.ArgPos(1), sevWarning, ErrInvalid, "truncating auth_pass to 8 characters")
						in.AuthPass = in.AuthPass[:8]
					}
				default:
					dec.unknown(a, nil)
				}
			}
		case "virtual_ipaddress", "virtual_ipaddress_excluded":
			for _, v := range dec.values(s, blockStmts(s)) {
				if vip, ok := dec.vip(v); ok {
					if kw == "virtual_ipaddress" {
						in.VIPs = append(in.VIPs, vip)
					} else {
						in.ExcludedVIPs = append(in.ExcludedVIPs, vip)
					}
				}
			}
		case "virtual_routes":
			for _, v := range dec.values(s, blockStmts(s)) {
				if r, ok := dec.route(v); ok {
					in.VirtualRoutes = append(in.VirtualRoutes, r)
				}
			}
		case "virtual_rules":
			for _, v := range dec.values(s, blockStmts(s)) {
				if r, ok := dec.rule(v); ok {
					in.VirtualRules = append(in.VirtualRules, r)
				}
			}
		case "track_interface", "track_script", "track_file":
			for _, v := range dec.values(s, blockStmts(s)) {
				tr := Track{Name: v.Arg(0), Stmt: v}
				if len(v.Tokens) >= 3 && v.Arg(1) == "weight" {
					dec.setInt(&tr.Weight, v, 2, -254, 254)
					tr.Reverse = len(v.Tokens) >= 4 && v.Arg(3) == "reverse"
				}
				switch kw {
				case "track_interface":
					in.TrackInterfaces = append(in.TrackInterfaces, tr)
				case "track_script":
					in.TrackScripts = append(in.TrackScripts, tr)
				default:
					in.TrackFiles = append(in.TrackFiles, tr)
				}
			}
		case "notify":
			dec.script(&in.Notify, s)
		case "notify_master":
			dec.script(&in.NotifyMaster, s)
		case "notify_backup":
			dec.script(&in.NotifyBackup, s)
		case "notify_fault":
			dec.script(&in.NotifyFault, s)
		case "notify_stop":
			dec.script(&in.NotifyStop, s)
		case "smtp_alert":
			in.SMTPAlert = dec.boolArg(s, 1)
		case "garp_master_delay":
			dec.setSeconds(&in.GarpMasterDelay, s, 1, 0, maxTimer)
		default:
			if !instanceKeywords[kw] {
				dec.unknown(s, instanceKeywords)
			}
		}
	}
}

// vip reads one virtual_ipaddress entry: ADDR[/LEN] [brd ADDR] [dev IF]
// [scope S] [label L] [no_track]; other words go to Other.
func (dec *decoder) vip(s *Stmt) (VIP, bool) {
	v := VIP{Stmt: s}
	a := s.Arg(0)
	var err error
	if strings.IndexByte(a, '/') >= 0 {
		v.Prefix, err = netip.ParsePrefix(a)
	} else {
		var ad netip.Addr
		ad, err = netip.ParseAddr(a)
		if err == nil {
			v.Prefix = netip.PrefixFrom(ad, ad.BitLen())
		}
	}
	if err != nil || v.Prefix.Addr().Zone() != "" {
		dec.d.errorf(s.Pos, ErrInvalid, "invalid address '%s'", a)
		return v, false
	}
	for i := 1; i < len(s.Tokens); i += 2 {
		switch s.Arg(i) {
		case "no_track": // a word alone
			v.NoTrack = true
			i--
			continue
		case "brd", "dev", "scope", "label":
			if i+1 >= len(s.Tokens) {
				v.Other = append(v.Other, s.Arg(i))
				continue
			}
		default:
			v.Other = append(v.Other, s.Arg(i))
			i--
			continue
		}
		val := s.Arg(i + 1)
		switch s.Arg(i) {
		case "brd":
			if b, ok := dec.addr(s, i+1); ok {
				v.Brd = b
			}
		case "dev":
			v.Dev = val
		case "scope":
			sc, ok := parseScope(val)
			if !ok {
				dec.d.errorf(s.ArgPos(i+1), ErrInvalid, "invalid scope '%s'", val)
			}
			v.Scope = sc
		case "label":
			v.Label = val
		}
	}
	return v, true
}
