// Package vmtest runs Go test binaries inside a QEMU guest that boots the
// Debian kernel package, because the host kernel has no IPVS.
//
// Use it through `go test -exec`:
//
//	CGO_ENABLED=0 go build -o bin/vmexec ./internal/vmtest/cmd/vmexec
//	CGO_ENABLED=0 go test -tags vm -exec $PWD/bin/vmexec -run '^TestVM' ./ipvs/
//
// vmexec is both halves: on the host it builds an initramfs (a cached base
// with itself as /init, busybox, the kernel's network and netfilter modules
// and host tools such as ipvsadm, nft, ip, keepalived and FRR's zebra, bgpd
// and vtysh with their libraries, plus a
// small per-run archive with the test binary and its testdata), boots QEMU
// under TCG and streams the test's output back; as the guest's PID 1 it
// mounts /proc, /sys, /dev, /run and /tmp, loads ip_vs and every scheduler,
// brings lo up, runs the test binary in the package directory and reports
// its exit status, which vmexec returns.
//
// Environment: LVSKIT_VM_ROOT (an extracted kernel package), LVSKIT_VM_MEM
// (MiB, default 1024), LVSKIT_VM_CPUS (default 1), LVSKIT_VM_ICOUNT
// (non-empty: guest time counts instructions, -icount shift=0, so that
// benchmark ratios taken in the guest do not depend on the host's load;
// about 1.5x slower), LVSKIT_VM_CACHE,
// LVSKIT_VM_TOOLS (extra host programs, comma separated). CI and LVSKIT_*
// variables are passed to the guest, which also sets LVSKIT_IN_VM=1.
package vmtest
