package vrrp

// Keys the instance's own trackers report under: its interface (and
// VMAC) unless DontTrackPrimary, and its configured source address with
// TrackSource.
const (
	keyPrimary = "primary:"
	keySource  = "source"
)

// ownInterfaces are the links whose going down faults the instance
// (keepalived tracks the interface of an instance, and its VMAC, unless
// dont_track_primary is set).
func ownInterfaces(cfg *Config) []TrackInterface {
	if cfg.DontTrackPrimary || cfg.Interface == "" {
		return nil
	}
	ti := []TrackInterface{{Name: cfg.Interface}}
	if cfg.VMAC && cfg.VMACName != "" && cfg.VMACName != cfg.Interface {
		ti = append(ti, TrackInterface{Name: cfg.VMACName})
	}
	return ti
}

// tracksSource tells whether the instance follows its source address:
// the address it picked itself always (keepalived faults an instance
// whose interface loses the address it sends from), a configured Source
// only with TrackSource (keepalived track_src_ip).
func tracksSource(cfg *Config) bool {
	return cfg.TrackSource || !cfg.Source.IsValid()
}

// ownKeys are the keys of the instance's own trackers.
func ownKeys(cfg *Config) []string {
	var keys []string
	for _, t := range ownInterfaces(cfg) {
		keys = append(keys, keyPrimary+t.Name)
	}
	if tracksSource(cfg) {
		keys = append(keys, keySource)
	}
	return keys
}
