package haproxy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrNoHeader is returned for stats output without its "# " header line.
var ErrNoHeader = errors.New("haproxy: missing '# ' header line")

// StatType is the kind of a "show stat" row (its "type" column).
type StatType uint8

// Stat row types, with HAProxy's numbers.
const (
	StatFrontend StatType = 0
	StatBackend  StatType = 1
	StatServer   StatType = 2
	StatListener StatType = 3
)

var statTypes = [...]string{StatFrontend: "frontend", StatBackend: "backend", StatServer: "server", StatListener: "listener"}

// String returns the kind's name.
func (t StatType) String() string { return stateName(statTypes[:], int(t), "StatType") }

// StatRow is one row of "show stat". The common columns are typed; every
// column, known or not, is in Fields by its header name, so rows from
// other HAProxy versions (more or fewer columns) parse the same way.
type StatRow struct {
	Proxy string // pxname
	Name  string // svname: FRONTEND, BACKEND or the server name
	Type  StatType
	// Status is HAProxy's text, which carries more than a state: UP,
	// DOWN, "UP 1/3" (going down), "DOWN 1/2" (going up), NOLB, MAINT,
	// "MAINT (via be/s)", DRAIN, "no check", OPEN, FULL...
	Status string
	Weight int
	Active int // act: 1 for an active server (count for a backend)
	Backup int // bck
	Scur   int64
	Smax   int64
	Stot   int64
	Lbtot  int64
	// Addr is the server's address when the addr column holds an IP
	// and port; other forms (unix sockets, none) stay in Fields["addr"].
	Addr netip.AddrPort
	// CheckStatus is the last health check result (L4OK, L7STS...).
	CheckStatus string
	// Fields holds every column by its header name.
	Fields map[string]string
}

// ParseStat parses "show stat" CSV output: a "# " header naming the
// columns, then one line per proxy, server or listener.
func ParseStat(out string) ([]StatRow, error) {
	lines := strings.Split(out, "\n")
	var header []string
	var rows []StatRow
	for n, line := range lines {
		if line == "" {
			continue
		}
		if header == nil {
			h, ok := strings.CutPrefix(line, "# ")
			if !ok {
				return nil, fmt.Errorf("show stat line %d: %w", n+1, ErrNoHeader)
			}
			header = strings.Split(strings.TrimSuffix(h, ","), ",")
			continue
		}
		cols := strings.Split(strings.TrimSuffix(line, ","), ",")
		if len(cols) != len(header) {
			return nil, fmt.Errorf("show stat line %d: %d columns, header has %d", n+1, len(cols), len(header))
		}
		row := StatRow{Fields: make(map[string]string, len(cols))}
		for i, name := range header {
			row.Fields[name] = cols[i]
		}
		f := row.Fields
		row.Proxy, row.Name, row.Status, row.CheckStatus = f["pxname"], f["svname"], f["status"], f["check_status"]
		row.Addr, _ = netip.ParseAddrPort(f["addr"])
		var err error
		num := func(name string) int64 {
			v := f[name]
			if v == "" || err != nil {
				return 0
			}
			x, e := strconv.ParseInt(v, 10, 64)
			if e != nil {
				err = fmt.Errorf("show stat line %d: column %s: %q is not a number", n+1, name, v)
			}
			return x
		}
		row.Type = StatType(num("type"))
		row.Weight = int(num("weight"))
		row.Active = int(num("act"))
		row.Backup = int(num("bck"))
		row.Scur, row.Smax, row.Stot, row.Lbtot = num("scur"), num("smax"), num("stot"), num("lbtot")
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	if header == nil {
		return nil, fmt.Errorf("show stat: %w", ErrNoHeader)
	}
	return rows, nil
}

// FindStat returns the row of proxy/name, or nil.
func FindStat(rows []StatRow, proxy, name string) *StatRow {
	for i := range rows {
		if rows[i].Proxy == proxy && rows[i].Name == name {
			return &rows[i]
		}
	}
	return nil
}

// ServerState is one row of "show servers state".
type ServerState struct {
	BackendID int
	Backend   string
	ServerID  int
	Server    string
	// Addr is the server's address and port (srv_addr, srv_port); the
	// address is the zero Addr when HAProxy shows none.
	Addr       netip.AddrPort
	OpState    OpState
	AdminState AdminFlags
	UserWeight int
	InitWeight int
	// Fields holds every column by its header name.
	Fields map[string]string
}

// ParseServersState parses "show servers state" output: a format
// version line, a "# " header, then one line per server.
func ParseServersState(out string) ([]ServerState, error) {
	var header []string
	var rows []ServerState
	for n, line := range strings.Split(out, "\n") {
		if line == "" || (n == 0 && !strings.HasPrefix(line, "#")) {
			continue
		}
		if h, ok := strings.CutPrefix(line, "# "); ok {
			header = strings.Fields(h)
			continue
		}
		if header == nil {
			return nil, fmt.Errorf("show servers state line %d: %w", n+1, ErrNoHeader)
		}
		cols := strings.Fields(line)
		if len(cols) != len(header) {
			return nil, fmt.Errorf("show servers state line %d: %d columns, header has %d", n+1, len(cols), len(header))
		}
		st := ServerState{Fields: make(map[string]string, len(cols))}
		for i, name := range header {
			st.Fields[name] = cols[i]
		}
		f := st.Fields
		var err error
		num := func(name string) int {
			v := f[name]
			if v == "" || v == "-" || err != nil {
				return 0
			}
			x, e := strconv.Atoi(v)
			if e != nil {
				err = fmt.Errorf("show servers state line %d: column %s: %q is not a number", n+1, name, v)
			}
			return x
		}
		st.Backend, st.Server = f["be_name"], f["srv_name"]
		st.BackendID, st.ServerID = num("be_id"), num("srv_id")
		port := num("srv_port")
		st.OpState, st.AdminState = OpState(num("srv_op_state")), AdminFlags(num("srv_admin_state"))
		st.UserWeight, st.InitWeight = num("srv_uweight"), num("srv_iweight")
		if err != nil {
			return nil, err
		}
		if port < 0 || port > 65535 {
			return nil, fmt.Errorf("show servers state line %d: srv_port %d out of range", n+1, port)
		}
		var ip netip.Addr
		if a := f["srv_addr"]; a != "" && a != "-" {
			if ip, err = netip.ParseAddr(a); err != nil {
				return nil, fmt.Errorf("show servers state line %d: srv_addr: %w", n+1, err)
			}
		}
		st.Addr = netip.AddrPortFrom(ip, uint16(port))
		rows = append(rows, st)
	}
	return rows, nil
}
