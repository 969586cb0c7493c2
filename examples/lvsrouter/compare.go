package main

import (
	"bytes"
	"slices"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/vrrp"
)

// A reload keeps what did not change: a VRRP unit whose configuration is
// the same keeps running (a master stays master), and a check target that
// is the same keeps its state. "The same" is decided here, value by value
// over the configuration fields; callbacks the router installs itself
// (vrrp.Config.OnTransition, OnNotified) are not configuration and are not compared.
// A checker or policy type this file does not know counts as changed, so
// the worst case is a restart, never a stale configuration.
// TestCompareCoversEveryField fails when a package adds a field that these
// functions do not compare.

// sameUnit reports whether two VRRP units have the same configuration.
func sameUnit(a, b vrrpUnit) bool {
	if a.Key != b.Key || a.ScriptSecurity != b.ScriptSecurity || a.DynamicInterfaces != b.DynamicInterfaces || !slices.Equal(a.NotifyPriority, b.NotifyPriority) || (a.Group == nil) != (b.Group == nil) {
		return false
	}
	if a.Group != nil && (a.Group.Name != b.Group.Name || !slices.Equal(a.Group.Members, b.Group.Members)) {
		return false
	}
	return slices.EqualFunc(a.Instances, b.Instances, sameInstance)
}

// sameInstance compares two instance configurations field by field.
func sameInstance(a, b vrrp.Config) bool {
	return a.Name == b.Name && a.Interface == b.Interface && a.VRID == b.VRID &&
		a.Version == b.Version && a.Priority == b.Priority && a.Interval == b.Interval &&
		a.NoPreempt == b.NoPreempt && a.PreemptDelay == b.PreemptDelay &&
		a.Accept == b.Accept && a.FilterNonAccept == b.FilterNonAccept &&
		a.AuthType == b.AuthType && a.AuthPass == b.AuthPass &&
		slices.Equal(a.VIPs, b.VIPs) && slices.Equal(a.ExcludedVIPs, b.ExcludedVIPs) &&
		slices.Equal(a.Routes, b.Routes) && slices.Equal(a.Rules, b.Rules) &&
		a.VMAC == b.VMAC && a.VMACName == b.VMACName && a.VMACXmitBase == b.VMACXmitBase &&
		a.Source == b.Source && slices.Equal(a.Peers, b.Peers) && a.Group == b.Group &&
		a.Checksum == b.Checksum && a.CheckAddrs == b.CheckAddrs && a.CheckNewMasterAddrs == b.CheckNewMasterAddrs && sameGARP(a.GARP, b.GARP) &&
		a.LowerPrioNoAdvert == b.LowerPrioNoAdvert && a.HigherPrioSendAdvert == b.HigherPrioSendAdvert &&
		sameNotify(a.Notify, b.Notify) &&
		a.DontTrackPrimary == b.DontTrackPrimary && a.TrackSource == b.TrackSource && a.DownTimerAdverts == b.DownTimerAdverts &&
		slices.Equal(a.TrackInterfaces, b.TrackInterfaces) &&
		slices.EqualFunc(a.TrackScripts, b.TrackScripts, sameTrackScript) &&
		slices.Equal(a.TrackFiles, b.TrackFiles) &&
		slices.EqualFunc(a.TrackExternal, b.TrackExternal, sameTrackExternal) &&
		slices.EqualFunc(a.TrackProcesses, b.TrackProcesses, sameTrackProcess)
}

func sameTrackProcess(a, b vrrp.TrackProcess) bool {
	return a.Name == b.Name && a.Process == b.Process && a.FullCommand == b.FullCommand &&
		slices.Equal(a.Params, b.Params) && a.Quorum == b.Quorum && a.QuorumMax == b.QuorumMax &&
		a.Weight == b.Weight && a.Reverse == b.Reverse && a.Interval == b.Interval
}

// sameTrackExternal compares what the configuration says of an external
// track (track_bfd); C is the router's plumbing, attached when the unit is
// built, not configuration.
func sameTrackExternal(a, b vrrp.TrackExternal) bool {
	return a.Name == b.Name && a.Weight == b.Weight && a.Reverse == b.Reverse
}

