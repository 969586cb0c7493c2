#!/usr/bin/env bash
# importer-check: a module that imports every top-level lvskit package must
# not see the benchmark-only peers (they live in internal/bench's own
# module). Run by `make vet`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
go=${GO:-go}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pkgs=$(cd "$root" && $go list ./... | grep -v -e /internal/ -e /examples/)
{
	echo "module example.com/importer"
	echo
	echo "go 1.26.0"
	echo
	echo "require github.com/lvskit/lvskit v0.0.0"
	echo
	echo "replace github.com/lvskit/lvskit => $root"
} >"$tmp/go.mod"
{
	echo "package main"
	echo
	echo "import ("
	for p in $pkgs; do echo "	_ \"$p\""; done
	echo ")"
	echo
	echo "func main() {}"
} >"$tmp/main.go"
cp "$root/go.sum" "$tmp/go.sum"
cd "$tmp"
$go mod tidy >/dev/null
mods=$($go list -m all)
bad=0
for peer in github.com/moby/ipvs github.com/cloudflare/ipvs github.com/haproxytech/config-parser; do
	if grep -q "^$peer" <<<"$mods"; then
		echo "importer-check: an importer of lvskit gets $peer (a benchmark-only dependency)"
		bad=1
	fi
done
# lvsrouter's BGP speaker (examples/lvsrouter/cmd/lvsrouter-bgp) embeds
# GoBGP (which brings logrus): the module graph of
# an importer lists them (lvskit's go.mod requires them), but an importer of
# the top-level packages must never compile them.
deps=$($go list -deps .)
for dep in github.com/osrg/gobgp github.com/sirupsen/logrus google.golang.org/grpc; do
	if grep -q "^$dep" <<<"$deps"; then
		echo "importer-check: an importer of lvskit compiles $dep (only lvsrouter-bgp may)"
		bad=1
	fi
done
if [ $bad -ne 0 ]; then
	exit 1
fi
echo "importer-check: importing $(wc -w <<<"$pkgs") lvskit packages pulls in none of the benchmark peers"
