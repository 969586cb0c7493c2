package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/haproxy"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// backendName is the seed's backend (Appendix A: "backend rgw").
const backendName = "rgw"

// options is everything the program is told on its command line.
type options struct {
	Dir     string // run directory: haproxy.cfg, stats socket, pid and track files
	HAProxy string // haproxy binary

	// VRRP (the seed's vrrp_instance VI_1).
	Interface string
	VRID      uint8
	Priority  uint8
	Advert    time.Duration
	VIP       netip.Prefix
	Version   uint8

	// Tracking (the seed's vrrp_script chk_haproxy, through the runtime
	// API instead of killall -0).
	TrackInterval time.Duration
	TrackRise     int
	TrackFall     int
	Weight        int
	MinServers    int

	// HAProxy (the seed's frontends and backend).
	HTTPBind   string // frontend http_web bind address ("*:80")
	HTTPSPort  uint16 // frontend rgw-https port on the VIP
	Cert       string // PEM with certificate and key; "" leaves out the HTTPS frontend
	Balance    haproxy.Balance
	HashType   string
	Servers    []backendServer
	CheckInter time.Duration
	CheckRise  int
	CheckFall  int
	LogTarget  string // syslog target of the global log line ("/dev/log")
	NbThread   int

	DrainTimeout time.Duration
	LogLevel     slog.Level
}

// backendServer is one -server / -backup-server flag: name=ip:port[@weight].
type backendServer struct {
	Name   string
	Addr   netip.AddrPort
	Weight int // 0: not written (HAProxy's default 1)
	Backup bool
}

func parseServer(s string, backup bool) (backendServer, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return backendServer{}, fmt.Errorf("server %q: want name=ip:port[@weight]", s)
	}
	addr, w, hasW := strings.Cut(rest, "@")
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return backendServer{}, fmt.Errorf("server %q: %w", s, err)
	}
	b := backendServer{Name: name, Addr: ap, Backup: backup}
	if hasW {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 || n > 256 {
			return backendServer{}, fmt.Errorf("server %q: weight must be 1..256", s)
		}
		b.Weight = n
	}
	return b, nil
}

func (o *options) socket() string    { return filepath.Join(o.Dir, "haproxy.sock") }
func (o *options) cfgPath() string   { return filepath.Join(o.Dir, "haproxy.cfg") }
func (o *options) pidFile() string   { return filepath.Join(o.Dir, "haproxy.pid") }
func (o *options) trackFile() string { return filepath.Join(o.Dir, "track") }
func (o *options) downFile() string  { return filepath.Join(o.Dir, "haproxy.down") }

