package keepalivedconf

import (
	"encoding/json"
	"net/netip"
	"time"
)

// Config is the typed view of a configuration. Every element keeps the
// statement it was read from (field Stmt), so that edits through the typed
// view change only the lines concerned.
type Config struct {
	GlobalDefs          *GlobalDefs           `json:",omitempty"`
	Scripts             []*VRRPScript         `json:",omitempty"`
	TrackFiles          []*TrackFile          `json:",omitempty"`
	TrackProcesses      []*TrackProcess       `json:",omitempty"` // track_process.go
	SyncGroups          []*SyncGroup          `json:",omitempty"`
	Instances           []*VRRPInstance       `json:",omitempty"`
	VirtualServerGroups []*VirtualServerGroup `json:",omitempty"`
	VirtualServers      []*VirtualServer      `json:",omitempty"`
	// StaticAddresses, StaticRoutes and StaticRules are the top-level
	// static_ipaddress, static_routes and static_rules blocks.
	StaticAddresses []VIP   `json:",omitempty"`
	StaticRoutes    []Route `json:",omitempty"`
	StaticRules     []Rule  `json:",omitempty"`
	// Unknown lists the top-level statements keepalived does not know.
	Unknown []*Stmt `json:"-"`
	// Warnings are what keepalived reports while reading but carries on
	// with: unknown keywords (skipped), values it clears or rounds.
	// `keepalived -t` exits non-zero on them; keepalived runs.
	Warnings ErrorList `json:"-"`

	file      *File
	src       *File     // the statements decoded: file's expansion
	lints     ErrorList // lint findings of reading and decoding
	maxErrors int
}

// GlobalDefs is the global_defs block.
type GlobalDefs struct {
	NotificationEmail     []string      `json:",omitempty"`
	NotificationEmailFrom string        `json:",omitempty"`
	SMTPServer            string        `json:",omitempty"` // address or host name
	SMTPPort              uint16        `json:",omitempty"`
	SMTPConnectTimeout    time.Duration `json:",omitempty"`
	RouterID              string        `json:",omitempty"`
	VRRPMcastGroup4       netip.Addr    `json:",omitzero"`
	VRRPMcastGroup6       netip.Addr    `json:",omitzero"`
	VRRPVersion           int           `json:",omitempty"`
	VRRPStrict            bool          `json:",omitempty"`
	EnableScriptSecurity  bool          `json:",omitempty"`
	ScriptUser            string        `json:",omitempty"`
	ScriptGroup           string        `json:",omitempty"` // script_user's optional group
	LVSID                 string        `json:",omitempty"`
	// LVS are lvs_sync_daemon, lvs_timeouts, lvs_flush, lvs_flush_onstop.
	LVS LVSGlobals `json:",omitzero"`
	// VRRPSkipCheckAdvAddr is vrrp_skip_check_adv_addr, the default of
	// every instance's skip_check_adv_addr.
	VRRPSkipCheckAdvAddr bool `json:",omitempty"`
	// VMACPrefix is vmac_prefix, the prefix of vmac interface names
	// ("vrrp" when empty).
	VMACPrefix string         `json:",omitempty"`
	Stmt       *Stmt          `json:"-"`
	Other      map[string]any `json:",omitempty"`
}

// VRRPScript is a vrrp_script block.
type VRRPScript struct {
	Name     string
	Script   string        `json:",omitempty"`
	Interval time.Duration `json:",omitempty"`
	Timeout  time.Duration `json:",omitempty"`
	Weight   int           `json:",omitempty"`
	Rise     int           `json:",omitempty"`
	Fall     int           `json:",omitempty"`
	User     string        `json:",omitempty"`
	InitFail bool          `json:",omitempty"`
	Stmt     *Stmt         `json:"-"`
}

// TrackFile is a vrrp_track_file (or track_file) block.
type TrackFile struct {
	Name     string
	File     string `json:",omitempty"`
	Weight   int    `json:",omitempty"`
	InitFile bool   `json:",omitempty"`
	Stmt     *Stmt  `json:"-"`
}

// SyncGroup is a vrrp_sync_group block.
type SyncGroup struct {
	Name         string
	Group        []string `json:",omitempty"`
	Notify       string   `json:",omitempty"`
	NotifyMaster string   `json:",omitempty"`
	NotifyBackup string   `json:",omitempty"`
	NotifyFault  string   `json:",omitempty"`
	SMTPAlert    bool     `json:",omitempty"`
	Stmt         *Stmt    `json:"-"`
}

