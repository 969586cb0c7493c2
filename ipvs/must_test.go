package ipvs

import (
	"testing"

	"github.com/mdlayher/netlink"
)

// mustEncode encodes ae, failing the test on an encoding error.
func mustEncode(tb testing.TB, ae *netlink.AttributeEncoder) []byte {
	tb.Helper()
	b, err := ae.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
