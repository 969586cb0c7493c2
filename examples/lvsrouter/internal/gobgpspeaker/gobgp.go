package gobgpspeaker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/lvskit/lvskit/examples/lvsrouter/internal/bgpwire"
	gobgpapi "github.com/osrg/gobgp/v3/api"
	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	"github.com/osrg/gobgp/v3/pkg/server"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// goBGP is the speaker: GoBGP embedded as a library, no gRPC listener,
// no zebra. It connects to its neighbours (and listens when
// listen_port is set) and sends each announced prefix with next hop self
// (the session's own address: GoBGP sets it for eBGP, and for iBGP from
// the unspecified next hop given here).
type goBGP struct {
	s   *server.BgpServer
	log *slog.Logger

	mu        sync.Mutex
	neighbors map[netip.Addr]bgpwire.Neighbor
	closed    bool
}

// startGoBGP starts a speaker for c; SetNeighbors adds the neighbours.
func startGoBGP(ctx context.Context, c bgpwire.Global, log *slog.Logger) (*goBGP, error) {
	s := server.NewBgpServer(server.LoggerOption(gobgpLogger{log}))
	go s.Serve()
	port := int32(-1) // GoBGP: -1 does not listen
	if c.ListenPort != 0 {
		port = int32(c.ListenPort)
	}
	if err := s.StartBgp(ctx, &gobgpapi.StartBgpRequest{Global: &gobgpapi.Global{
		Asn: c.AS, RouterId: c.RouterID.String(), ListenPort: port,
	}}); err != nil {
		s.Stop()
		return nil, fmt.Errorf("bgp: start: %w", err)
	}
	return &goBGP{s: s, log: log, neighbors: map[netip.Addr]bgpwire.Neighbor{}}, nil
}

func familyOf(a netip.Addr) *gobgpapi.Family {
	if a.Is4() {
		return &gobgpapi.Family{Afi: gobgpapi.Family_AFI_IP, Safi: gobgpapi.Family_SAFI_UNICAST}
	}
	return &gobgpapi.Family{Afi: gobgpapi.Family_AFI_IP6, Safi: gobgpapi.Family_SAFI_UNICAST}
}

func gobgpPeer(n bgpwire.Neighbor) *gobgpapi.Peer {
	p := &gobgpapi.Peer{
		Conf: &gobgpapi.PeerConf{NeighborAddress: n.Address.String(), PeerAsn: n.RemoteAS, AuthPassword: n.Password},
		Timers: &gobgpapi.Timers{Config: &gobgpapi.TimersConfig{
			HoldTime: uint64(n.HoldTime.Seconds()), KeepaliveInterval: uint64(n.KeepaliveInterval.Seconds()),
			ConnectRetry: uint64(n.ConnectRetry.Seconds()),
			// After a reset (a BFD session that timed out), reconnect as
			// after a failed connection, not after GoBGP's 30 s default.
			IdleHoldTimeAfterReset: uint64(n.ConnectRetry.Seconds()),
		}},
		Transport: &gobgpapi.Transport{RemotePort: uint32(n.Port)},
		// A neighbour gets the VIPs of its own family.
		AfiSafis: []*gobgpapi.AfiSafi{{Config: &gobgpapi.AfiSafiConfig{Family: familyOf(n.Address), Enabled: true}}},
	}
	if n.LocalAddress.IsValid() {
		p.Transport.LocalAddress = n.LocalAddress.String()
	}
	return p
}

// SetNeighbors makes the speaker's neighbours ns: new ones are added,
// gone ones removed, changed ones replaced.
func (g *goBGP) SetNeighbors(ctx context.Context, ns []bgpwire.Neighbor) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	want := map[netip.Addr]bgpwire.Neighbor{}
	for _, n := range ns {
		want[n.Address] = n
	}
	var errs []error
	for a, old := range g.neighbors {
		// lvsrouter sends no BFD settings (its BFD sessions are its
		// own): a change there keeps the BGP session.
		if n, ok := want[a]; ok && n == old {
			continue
		}
		if err := g.s.DeletePeer(ctx, &gobgpapi.DeletePeerRequest{Address: a.String()}); err != nil {
			errs = append(errs, fmt.Errorf("bgp: neighbor %s: %w", a, err))
			continue
		}
		delete(g.neighbors, a)
		g.log.Info("bgp: neighbor removed", "neighbor", a)
	}
	for _, n := range ns {
		if _, ok := g.neighbors[n.Address]; ok {
			continue
		}
		if err := g.s.AddPeer(ctx, &gobgpapi.AddPeerRequest{Peer: gobgpPeer(n)}); err != nil {
			errs = append(errs, fmt.Errorf("bgp: neighbor %s: %w", n.Address, err))
			continue
		}
		g.neighbors[n.Address] = n
		g.log.Info("bgp: neighbor added", "neighbor", n.Address, "remote_as", n.RemoteAS)
	}
	return errors.Join(errs...)
}