// Track is one entry of a track_interface, track_script or track_file
// block: a name with an optional weight.
type Track struct {
	Name   string
	Weight int `json:",omitempty"`
	// Reverse is "weight N reverse": the weight applies the other way
	// round (keepalived 2.2.7 track_interface, track_script, track_file).
	Reverse bool  `json:",omitempty"`
	Stmt    *Stmt `json:"-"`
}

// VIP is one entry of virtual_ipaddress or virtual_ipaddress_excluded.
type VIP struct {
	Prefix netip.Prefix
	// Brd, Dev, Scope and Label are the optional words after the address.
	Brd   netip.Addr `json:",omitzero"`
	Dev   string     `json:",omitempty"`
	Scope Scope      `json:",omitempty"`
	Label string     `json:",omitempty"`
	// NoTrack is no_track: keepalived leaves the address alone when
	// someone deletes it (else a master leaves MASTER, and a static
	// address is restored).
	NoTrack bool `json:",omitempty"`
	// Other holds the words this package does not interpret (home,
	// -nodad, preferred_lft VAL, peer ADDR...), in order, so that a
	// user can refuse them.
	Other []string `json:",omitempty"`
	Stmt  *Stmt    `json:"-"`
}

// VRRPInstance is a vrrp_instance block.
type VRRPInstance struct {
	Name            string
	State           State         `json:",omitempty"`
	Interface       string        `json:",omitempty"`
	VirtualRouterID int           `json:",omitempty"`
	Priority        int           `json:",omitempty"`
	AdvertInt       time.Duration `json:",omitempty"`
	Version         int           `json:",omitempty"`
	Nopreempt       bool          `json:",omitempty"`
	PreemptDelay    time.Duration `json:",omitempty"`
	UseVMAC         bool          `json:",omitempty"`
	UnicastSrcIP    netip.Addr    `json:",omitzero"`
	UnicastPeers    []netip.Addr  `json:",omitempty"`
	AuthType        AuthType      `json:",omitempty"`
	AuthPass        string        `json:",omitempty"`
	VIPs            []VIP         `json:",omitempty"`
	ExcludedVIPs    []VIP         `json:",omitempty"`
	TrackInterfaces []Track       `json:",omitempty"`
	TrackScripts    []Track       `json:",omitempty"`
	TrackFiles      []Track       `json:",omitempty"`
	Notify          string        `json:",omitempty"`
	NotifyMaster    string        `json:",omitempty"`
	NotifyBackup    string        `json:",omitempty"`
	NotifyFault     string        `json:",omitempty"`
	NotifyStop      string        `json:",omitempty"`
	SMTPAlert       bool          `json:",omitempty"`
	GarpMasterDelay time.Duration `json:",omitempty"`
	// VMACName and VMACAddr are use_vmac's optional interface name and
	// MAC address (as written); VMACXmitBase is vmac_xmit_base.
	VMACName     string `json:",omitempty"`
	VMACAddr     string `json:",omitempty"`
	VMACXmitBase bool   `json:",omitempty"`
	// McastSrcIP is mcast_src_ip; McastDstIP is mcast_dst_ip (a
	// multicast group, link-local for IPv6).
	McastSrcIP netip.Addr `json:",omitzero"`
	McastDstIP netip.Addr `json:",omitzero"`
	// SkipCheckAdvAddr is skip_check_adv_addr (or the global
	// vrrp_skip_check_adv_addr).
	SkipCheckAdvAddr bool `json:",omitempty"`
	// VirtualRoutes and VirtualRules are virtual_routes and virtual_rules.
	VirtualRoutes []Route `json:",omitempty"`
	VirtualRules  []Rule  `json:",omitempty"`
	Stmt          *Stmt   `json:"-"`
}

// VSGMember is one entry of a virtual_server_group: an address (or the
// first address of a range) with a port, or a firewall mark.
type VSGMember struct {
	Addr netip.Addr `json:",omitzero"`
	// RangeEnd is the last address of an "a.b.c.d-e" range, else zero.
	RangeEnd netip.Addr `json:",omitzero"`
	Port     uint16     `json:",omitempty"`
	FWMark   uint32     `json:",omitempty"`
	Stmt     *Stmt      `json:"-"`
}

// VirtualServerGroup is a virtual_server_group block.
type VirtualServerGroup struct {
	Name    string
	Members []VSGMember `json:",omitempty"`
	Stmt    *Stmt       `json:"-"`
}

