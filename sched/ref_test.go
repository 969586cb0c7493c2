package sched

// Literal transliterations of the kernel's O(n) list scans (ip_vs_lc.c,
// ip_vs_wlc.c, ip_vs_sed.c, ip_vs_nq.c, ip_vs_fo.c, ip_vs_ovf.c), used to
// prove that the tournament tree picks the same destination.

func refScan(s *Scheduler, name string) *dest {
	head := &s.head
	switch name {
	case "lc":
		var least *dest
		var loh int64
		for x := head.next; x != head; x = x.next {
			if x.d.Overloaded || x.d.Weight == 0 {
				continue
			}
			doh := x.overhead()
			if least == nil || doh < loh {
				least, loh = x, doh
			}
		}
		return least
	case "wlc", "sed":
		oh := (*dest).overhead
		if name == "sed" {
			oh = func(x *dest) int64 { return int64(x.d.ActiveConns) + 1 }
		}
		x := head.next
		for ; x != head; x = x.next {
			if !x.d.Overloaded && x.d.Weight > 0 {
				break
			}
		}
		if x == head {
			return nil
		}
		least, loh := x, oh(x)
		for x = x.next; x != head; x = x.next {
			if x.d.Overloaded {
				continue
			}
			doh := oh(x)
			if loh*int64(x.d.Weight) > doh*int64(least.d.Weight) {
				least, loh = x, doh
			}
		}
		return least
	case "nq":
		var least *dest
		var loh int64
		for x := head.next; x != head; x = x.next {
			if x.d.Overloaded || x.d.Weight == 0 {
				continue
			}
			doh := int64(x.d.ActiveConns) + 1
			if x.d.ActiveConns == 0 {
				return x
			}
			if least == nil || loh*int64(x.d.Weight) > doh*int64(least.d.Weight) {
				least, loh = x, doh
			}
		}
		return least
	case "fo":
		var h *dest
		hw := 0
		for x := head.next; x != head; x = x.next {
			if !x.d.Overloaded && x.d.Weight > hw {
				h, hw = x, x.d.Weight
			}
		}
		return h
	case "ovf":
		var h *dest
		hw := 0
		for x := head.next; x != head; x = x.next {
			w := x.d.Weight
			if x.d.Overloaded || x.d.ActiveConns > w || w == 0 {
				continue
			}
			if h == nil || w > hw {
				h, hw = x, w
			}
		}
		return h
	}
	panic("no reference scan for " + name)
}
