// Package bench holds the benchmarks that measure lvskit against peer Go
// libraries (moby/ipvs, cloudflare/ipvs, haproxytech/config-parser). They
// live in a module of their own so that lvskit's go.mod lists only what
// its importers need; `replace github.com/lvskit/lvskit => ../..` builds
// them against this tree.
//
//	cd internal/bench && go test -run '^$' -bench . -benchmem ./haproxy/
//	cd internal/bench && CGO_ENABLED=0 go test -tags vm -exec ../../bin/vmexec \
//	    -run '^$' -bench '^BenchmarkVM' -benchmem -benchtime 1x ./ipvs/
//
// (`make bench` and `make bench-vm` at the top run them.)
package bench
