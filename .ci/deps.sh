#!/usr/bin/env bash
# Installs what the test tiers need, only what is missing, quietly.
# Idempotent: a second run installs nothing and prints nothing.
set -euo pipefail

# command -> Debian package
declare -A want=(
  [keepalived]=keepalived [haproxy]=haproxy [ipvsadm]=ipvsadm [nft]=nftables
  [tshark]=tshark [qemu-system-x86_64]=qemu-system-x86 [busybox]=busybox-static
  [iptables]=iptables [arptables]=arptables [ip]=iproute2 [ss]=iproute2 [ldd]=libc-bin
  [unshare]=util-linux [sysctl]=procps [genhash]=keepalived [vtysh]=frr [killall]=psmisc
  [systemd-analyze]=systemd
)
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
done
# A kernel with IPVS modules for the VM tier (the host kernel has none).
if ! compgen -G "/lib/modules/*/kernel/net/netfilter/ipvs/ip_vs.ko" >/dev/null ||
   ! compgen -G "/boot/vmlinuz-*" >/dev/null; then
  missing+=(linux-image-amd64)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages ${missing[*]}; run as root (or install them) first" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null
