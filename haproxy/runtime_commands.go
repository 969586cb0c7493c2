package haproxy

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// check runs a command whose success prints nothing or one of okMsgs.
func (r *Runtime) check(ctx context.Context, okMsgs []string, words ...string) error {
	out, err := r.Execute(ctx, words...)
	if err != nil {
		return err
	}
	if out == "" {
		return nil
	}
	for _, m := range okMsgs {
		if strings.Contains(out, m) {
			return nil
		}
	}
	return &RuntimeError{Command: Command(words...), Severity: -1, Msg: out}
}

func srvRef(backend, server string) string { return backend + "/" + server }

// SetServerState sets a server to ready, drain or maint.
func (r *Runtime) SetServerState(ctx context.Context, backend, server string, st AdminState) error {
	return r.check(ctx, nil, "set", "server", srvRef(backend, server), "state", st.String())
}

// SetServerWeight sets a server's weight (0..256); a weight out of range
// is refused with ErrBadWeight without being sent. For a weight relative
// to the initial one, send ParseWeight's result with Execute.
func (r *Runtime) SetServerWeight(ctx context.Context, backend, server string, weight int) error {
	if weight < 0 || weight > MaxWeight {
		return fmt.Errorf("%w: %d is not between 0 and %d", ErrBadWeight, weight, MaxWeight)
	}
	return r.check(ctx, nil, "set", "server", srvRef(backend, server), "weight", strconv.Itoa(weight))
}

// SetServerAddr changes a server's address, and its port unless the
// port is 0.
func (r *Runtime) SetServerAddr(ctx context.Context, backend, server string, addr netip.AddrPort) error {
	w := []string{"set", "server", srvRef(backend, server), "addr", addr.Addr().String()}
	if addr.Port() != 0 {
		w = append(w, "port", strconv.Itoa(int(addr.Port())))
	}
	return r.check(ctx, []string{"changed from", "no need to change"}, w...)
}

// SetServerHealth forces a checked server's health.
func (r *Runtime) SetServerHealth(ctx context.Context, backend, server string, health HealthState) error {
	return r.check(ctx, nil, "set", "server", srvRef(backend, server), "health", health.String())
}

// SetServerAgent forces a server's agent state.
func (r *Runtime) SetServerAgent(ctx context.Context, backend, server string, state AgentState) error {
	return r.check(ctx, nil, "set", "server", srvRef(backend, server), "agent", state.String())
}

// EnableServer takes a server out of maintenance.
func (r *Runtime) EnableServer(ctx context.Context, backend, server string) error {
	return r.check(ctx, nil, "enable", "server", srvRef(backend, server))
}

// DisableServer puts a server into maintenance.
func (r *Runtime) DisableServer(ctx context.Context, backend, server string) error {
	return r.check(ctx, nil, "disable", "server", srvRef(backend, server))
}

// SetServerMaxconn sets a server's maxconn.
func (r *Runtime) SetServerMaxconn(ctx context.Context, backend, server string, maxconn int) error {
	return r.check(ctx, nil, "set", "maxconn", "server", srvRef(backend, server), strconv.Itoa(maxconn))
}

// AddServer adds a dynamic server (it starts in maintenance; see
// EnableServer) with the given address and server-line options.
func (r *Runtime) AddServer(ctx context.Context, backend, server, addr string, opts ...string) error {
	return r.expect(ctx, "New server registered", append([]string{"add", "server", srvRef(backend, server), addr}, opts...)...)
}

// DelServer deletes a dynamic server that is in maintenance and idle.
func (r *Runtime) DelServer(ctx context.Context, backend, server string) error {
	return r.expect(ctx, "Server deleted", "del", "server", srvRef(backend, server))
}

// expect runs a command whose success message contains msg.
func (r *Runtime) expect(ctx context.Context, msg string, words ...string) error {
	out, err := r.Execute(ctx, words...)
	if err != nil {
		return err
	}
	if !strings.Contains(out, msg) {
		return &RuntimeError{Command: Command(words...), Severity: -1, Msg: out}
	}
	return nil
}

// GetWeight returns a server's current and initial weights.
func (r *Runtime) GetWeight(ctx context.Context, backend, server string) (cur, initial int, err error) {
	w := []string{"get", "weight", srvRef(backend, server)}
	out, err := r.Execute(ctx, w...)
	if err != nil {
		return 0, 0, err
	}
	if _, err := fmt.Sscanf(out, "%d (initial %d)", &cur, &initial); err != nil {
		return 0, 0, &RuntimeError{Command: Command(w...), Severity: -1, Msg: out}
	}
	return cur, initial, nil
}

// Info is the answer to "show info": field name to value.
type Info map[string]string

// Int returns a numeric field, or 0.
func (i Info) Int(name string) int64 {
	n, _ := strconv.ParseInt(i[name], 10, 64)
	return n
}

// ShowInfo runs "show info".
func (r *Runtime) ShowInfo(ctx context.Context) (Info, error) {
	out, err := r.Execute(ctx, "show", "info")
	if err != nil {
		return nil, err
	}
	info := Info{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			info[k] = strings.TrimSpace(v)
		}
	}
	if info["Name"] == "" {
		return nil, &RuntimeError{Command: "show info", Severity: -1, Msg: out}
	}
	return info, nil
}

// ShowStat runs "show stat" and parses its CSV by its header line.
func (r *Runtime) ShowStat(ctx context.Context) ([]StatRow, error) {
	out, err := r.Execute(ctx, "show", "stat")
	if err != nil {
		return nil, err
	}
	return ParseStat(out)
}

// ShowServersState runs "show servers state [backend]".
func (r *Runtime) ShowServersState(ctx context.Context, backend string) ([]ServerState, error) {
	w := []string{"show", "servers", "state"}
	if backend != "" {
		w = append(w, backend)
	}
	out, err := r.Execute(ctx, w...)
	if err != nil {
		return nil, err
	}
	return ParseServersState(out)
}
