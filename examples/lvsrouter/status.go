package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// statusJSON is what --status-socket answers: {"vrrp": <keepalived.json's
// list>, "real_servers": [{"service", "real", "up", "transitions"}],
// "services": [{"service", "quorum"}]}, and with --bgp "bgp": [{"prefix",
// "announced"}].
func (o *opsState) statusJSON() []byte {
	var b bytes.Buffer
	b.WriteString(`{"vrrp":`)
	b.Write(o.jsonDump())
	o.mu.Lock()
	defer o.mu.Unlock()
	type rs struct {
		vs, rs string
		st     realStatus
	}
	var reals []rs
	for k, st := range o.reals.all() {
		reals = append(reals, rs{vsString(k.Service), trio(k.Dest, k.Service.Protocol), st})
	}
	slices.SortFunc(reals, func(a, b rs) int { return strings.Compare(a.vs+" "+a.rs, b.vs+" "+b.rs) })
	b.WriteString(`,"real_servers":[`)
	for i, r := range reals {
		if i > 0 {
			b.WriteByte(',')
		}
		j := newObject(&b)
		j.str("service", r.vs)
		j.str("real", r.rs)
		j.bool("up", r.st.up)
		j.uint("transitions", uint64(r.st.transitions))
		j.end()
	}
	var svcs []string
	for k, up := range o.reals.services() {
		svcs = append(svcs, vsString(k)+"\x00"+strconv.FormatBool(up))
	}
	slices.Sort(svcs)
	b.WriteString(`],"services":[`)
	for i, s := range svcs {
		if i > 0 {
			b.WriteByte(',')
		}
		name, up, _ := strings.Cut(s, "\x00")
		j := newObject(&b)
		j.str("service", name)
		j.bool("quorum", up == "true")
		j.end()
	}
	b.WriteByte(']')
	o.bgpStatus(&b)
	b.WriteString("}\n")
	return b.Bytes()
}

// serveStatus answers every connection on a unix socket (mode 0600) with
// the live state as JSON, then closes it; it stops when ctx ends.
func serveStatus(ctx context.Context, path string, o *opsState, log *slog.Logger) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path) // a stale socket from an earlier run
	}
	old := umask(0o177)
	l, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("status socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("status socket: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					log.Warn("status socket", "err", err)
				}
				return
			}
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write(o.statusJSON())
			c.Close()
		}
	}()
	stopCtx := context.AfterFunc(ctx, func() { l.Close() })
	return func() {
		stopCtx()
		l.Close()
		<-done
		os.Remove(path)
	}, nil
}
