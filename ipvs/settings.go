package ipvs

import "net/netip"

// DestinationSettings is what a write sets of a destination: a Destination
// without the counters and statistics that reads fill. It takes 64 bytes
// where a Destination takes 160, for callers that hold many destinations
// they mean to write (a router's plan of 40,000 real servers keeps 3.8 MB
// less).
type DestinationSettings struct {
	// Addr is the real server's address and port.
	Addr netip.AddrPort
	// Forward is the forwarding method.
	Forward ForwardMethod
	// Weight is the scheduling weight (0 quiesces the server).
	Weight int
	// UpperThreshold and LowerThreshold bound the connections (0: none).
	UpperThreshold uint32
	LowerThreshold uint32
	// TunnelType, TunnelPort and TunnelFlags configure Tunnel
	// destinations, as in Destination.
	TunnelType  TunnelType
	TunnelPort  uint16
	TunnelFlags TunnelFlags
}

// Destination returns the settings as a Destination, its counters zero.
func (s DestinationSettings) Destination() Destination {
	return Destination{
		Addr: s.Addr, Forward: s.Forward, Weight: s.Weight,
		UpperThreshold: s.UpperThreshold, LowerThreshold: s.LowerThreshold,
		TunnelType: s.TunnelType, TunnelPort: s.TunnelPort, TunnelFlags: s.TunnelFlags,
	}
}

// Settings returns what a write sets of d.
func (d *Destination) Settings() DestinationSettings {
	return DestinationSettings{
		Addr: d.Addr, Forward: d.Forward, Weight: d.Weight,
		UpperThreshold: d.UpperThreshold, LowerThreshold: d.LowerThreshold,
		TunnelType: d.TunnelType, TunnelPort: d.TunnelPort, TunnelFlags: d.TunnelFlags,
	}
}

// Validate reports what is wrong with s as a destination to write, as
// Destination.Validate does.
func (s DestinationSettings) Validate() error {
	d := s.Destination()
	return d.Validate()
}
