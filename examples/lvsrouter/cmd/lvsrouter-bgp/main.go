// Command lvsrouter-bgp is lvsrouter's BGP speaker (GoBGP), in a process
// of its own: lvsrouter starts it only with --bgp, looking for it next to
// its own executable and then on PATH, and talks to it over its stdin and
// stdout (package bgpwire). It is not meant to be run by hand.
package main

import (
	"os"

	"github.com/lvskit/lvskit/examples/lvsrouter/internal/gobgpspeaker"
)

func main() {
	os.Exit(gobgpspeaker.Main())
}
