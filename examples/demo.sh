#!/usr/bin/env bash
# `make demo`: runs the lvsrouter end to end. Until examples/lvsrouter
# lands, it boots the IPVS guest and shows the kernel side working.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps.sh
if [ -f examples/lvsrouter/demo.sh ]; then
  exec bash examples/lvsrouter/demo.sh
fi
make -s vmexec
echo "demo: booting the QEMU guest with the kernel's IPVS (lvsrouter not yet built)"
CGO_ENABLED=0 go test -tags vm -exec "$PWD/bin/vmexec" -count=1 -v -run '^TestVM(IPVSVersion|Tools)$' ./internal/vmtest/