// VirtualServer is a virtual_server block, in one of its three forms:
// address and port, fwmark, or group.
type VirtualServer struct {
	Addr               netip.AddrPort `json:",omitzero"`
	FWMark             uint32         `json:",omitempty"`
	Group              string         `json:",omitempty"`
	DelayLoop          time.Duration  `json:",omitempty"`
	LBAlgo             string         `json:",omitempty"`
	LBKind             LBKind         `json:",omitempty"`
	Protocol           Protocol       `json:",omitempty"`
	PersistenceTimeout time.Duration  `json:",omitempty"`
	// PersistenceGranularity is the prefix length of
	// persistence_granularity (an IPv4 netmask's length, or an IPv6
	// prefix length); 0 when unset.
	PersistenceGranularity int            `json:",omitempty"`
	VirtualHost            string         `json:",omitempty"`
	SorryServer            netip.AddrPort `json:",omitzero"`
	Quorum                 int            `json:",omitempty"`
	Hysteresis             int            `json:",omitempty"`
	QuorumUp               string         `json:",omitempty"`
	QuorumDown             string         `json:",omitempty"`
	Alpha                  bool           `json:",omitempty"`
	Omega                  bool           `json:",omitempty"`
	Inhibit                bool           `json:",omitempty"`
	// Weight is the weight of its real servers that set none (weight;
	// 0 when unset, keepalived's 1).
	Weight int `json:",omitempty"`
	// IPv6 is set by ip_family inet6 (and cleared by inet); IPFamilySet
	// tells that ip_family was written. It gives a fwmark service its
	// family; an address must match it.
	IPv6        bool `json:",omitempty"`
	IPFamilySet bool `json:",omitempty"`
	// CheckDefaults are the checker settings written at this level, for
	// the checkers of its real servers (DelayLoop and Alpha above are
	// this level's delay_loop and alpha).
	CheckDefaults CheckDefaults `json:",omitzero"`
	RealServers   []*RealServer `json:",omitempty"`
	// LVS are the IPVS flags, persistence engine and real-server
	// defaults (lvs.go).
	LVS  VSOptions `json:",omitzero"`
	Stmt *Stmt     `json:"-"`
}

// RealServer is a real_server block.
type RealServer struct {
	Addr             netip.AddrPort
	Weight           int    `json:",omitempty"`
	InhibitOnFailure bool   `json:",omitempty"`
	NotifyUp         string `json:",omitempty"`
	NotifyDown       string `json:",omitempty"`
	// VirtualHost is the Host of its HTTP_GET and SSL_GET checkers that
	// name none (virtualhost), before the virtual server's.
	VirtualHost string `json:",omitempty"`
	// CheckDefaults are the checker settings written at this level, for
	// its checkers.
	CheckDefaults CheckDefaults `json:",omitzero"`
	Checkers      []Checker     `json:",omitempty"`
	// LVS are lvs_method, thresholds and virtualhost (lvs.go).
	LVS  RSOptions `json:",omitzero"`
	Stmt *Stmt     `json:"-"`
}

// Checker is one health checker block of a real_server: *TCPCheck,
// *HTTPCheck (HTTP_GET and SSL_GET), *SMTPCheck, *DNSCheck, *MiscCheck,
// *UDPCheck, *PingCheck, *FileCheck or *BFDCheck.
type Checker interface {
	// Type returns the checker keyword, e.g. "TCP_CHECK".
	Type() string
	// Syntax returns the checker's statement.
	Syntax() *Stmt
}

// CheckDefaults are checker settings written in a virtual_server or
// real_server block: keepalived gives them to the checkers below that do
// not set their own (check_data.c), a real server's before its virtual
// server's. Zero values are unset.
type CheckDefaults struct {
	ConnectTimeout   time.Duration `json:",omitempty"`
	Retry            int           `json:",omitempty"`
	DelayBeforeRetry time.Duration `json:",omitempty"`
	Warmup           time.Duration `json:",omitempty"`
	DelayLoop        time.Duration `json:",omitempty"` // real_server only; VirtualServer.DelayLoop
	Alpha            bool          `json:",omitempty"` // real_server only; VirtualServer.Alpha
}

// CheckCommon holds the settings all connecting checkers share.
type CheckCommon struct {
	ConnectIP        netip.Addr    `json:",omitzero"`
	ConnectPort      uint16        `json:",omitempty"`
	BindTo           netip.Addr    `json:",omitzero"`
	BindPort         uint16        `json:",omitempty"`
	ConnectTimeout   time.Duration `json:",omitempty"`
	Retry            int           `json:",omitempty"`
	DelayBeforeRetry time.Duration `json:",omitempty"`
	Warmup           time.Duration `json:",omitempty"`
	DelayLoop        time.Duration `json:",omitempty"`
	FWMark           uint32        `json:",omitempty"`
	Alpha            bool          `json:",omitempty"`
	Stmt             *Stmt         `json:"-"`
}

// Syntax returns the checker's statement.
func (c *CheckCommon) Syntax() *Stmt { return c.Stmt }

// TCPCheck is a TCP_CHECK block.
type TCPCheck struct{ CheckCommon }

