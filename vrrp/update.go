package vrrp

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// ErrNotUpdatable is wrapped by Updatable and Instance.Update when the new
// Config changes a field that a running instance cannot take in place
// (its interface, VRID, version, family, unicast peers ...); the error
// names the field. The instance must be stopped and started again.
var ErrNotUpdatable = errors.New("vrrp: cannot change in place")

// updatableFields are the Config fields Instance.Update applies to a
// running instance. Every other field must stay as it is; a field added
// to Config later is therefore not updatable until it is listed here.
var updatableFields = map[string]bool{
	"Priority": true, "Interval": true, "NoPreempt": true, "PreemptDelay": true,
	"VIPs": true, "ExcludedVIPs": true, "Routes": true, "Rules": true, "GARP": true, "Notify": true,
	"TrackInterfaces": true, "TrackScripts": true, "TrackFiles": true, "TrackExternal": true, "TrackProcesses": true,
	"OnTransition": true, "OnNotified": true, "OnPriority": true, "LowerPrioNoAdvert": true, "HigherPrioSendAdvert": true, "DownTimerAdverts": true,
}

// Updatable reports whether a running instance configured with old can
// take next through Instance.Update: nil if so, else an error wrapping
// ErrNotUpdatable that names the first field that cannot change in place.
// Both are compared after defaults are filled in; Updatable does not
// validate next (Update does, as Router.Add would).
func Updatable(old, next Config) error {
	_ = old.normalize() // defaults only; errors are Add's and Update's
	_ = next.normalize()
	return updatable(&old, &next)
}

// updatable compares two normalized Configs.
func updatable(old, next *Config) error {
	bad := func(field, msg string) error {
		return fmt.Errorf("vrrp: instance %s: %s: %s: %w", old.Name, field, msg, ErrNotUpdatable)
	}
	if len(old.VIPs) > 0 && len(next.VIPs) > 0 && old.ipv6() != next.ipv6() {
		return bad("VIPs", "address family changed")
	}
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(next).Elem()
	t := ov.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if updatableFields[f.Name] {
			continue
		}
		if !reflect.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface()) {
			return bad(f.Name, "changed")
		}
	}
	// The owner (255) skips the election: becoming or ceasing to be it is
	// a restart.
	if (old.Priority == 255) != (next.Priority == 255) {
		return bad("Priority", fmt.Sprintf("%d -> %d changes address ownership", old.Priority, next.Priority))
	}
	if reflect.DeepEqual(old.VIPs, next.VIPs) {
		return nil
	}
	if old.FilterNonAccept {
		return bad("VIPs", "changed while FilterNonAccept holds them in an nftables table")
	}
	devs := map[string]bool{"": true, old.Interface: true}
	type at struct {
		prefix string
		dev    string
	}
	had := map[at]VIP{}
	for _, v := range old.VIPs {
		devs[v.Dev] = true
		had[at{v.Prefix.String(), v.Dev}] = v
	}
	for i, v := range next.VIPs {
		field := fmt.Sprintf("VIPs[%d]", i)
		if !devs[v.Dev] {
			return bad(field+".Dev", fmt.Sprintf("new interface %s", v.Dev))
		}
		if o, ok := had[at{v.Prefix.String(), v.Dev}]; ok && o != v {
			return bad(field, fmt.Sprintf("%v changed its label, scope or broadcast", v.Prefix))
		}
	}
	return nil
}

// trackChanged tells whether what an instance tracks changed, so that its
// trackers must restart.
func trackChanged(old, next *Config) bool {
	return !reflect.DeepEqual(old.TrackInterfaces, next.TrackInterfaces) ||
		!reflect.DeepEqual(old.TrackScripts, next.TrackScripts) ||
		!reflect.DeepEqual(old.TrackFiles, next.TrackFiles) ||
		!reflect.DeepEqual(old.TrackExternal, next.TrackExternal)
}

// trackKeys are the keys the trackers of cfg report under.
func trackKeys(cfg *Config) map[string]bool {
	k := map[string]bool{}
	for _, t := range cfg.TrackInterfaces {
		k["interface:"+t.Name] = true
	}
	for _, s := range cfg.TrackScripts {
		k[scriptKey(&s)] = true
	}
	for _, f := range cfg.TrackFiles {
		k["file:"+f.Path] = true
	}
	for _, t := range cfg.TrackExternal {
		k["external:"+t.Name] = true
	}
	for _, t := range cfg.TrackProcesses {
		k["process:"+t.Name] = true
	}
	for _, key := range ownKeys(cfg) {
		k[key] = true
	}
	return k
}

// diff returns the elements of a not in b, in a's order.
func diff[T comparable](a, b []T) []T {
	var out []T
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// scriptKey is the key a track script reports under.
func scriptKey(s *TrackScript) string {
	if s.Name == "" {
		return "script:" + strings.Join(s.Command, " ")
	}
	return "script:" + s.Name
}
