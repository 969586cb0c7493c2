package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/fwmark"
)

// synDrop is the nftables rule that holds new connections to the VIP off
// while a node drains: SYNs to the VIP are dropped, not refused, so the
// clients' kernels retransmit them (after 1 s, then 3 s, 7 s...) and the
// retransmissions reach the peer once it holds the VIP. Its table is named
// for the VRID, so that nodes of different VRRP instances on one host keep
// theirs apart and a restarted node finds the one a crashed run left.
func synDrop(o *options) fwmark.SYNDrop {
	return fwmark.SYNDrop{Dsts: []netip.Addr{o.VIP.Addr()}, Table: "haproxypair_vrid" + strconv.Itoa(int(o.VRID))}
}

// nftPath is where Debian installs nft; keepalived's notify_master runs it
// without a shell, so it needs the full path.
const nftPath = "/usr/sbin/nft"

// synDropCleanup is the command that removes the SYN drop, for keepalived's
// notify_master: a node that becomes master must not hold new connections
// off, even if a drain was killed before it could remove its rule.
func synDropCleanup(o *options) string {
	return nftPath + " delete table inet " + synDrop(o).Table
}

// drainScript is the planned failover for users who keep keepalived: what
// haproxypair does on SIGTERM, as a shell script run on the master instead
// of stopping keepalived. KEEPALIVED_PID names keepalived's pid file
// (keepalived's default /run/keepalived.pid when unset).
func drainScript(o *options) (string, error) {
	rule, err := synDrop(o).NftText()
	if err != nil {
		return "", err
	}
	vip := o.VIP.Addr().String()
	tenths := max(int(o.DrainTimeout/(100*time.Millisecond)), 1)
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/sh
# Planned failover without a failed request, for the keepalived + haproxy
# pair above (haproxypair does the same on SIGTERM). Run it on the master
# instead of stopping keepalived; it stops haproxy and keepalived here.
#  1. New connections to the VIP are held off: their SYNs are dropped, not
#     refused, so the clients retransmit them (after 1 s, 3 s...).
#  2. Handshakes begun before are let finish and be accepted.
#  3. haproxy soft-stops (SIGUSR1): it closes its listeners and its idle
#     keep-alive connections, finishes the requests in flight and exits
#     (killed after %s).
#  4. keepalived stops: it resigns with a priority 0 advert and the peer
#     takes the VIP over after its skew time; the retransmitted SYNs reach
#     the peer.
#  5. The SYN drop goes when this script exits; keepalived's notify_master
#     removes one that a killed run left behind.
set -u
keepalived_pid=${KEEPALIVED_PID:-/run/keepalived.pid}
trap 'nft delete table inet %s 2>/dev/null' EXIT
nft -f - <<'EOF' || exit 1
%sEOF
i=0
while [ "$i" -lt 10 ] && [ -n "$(ss -Htn state syn-recv src %s; ss -Hltn | awk '$2 > 0')" ]; do
	sleep 0.1; i=$((i + 1))
done
pid=$(cat %s) || exit 1
kill -USR1 "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ "$i" -lt %d ]; do
	sleep 0.1; i=$((i + 1))
done
kill -KILL "$pid" 2>/dev/null
pid=$(cat "$keepalived_pid") || exit 1
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
`, o.DrainTimeout, synDrop(o).Table, rule, vip, shellQuote(o.pidFile()), tenths)
	return b.String(), nil
}

// shellQuote quotes s for sh when it holds anything but safe characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