// gobgpPath builds the GoBGP path of a prefix with next hop self.
func gobgpPath(p netip.Prefix, a bgpwire.Attrs) (*gobgpapi.Path, error) {
	fam := familyOf(p.Addr())
	nlri, err := anypb.New(&gobgpapi.IPAddressPrefix{Prefix: p.Addr().String(), PrefixLen: uint32(p.Bits())})
	if err != nil {
		return nil, err
	}
	attrs := []proto.Message{&gobgpapi.OriginAttribute{Origin: 0}}
	if p.Addr().Is4() {
		attrs = append(attrs, &gobgpapi.NextHopAttribute{NextHop: "0.0.0.0"})
	} else {
		attrs = append(attrs, &gobgpapi.MpReachNLRIAttribute{Family: fam, NextHops: []string{"::"}, Nlris: []*anypb.Any{nlri}})
	}
	if a.HasMED {
		attrs = append(attrs, &gobgpapi.MultiExitDiscAttribute{Med: a.MED})
	}
	if len(a.Communities) > 0 {
		attrs = append(attrs, &gobgpapi.CommunitiesAttribute{Communities: a.Communities})
	}
	pattrs := make([]*anypb.Any, len(attrs))
	for i, m := range attrs {
		if pattrs[i], err = anypb.New(m); err != nil {
			return nil, err
		}
	}
	return &gobgpapi.Path{Family: fam, Nlri: nlri, Pattrs: pattrs}, nil
}

// Announce announces p with next hop self, or replaces its attributes.
func (g *goBGP) Announce(ctx context.Context, p netip.Prefix, a bgpwire.Attrs) error {
	path, err := gobgpPath(p, a)
	if err != nil {
		return err
	}
	_, err = g.s.AddPath(ctx, &gobgpapi.AddPathRequest{Path: path})
	return err
}

// Withdraw withdraws p.
func (g *goBGP) Withdraw(ctx context.Context, p netip.Prefix) error {
	path, err := gobgpPath(p, bgpwire.Attrs{})
	if err != nil {
		return err
	}
	return g.s.DeletePath(ctx, &gobgpapi.DeletePathRequest{Family: path.Family, Path: path})
}

// Sent returns the UPDATE messages sent so far to each established
// neighbour.
func (g *goBGP) Sent(ctx context.Context) (map[netip.Addr]uint64, error) {
	out := map[netip.Addr]uint64{}
	err := g.s.ListPeer(ctx, &gobgpapi.ListPeerRequest{}, func(p *gobgpapi.Peer) {
		st := p.GetState()
		if st.GetSessionState() != gobgpapi.PeerState_ESTABLISHED {
			return
		}
		a, err := netip.ParseAddr(p.GetConf().GetNeighborAddress())
		if err != nil {
			return
		}
		out[a.Unmap()] = st.GetMessages().GetSent().GetUpdate()
	})
	return out, err
}

// Reset ends the session with n, with a Cease carrying why.
func (g *goBGP) Reset(ctx context.Context, n netip.Addr, why string) error {
	return g.s.ResetPeer(ctx, &gobgpapi.ResetPeerRequest{Address: n.String(), Communication: why})
}

// Close stops GoBGP: its sessions end with a Cease.
func (g *goBGP) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	// StopBgp ends every session with a Cease NOTIFICATION.
	err := g.s.StopBgp(context.Background(), &gobgpapi.StopBgpRequest{})
	g.s.Stop()
	return err
}

// gobgpLogger passes GoBGP's log lines to slog (and so, through the
// speaker's stderr, to lvsrouter's log).
type gobgpLogger struct{ log *slog.Logger }

func (l gobgpLogger) attrs(f gobgplog.Fields) []any {
	out := make([]any, 0, 2*len(f))
	for k, v := range f {
		out = append(out, k, v)
	}
	return out
}

// Panic and Fatal are logged as errors: GoBGP calls them where it gives
// up on one operation, and the speaker keeps running.
func (l gobgpLogger) Panic(msg string, f gobgplog.Fields) { l.log.Error("gobgp: "+msg, l.attrs(f)...) }
func (l gobgpLogger) Fatal(msg string, f gobgplog.Fields) { l.log.Error("gobgp: "+msg, l.attrs(f)...) }
func (l gobgpLogger) Error(msg string, f gobgplog.Fields) { l.log.Error("gobgp: "+msg, l.attrs(f)...) }
func (l gobgpLogger) Warn(msg string, f gobgplog.Fields)  { l.log.Warn("gobgp: "+msg, l.attrs(f)...) }
func (l gobgpLogger) Info(msg string, f gobgplog.Fields)  { l.log.Debug("gobgp: "+msg, l.attrs(f)...) }
func (l gobgpLogger) Debug(msg string, f gobgplog.Fields) { l.log.Debug("gobgp: "+msg, l.attrs(f)...) }
func (gobgpLogger) SetLevel(gobgplog.LogLevel)            {}

// GetLevel tells GoBGP to build debug lines only when they are logged.
func (l gobgpLogger) GetLevel() gobgplog.LogLevel {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		return gobgplog.DebugLevel
	}
	return gobgplog.WarnLevel
}