// Type returns "TCP_CHECK".
func (*TCPCheck) Type() string { return "TCP_CHECK" }

// URL is one url block of HTTP_GET / SSL_GET.
type URL struct {
	Path        string
	Digest      string `json:",omitempty"`
	StatusCode  string `json:",omitempty"`
	Virtualhost string `json:",omitempty"`
	// Regex is the url's regex with its settings, nil without one.
	Regex *URLRegex `json:",omitempty"`
	Stmt  *Stmt     `json:"-"`
}

// HTTPCheck is an HTTP_GET or (TLS true) SSL_GET block.
type HTTPCheck struct {
	CheckCommon
	TLS         bool   `json:",omitempty"`
	URLs        []URL  `json:",omitempty"`
	Virtualhost string `json:",omitempty"`
}

// Type returns "HTTP_GET" or "SSL_GET".
func (c *HTTPCheck) Type() string {
	if c.TLS {
		return "SSL_GET"
	}
	return "HTTP_GET"
}

// SMTPCheck is an SMTP_CHECK block.
type SMTPCheck struct {
	CheckCommon
	Helo string `json:",omitempty"`
	// Hosts are the host blocks, each checked as a checker of its own.
	Hosts []SMTPHost `json:",omitempty"`
}

// Type returns "SMTP_CHECK".
func (*SMTPCheck) Type() string { return "SMTP_CHECK" }

// DNSCheck is a DNS_CHECK block.
type DNSCheck struct {
	CheckCommon
	QueryType DNSType `json:",omitempty"`
	Name      string  `json:",omitempty"`
}

// Type returns "DNS_CHECK".
func (*DNSCheck) Type() string { return "DNS_CHECK" }

// UDPCheck is a UDP_CHECK block.
type UDPCheck struct {
	CheckCommon
	Payload      string `json:",omitempty"`
	RequireReply string `json:",omitempty"`
	// MinReply and MaxReply bound a reply's length (min_reply_length,
	// max_reply_length); MaxReplySet tells max_reply_length 0 from unset.
	MinReply    int  `json:",omitempty"`
	MaxReply    int  `json:",omitempty"`
	MaxReplySet bool `json:",omitempty"`
}

// Type returns "UDP_CHECK".
func (*UDPCheck) Type() string { return "UDP_CHECK" }

// PingCheck is a PING_CHECK block.
type PingCheck struct{ CheckCommon }

// Type returns "PING_CHECK".
func (*PingCheck) Type() string { return "PING_CHECK" }

// MiscCheck is a MISC_CHECK block.
type MiscCheck struct {
	Path        string        `json:",omitempty"`
	Timeout     time.Duration `json:",omitempty"`
	Dynamic     bool          `json:",omitempty"`
	User        string        `json:",omitempty"`
	Warmup      time.Duration `json:",omitempty"`
	Retry       int           `json:",omitempty"`
	DelayLoop   time.Duration `json:",omitempty"`
	DelayBefore time.Duration `json:",omitempty"`
	Alpha       bool          `json:",omitempty"`
	Stmt        *Stmt         `json:"-"`
}

// Type returns "MISC_CHECK".
func (*MiscCheck) Type() string { return "MISC_CHECK" }

// Syntax returns the checker's statement.
func (c *MiscCheck) Syntax() *Stmt { return c.Stmt }

// FileCheck is a FILE_CHECK block.
type FileCheck struct {
	TrackFile string `json:",omitempty"`
	Weight    int    `json:",omitempty"`
	Reverse   bool   `json:",omitempty"`
	Stmt      *Stmt  `json:"-"`
}

// Type returns "FILE_CHECK".
func (*FileCheck) Type() string { return "FILE_CHECK" }

// Syntax returns the checker's statement.
func (c *FileCheck) Syntax() *Stmt { return c.Stmt }

// BFDCheck is a BFD_CHECK block.
type BFDCheck struct {
	Name string `json:",omitempty"`
	Stmt *Stmt  `json:"-"`
}

// Type returns "BFD_CHECK".
func (*BFDCheck) Type() string { return "BFD_CHECK" }

// Syntax returns the checker's statement.
func (c *BFDCheck) Syntax() *Stmt { return c.Stmt }

// MarshalJSON writes the real server with each checker tagged by its type.
func (rs *RealServer) MarshalJSON() ([]byte, error) {
	type plain RealServer
	type tagged struct {
		Type  string
		Check Checker
	}
	out := struct {
		*plain
		Checkers []tagged `json:",omitempty"`
	}{plain: (*plain)(rs)}
	for _, c := range rs.Checkers {
		out.Checkers = append(out.Checkers, tagged{c.Type(), c})
	}
	return json.Marshal(out)
}
