#!/usr/bin/env bash
# `make demo`: the router end to end. Boots the QEMU guest (the host kernel
# has no IPVS) and, inside it, runs two lvsrouter processes (master and
# backup, keepalived.conf syntax) in network namespaces in front of two web
# servers: the client is balanced round robin through the VIP, a failed web
# server leaves IPVS through its TCP_CHECK, and the master's crash hands the
# VIPs to the backup while the client keeps being served.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps.sh
make -s vmexec
CGO_ENABLED=0 go test -tags vm -exec "$PWD/bin/vmexec" -count=1 -v -run '^TestVMDemo$' ./examples/lvsrouter/