// validate refuses option combinations that would be silently ignored.
// A -check probe needs only the run directory and -min-servers.
func (o *options) validate(check bool) error {
	var errs []error
	if o.MinServers < 0 {
		errs = append(errs, fmt.Errorf("-min-servers %d: must not be negative", o.MinServers))
	}
	if check {
		return errors.Join(errs...)
	}
	if len(o.Servers) == 0 {
		errs = append(errs, errors.New("-server: at least one backend server is required"))
	}
	if !o.VIP.IsValid() {
		errs = append(errs, errors.New("-vip: required"))
	}
	if o.MinServers > len(o.Servers) {
		errs = append(errs, fmt.Errorf("-min-servers %d: must be 0..%d (the number of servers)", o.MinServers, len(o.Servers)))
	}
	if o.TrackRise < 1 || o.TrackFall < 1 {
		errs = append(errs, errors.New("-track-rise and -track-fall must be at least 1"))
	}
	if o.TrackInterval <= 0 {
		errs = append(errs, errors.New("-track-interval must be positive"))
	}
	if o.Weight < -253 || o.Weight > 253 {
		errs = append(errs, fmt.Errorf("-weight %d: must be -253..253 (keepalived's range)", o.Weight))
	}
	if o.HashType != "" {
		if _, err := parseHashType(o.HashType); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func parseHashType(s string) (haproxy.HashType, error) {
	w := strings.Fields(s)
	var h haproxy.HashType
	if len(w) == 0 || (w[0] != "map-based" && w[0] != "consistent") {
		return h, fmt.Errorf("-hash-type %q: want map-based|consistent [sdbm|djb2|wt6|crc32] [avalanche]", s)
	}
	h.Method = w[0]
	for _, x := range w[1:] {
		switch x {
		case "sdbm", "djb2", "wt6", "crc32":
			if h.Function != "" {
				return h, fmt.Errorf("-hash-type %q: two hash functions", s)
			}
			h.Function = x
		case "avalanche":
			h.Avalanche = true
		default:
			return h, fmt.Errorf("-hash-type %q: %q not supported", s, x)
		}
	}
	return h, nil
}

// haproxyConfig builds the seed's haproxy.cfg through the haproxy
// package's typed model: global (syslog through LogTarget, the stats
// socket the tracker reads), defaults, frontend http_web on HTTPBind,
// frontend rgw-https on the VIP with "ssl crt", and backend rgw with
// "check" on every server.
func haproxyConfig(o *options) (*haproxy.Config, error) {
	c, err := haproxy.Parse("haproxy.cfg", nil)
	if err != nil {
		return nil, err
	}
	g := c.EnsureGlobal()
	if o.LogTarget != "" {
		g.AddLog(haproxy.Log{Address: o.LogTarget, Facility: "local0"})
	}
	g.AddStatsSocket(haproxy.StatsSocket{Address: o.socket(), Options: []string{"mode", "600", "level", "admin"}})
	g.SetPidfile(o.pidFile())
	if o.NbThread > 0 {
		g.Set(1, "nbthread", strconv.Itoa(o.NbThread))
	}

	d := c.AddProxy("defaults", "")
	d.SetMode("http")
	d.AddLog(haproxy.Log{Global: true})
	d.Add("option", "httplog")
	d.SetTimeout("connect", 5*time.Second)
	d.SetTimeout("client", 30*time.Second)
	d.SetTimeout("server", 30*time.Second)

	fe := c.AddProxy("frontend", "http_web")
	fe.AddBind(haproxy.Bind{Address: o.HTTPBind})
	fe.SetMode("http")
	fe.SetDefaultBackend(backendName)

	if o.Cert != "" {
		fs := c.AddProxy("frontend", "rgw-https")
		fs.AddBind(haproxy.Bind{Address: netip.AddrPortFrom(o.VIP.Addr(), o.HTTPSPort).String(), SSL: true, Crt: o.Cert})
		fs.SetDefaultBackend(backendName)
	}

	be := c.AddProxy("backend", backendName)
	be.SetBalance(o.Balance)
	if o.HashType != "" {
		h, err := parseHashType(o.HashType)
		if err != nil {
			return nil, err
		}
		be.SetHashType(h)
	}
	be.SetMode("http")
	for _, s := range o.Servers {
		srv := haproxy.Server{Name: s.Name, Address: s.Addr.String(), Check: haproxy.On,
			Inter: o.CheckInter, Rise: o.CheckRise, Fall: o.CheckFall}
		if s.Backup {
			srv.Backup = haproxy.On
		}
		if s.Weight > 0 {
			srv.Weight = new(s.Weight)
		}
		be.AddServer(srv)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// keepalivedConfig builds the keepalived.conf a user who keeps keepalived
// runs beside the same haproxy.cfg: the seed's vrrp_script (spelled right)
// and vrrp_instance, with the script asking haproxy's runtime API through
// checkCmd instead of `killall -0 haproxy`.
func keepalivedConfig(o *options, checkCmd []string) ([]byte, error) {
	f, err := keepalivedconf.Parse("keepalived.conf", nil)
	if err != nil {
		return nil, err
	}
	block := func(s *keepalivedconf.Stmt) *keepalivedconf.Block {
		s.Block = &keepalivedconf.Block{}
		return s.Block
	}
	gd := block(f.Add(keepalivedconf.NewStmt("global_defs")))
	// keepalived warns about scripts run as root without this.
	gd.Add(keepalivedconf.NewStmt("enable_script_security"))
	gd.Add(keepalivedconf.NewStmt("script_user", "root"))

	sc := block(f.Add(keepalivedconf.NewStmt("vrrp_script", "chk_haproxy")))
	sc.Add(keepalivedconf.NewStmt("script", scriptLine(checkCmd)))
	sc.Add(keepalivedconf.NewStmt("interval", fmtSeconds(o.TrackInterval)))
	sc.Add(keepalivedconf.NewStmt("weight", strconv.Itoa(o.Weight)))
	sc.Add(keepalivedconf.NewStmt("rise", strconv.Itoa(o.TrackRise)))
	sc.Add(keepalivedconf.NewStmt("fall", strconv.Itoa(o.TrackFall)))

	// haproxypair faults at once when haproxy exits; keepalived gets
	// closest with a weight-0 script asking whether the runtime API
	// answers at all (-min-servers 0), at its shortest interval.
	running := slices.Clone(checkCmd)
	if i := slices.Index(running, "-min-servers"); i >= 0 && i+1 < len(running) {
		running = slices.Delete(running, i, i+2)
	}
	running = append(running, "-min-servers", "0")
	sr := block(f.Add(keepalivedconf.NewStmt("vrrp_script", "chk_haproxy_running")))
	sr.Add(keepalivedconf.NewStmt("script", scriptLine(running)))
	sr.Add(keepalivedconf.NewStmt("interval", "1"))
	sr.Add(keepalivedconf.NewStmt("weight", "0"))

	in := block(f.Add(keepalivedconf.NewStmt("vrrp_instance", "VI_1")))
	in.Add(keepalivedconf.NewStmt("interface", o.Interface))
	in.Add(keepalivedconf.NewStmt("state", "BACKUP"))
	in.Add(keepalivedconf.NewStmt("virtual_router_id", strconv.Itoa(int(o.VRID))))
	in.Add(keepalivedconf.NewStmt("priority", strconv.Itoa(int(o.Priority))))
	in.Add(keepalivedconf.NewStmt("advert_int", fmtSeconds(o.Advert)))
	if o.Version != 0 {
		in.Add(keepalivedconf.NewStmt("version", strconv.Itoa(int(o.Version))))
	}
	vips := block(in.Add(keepalivedconf.NewStmt("virtual_ipaddress")))
	vips.Add(keepalivedconf.NewStmt(o.VIP.String()))
	ts := block(in.Add(keepalivedconf.NewStmt("track_script")))
	ts.Add(keepalivedconf.NewStmt("chk_haproxy"))
	ts.Add(keepalivedconf.NewStmt("chk_haproxy_running"))
	// drain.sh (printed with this file) holds new connections off with
	// an nft table while it drains; a master must never keep one.
	in.Add(keepalivedconf.NewStmt("notify_master", synDropCleanup(o)))

	out := f.FormatCanonical()
	// Read it back: what we print must be what keepalivedconf accepts.
	back, err := keepalivedconf.Parse("keepalived.conf", out)
	if err != nil {
		return nil, err
	}
	if _, err := back.Config(); err != nil {
		return nil, err
	}
	return out, nil
}

// scriptLine quotes argv for keepalived's script keyword, which
// keepalivedconf.ScriptArgv splits back.
func scriptLine(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'\\#!") {
			a = "'" + a + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func fmtSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}
