package main

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// connFile is the kernel's connection table.
const connFile = "/proc/net/ip_vs_conn"

// listConnections prints the connection table as `ipvsadm -L -n -c` does.
func listConnections(out io.Writer, persistent bool) error {
	f, err := os.Open(connFile)
	if err != nil {
		return fmt.Errorf("cannot open file %s", connFile)
	}
	defer f.Close()
	return writeConnections(out, f, persistent)
}

// writeConnections renders the table read from r.
func writeConnections(out io.Writer, r io.Reader, persistent bool) error {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		return fmt.Errorf("unexpected input from %s", connFile)
	}
	w := bufio.NewWriter(out)
	w.WriteString("IPVS connection entries\n")
	if persistent {
		fmt.Fprintf(w, "pro expire %-11s %-18s %-18s %-18s %-16s %s\n", "state", "source", "virtual", "destination", "pe name", "pe_data")
	} else {
		fmt.Fprintf(w, "pro expire %-11s %-18s %-18s %s\n", "state", "source", "virtual", "destination")
	}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 9 {
			continue
		}
		name := func(a, p string) string {
			port, _ := strconv.ParseUint(p, 16, 16)
			addr, err := netip.ParseAddr(a)
			if err != nil {
				v, _ := strconv.ParseUint(a, 16, 32)
				addr = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
			}
			if addr.Is4() {
				return fmt.Sprintf("%s:%d", addr, port)
			}
			return fmt.Sprintf("[%s]:%d", addr, port)
		}
		exp, _ := strconv.Atoi(f[8])
		expire := fmt.Sprintf("%02d:%02d", exp/60, exp%60)
		c, v, d := name(f[1], f[2]), name(f[3], f[4]), name(f[5], f[6])
		if persistent && len(f) >= 11 {
			fmt.Fprintf(w, "%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s\n", f[0], expire, f[7], c, v, d, f[9], f[10])
		} else {
			fmt.Fprintf(w, "%-3s %-6s %-11s %-18s %-18s %s\n", f[0], expire, f[7], c, v, d)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return w.Flush()
}
