# lvskit: `make demo` runs the router end to end; `make test` installs what
# the tests need and runs every tier. See README.md.
SHELL    := /bin/bash
GO       ?= go
BIN      := $(CURDIR)/bin
VMEXEC   := $(BIN)/vmexec
SPEAKER  := $(BIN)/lvsrouter-bgp
# The VM tier's BGP routers run bin/lvsrouter-bgp, copied into the guest
# (the guest has no go command to build it; on the host tests build it).
comma    := ,
VM_ENV    = LVSKIT_BGP_SPEAKER=$(SPEAKER) LVSKIT_VM_TOOLS=$(SPEAKER)$(if $(LVSKIT_VM_TOOLS),$(comma)$(LVSKIT_VM_TOOLS))
# The VM benchmarks measure bin/lvsrouter, the program users run, not the
# test binary (which holds the tests' packages too: 4 MiB more resident).
VM_BENCH_ENV = LVSKIT_LVSROUTER=$(BIN)/lvsrouter LVSKIT_BGP_SPEAKER=$(SPEAKER) \
	LVSKIT_VM_TOOLS=$(SPEAKER),$(BIN)/lvsrouter$(if $(LVSKIT_VM_TOOLS),$(comma)$(LVSKIT_VM_TOOLS))
# Packages with tests of a tier, found by file name; override with PKGS=.
NETNS_PKGS = $(or $(PKGS),$(shell find . -name '*_netns_test.go' -not -path './.cache/*' -not -path './$(BENCH_MOD)/*' | xargs -r -n1 dirname | sort -u))
VM_PKGS    = $(or $(PKGS),$(shell find . -name '*_vm_test.go' -not -path './.cache/*' -not -path './$(BENCH_MOD)/*' | xargs -r -n1 dirname | sort -u))
# The top-level packages: each must build and vet on every GOOS.
PURE_PKGS := ./vrrp ./ipvs ./sched ./check ./fwmark ./keepalivedconf ./haproxy
# staticcheck, pinned. `go run` keeps it in the module cache; the cache is
# tried first as a proxy, so it runs offline after the first download.
STATICCHECK ?= GOPROXY=file://$$($(GO) env GOMODCACHE)/cache/download,$$($(GO) env GOPROXY) \
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The module of peer benchmarks (moby/ipvs, cloudflare/ipvs, config-parser).
BENCH_MOD := internal/bench
FUZZTIME ?= 20s
BENCHTIME ?= 1s

.PHONY: all build speaker deps test vet test-unit test-netns test-vm check-vm-exit bench bench-vm fuzz demo vmexec clean

all: vet test-unit

deps:
	@bash .ci/deps.sh
	@$(GO) mod download

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags netns ./...
	$(GO) vet -tags vm ./...
	GOOS=darwin $(GO) vet $(PURE_PKGS)
	GOOS=windows $(GO) vet $(PURE_PKGS)
	$(GO) mod tidy -diff
	cd $(BENCH_MOD) && $(GO) mod tidy -diff && $(GO) vet ./... && $(GO) vet -tags vm ./...
	$(STATICCHECK) ./...
	cd $(BENCH_MOD) && $(STATICCHECK) -tags vm ./...
	GO=$(GO) bash .ci/importer-check.sh
	CGO_ENABLED=0 $(GO) build ./...

# Tier 1: pure tests, no root needed, with the race detector.
test-unit:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

# Tier 2: network namespaces and real peers (root; skips without it
# locally, fails under CI=true). One package at a time: peers are timing
# sensitive.
test-netns:
	@if [ -n "$(strip $(NETNS_PKGS))" ]; then \
	  $(GO) test -tags netns -count=1 -p 1 -timeout 20m $(NETNS_PKGS); fi

# lvsrouter and its BGP speaker, lvsrouter-bgp (started by --bgp), side by
# side in bin/: install them in one directory (lvsrouter looks for the
# speaker next to itself, then on PATH).
build: speaker
	CGO_ENABLED=0 $(GO) build -o $(BIN)/lvsrouter ./examples/lvsrouter

speaker:
	@mkdir -p $(BIN)
	@CGO_ENABLED=0 $(GO) build -o $(SPEAKER) ./examples/lvsrouter/cmd/lvsrouter-bgp

vmexec:
	@mkdir -p $(BIN)
	@CGO_ENABLED=0 $(GO) build -o $(VMEXEC) ./internal/vmtest/cmd/vmexec

# Tier 3: tests that need the kernel's IPVS, inside a QEMU guest.
test-vm: vmexec speaker check-vm-exit
	$(VM_ENV) CGO_ENABLED=0 $(GO) test -tags vm -exec $(VMEXEC) -count=1 -p 1 -timeout 30m -run '^TestVM' $(VM_PKGS)

# Proves that a failing test inside the guest fails the run.
check-vm-exit: vmexec
	@out=$$(LVSKIT_VM_FAIL=1 CGO_ENABLED=0 $(GO) test -tags vm -exec $(VMEXEC) -count=1 \
	    -run '^TestVMFailurePropagates$$' ./internal/vmtest/ 2>&1); rc=$$?; \
	if [ $$rc -eq 0 ]; then echo "check-vm-exit: a failing guest test passed: exit status lost"; exit 1; fi; \
	if ! grep -q 'deliberate failure' <<<"$$out"; then echo "check-vm-exit: the guest failed for another reason:"; echo "$$out"; exit 1; fi; \
	echo "check-vm-exit: a failing guest test fails the run, as it must"

test: deps vet test-unit test-netns test-vm

bench: vmexec
	$(GO) test -tags netns -p 1 -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -timeout 60m ./...
	cd $(BENCH_MOD) && $(GO) test -tags netns -p 1 -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -timeout 60m ./...
	$(MAKE) bench-vm

# VM benchmarks of this module and of the peer-benchmark module.
bench-vm: vmexec build
	@if [ -n "$(strip $(VM_PKGS))" ]; then \
	  $(VM_BENCH_ENV) CGO_ENABLED=0 $(GO) test -tags vm -exec $(VMEXEC) -run '^$$' -bench '^BenchmarkVM' -benchmem -benchtime 1x -timeout 60m -p 1 $(VM_PKGS); fi
	cd $(BENCH_MOD) && CGO_ENABLED=0 $(GO) test -tags vm -exec $(VMEXEC) -run '^$$' -bench '^BenchmarkVM' -benchmem -benchtime 1x -timeout 60m -p 1 ./...

# Each fuzz target for FUZZTIME.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
	  done; done

demo:
	@bash examples/demo.sh

clean:
	rm -rf $(BIN)
