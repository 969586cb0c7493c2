package vrrp

import (
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/ipv6"
)

// announcer sends gratuitous ARPs or neighbour advertisements on one
// interface for every instance there. Its sockets only send: the packet
// socket is bound to protocol 0 and the ICMPv6 one filters everything.
type announcer struct {
	mu  sync.Mutex
	ifi *net.Interface
	arp *packet.Conn
	ndp *ndp.Conn
}

func openAnnouncer(ns string, ifi *net.Interface, ipv6only bool) (*announcer, error) {
	a := &announcer{ifi: ifi}
	err := inNS(ns, func() error {
		var err error
		if ipv6only {
			a.ndp, _, err = ndp.Listen(ifi, ndp.LinkLocal)
			if err == nil {
				var f ipv6.ICMPFilter
				f.SetAll(true)
				err = a.ndp.SetICMPFilter(&f)
			}
			return err
		}
		a.arp, err = packet.Listen(ifi, packet.Raw, 0, nil)
		return err
	})
	if err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *announcer) close() {
	if a.arp != nil {
		a.arp.Close()
	}
	if a.ndp != nil {
		a.ndp.Close()
	}
}

var allNodes = netip.MustParseAddr("ff02::1")

// announce sends one gratuitous ARP request (IPv4) or unsolicited
// neighbour advertisement with the Override flag (IPv6) for ip.
func (a *announcer) announce(ip netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	mac := a.ifi.HardwareAddr
	if a.arp != nil {
		if len(mac) != 6 {
			return fmt.Errorf("vrrp: %s has no Ethernet address: %w", a.ifi.Name, ErrInvalid)
		}
		_, err := a.arp.WriteTo(appendGARP(nil, mac, ip), &packet.Addr{HardwareAddr: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}})
		return err
	}
	na := &ndp.NeighborAdvertisement{Override: true, TargetAddress: ip,
		Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}}}
	return a.ndp.WriteTo(na, nil, allNodes)
}

// announce announces every VIP and excluded VIP once.
func (in *Instance) announce() {
	in.announceAddrs(in.acfg.VIPs)
	in.announceAddrs(in.acfg.ExcludedVIPs)
}

func (in *Instance) announceAddrs(vips []VIP) {
	for _, v := range vips {
		a := in.ann
		if da, ok := in.devAnn[v.Dev]; ok {
			a = da
		}
		if v.Prefix.Addr().Is6() != in.cfg.ipv6() {
			a = in.otherAnn[v.Dev]
		}
		if a == nil {
			continue
		}
		if err := a.announce(v.Prefix.Addr()); err != nil {
			in.r.log.Debug("vrrp: announce", "instance", in.cfg.Name, "vip", v.Prefix, "err", err)
			continue
		}
		in.stats.garps.Add(1)
	}
}

// announceExtra sends one garp_extra_if round (announce_extra.go).
func (in *Instance) announceExtra() {
	in.announceAddrs(extraTargets(&in.acfg.GARP, in.acfg.VIPs, in.acfg.ExcludedVIPs))
}