func sameNotify(a, b vrrp.Notify) bool {
	return slices.Equal(a.Master, b.Master) && slices.Equal(a.Backup, b.Backup) &&
		slices.Equal(a.Fault, b.Fault) && slices.Equal(a.Stop, b.Stop) &&
		slices.Equal(a.Notify, b.Notify) && a.Timeout == b.Timeout &&
		a.User == b.User && a.Group == b.Group
}

func sameTrackScript(a, b vrrp.TrackScript) bool {
	return a.Name == b.Name && slices.Equal(a.Command, b.Command) && a.Interval == b.Interval &&
		a.Timeout == b.Timeout && a.Rise == b.Rise && a.Fall == b.Fall && a.Weight == b.Weight && a.Reverse == b.Reverse &&
		a.User == b.User && a.Group == b.Group
}

// sameTarget reports whether two check targets have the same
// configuration.
func sameTarget(a, b check.Target) bool {
	return a.ID == b.ID && sameChecker(a.Checker, b.Checker) && samePolicy(a.Policy, b.Policy)
}

// sameChecker compares two checkers of the types Translate builds.
func sameChecker(a, b check.Checker) bool {
	switch x := a.(type) {
	case check.TCP:
		y, ok := b.(check.TCP)
		return ok && x == y
	case check.DNS:
		y, ok := b.(check.DNS)
		return ok && x == y
	case check.SMTP:
		y, ok := b.(check.SMTP)
		return ok && x == y
	case check.ICMP:
		y, ok := b.(check.ICMP)
		return ok && x == y
	case check.File:
		y, ok := b.(check.File)
		return ok && x == y
	case check.UDP:
		y, ok := b.(check.UDP)
		return ok && x.Addr == y.Addr && x.Bind == y.Bind && bytes.Equal(x.Payload, y.Payload) &&
			x.RequireReply == y.RequireReply && x.MinReply == y.MinReply && x.MaxReply == y.MaxReply &&
			x.Timeout == y.Timeout
	case check.Exec:
		y, ok := b.(check.Exec)
		return ok && sameExec(x, y)
	case *check.HTTP:
		y, ok := b.(*check.HTTP)
		return ok && sameHTTP(x, y)
	case allOf:
		y, ok := b.(allOf)
		return ok && slices.EqualFunc(x, y, sameChecker)
	}
	return false
}

func sameExec(x, y check.Exec) bool {
	return x.Path == y.Path && slices.Equal(x.Args, y.Args) && x.Shell == y.Shell && x.User == y.User &&
		x.Group == y.Group && x.ScriptSecurity == y.ScriptSecurity && x.Dynamic == y.Dynamic && slices.Equal(x.Env, y.Env) && x.Timeout == y.Timeout
}

func sameHTTP(x, y *check.HTTP) bool {
	if x == nil || y == nil {
		return x == y
	}
	sameRegex := (x.Regex == nil) == (y.Regex == nil) && (x.Regex == nil || x.Regex.String() == y.Regex.String())
	sameCAs := (x.RootCAs == nil) == (y.RootCAs == nil) && (x.RootCAs == nil || x.RootCAs.Equal(y.RootCAs))
	return x.Addr == y.Addr && x.Bind == y.Bind && x.Path == y.Path && x.Host == y.Host &&
		x.TLS == y.TLS && x.ServerName == y.ServerName && x.NoSNI == y.NoSNI && x.Verify == y.Verify && sameCAs &&
		slices.Equal(x.Status, y.Status) && x.Digest == y.Digest && sameRegex &&
		x.BodyRegex.Equal(y.BodyRegex) && x.MaxBody == y.MaxBody && x.Timeout == y.Timeout
}

// samePolicy compares two retry policies of the types Translate builds.
func samePolicy(a, b check.Policy) bool {
	switch x := a.(type) {
	case check.Keepalived:
		y, ok := b.(check.Keepalived)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
}
