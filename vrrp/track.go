package vrrp

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// trackStatus is what one tracked object contributes to an instance.
type trackStatus struct {
	fault bool
	delta int
}

// ifaceStatus maps an interface's state (or a script's result) to what it
// contributes, Reverse included.
func ifaceStatus(t TrackInterface, up bool) trackStatus {
	if t.Reverse {
		return scriptStatus(!up, -t.Weight)
	}
	return scriptStatus(up, t.Weight)
}

// scriptStatus maps a script result to keepalived's weight semantics.
func scriptStatus(up bool, weight int) trackStatus {
	switch {
	case weight == 0:
		return trackStatus{fault: !up}
	case weight > 0 && up, weight < 0 && !up:
		return trackStatus{delta: weight}
	}
	return trackStatus{}
}

// fileStatus reads a track file: a missing or unreadable file counts as 0.
func fileStatus(f TrackFile) trackStatus {
	v, _ := readTrackFile(f.Path)
	if f.Weight == 0 {
		return trackStatus{fault: v != 0}
	}
	return trackStatus{delta: v * f.Weight}
}

func readTrackFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(strings.Fields(s)[0])
	if err != nil {
		return 0, fmt.Errorf("vrrp: track file %s: %w", path, err)
	}
	return v, nil
}
