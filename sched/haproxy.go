package sched

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Balance is an HAProxy backend's "balance" and "hash-type" settings.
type Balance struct {
	// Algorithm is roundrobin, static-rr, leastconn, first, source, uri,
	// url_param, hdr, rdp-cookie or random.
	Algorithm string
	// Param is the url_param, hdr or rdp-cookie name.
	Param string
	// URIWhole, URILen, URIDepth and URIPathOnly are the uri options
	// "whole", "len N", "depth N" and "path-only".
	URIWhole    bool
	URILen      int
	URIDepth    int
	URIPathOnly bool
	// UseDomainOnly is hdr's "use_domain_only".
	UseDomainOnly bool
	// Draws is random's draw count (default 2).
	Draws int
	// Consistent selects "hash-type consistent" instead of map-based.
	Consistent bool
	// HashFunc is sdbm (default), djb2, wt6 or crc32.
	HashFunc string
	// Avalanche applies FullHash to the hash ("hash-type ... avalanche").
	Avalanche bool
}

// ParseBalance parses the arguments of HAProxy's "balance" and
// "hash-type" keywords, e.g. ParseBalance("uri whole depth 2",
// "consistent djb2 avalanche"). hashType may be empty.
func ParseBalance(balance, hashType string) (Balance, error) {
	f := strings.Fields(balance)
	if len(f) == 0 {
		return Balance{}, fmt.Errorf("sched: balance: missing algorithm: %w", ErrRange)
	}
	b := Balance{Algorithm: f[0], Draws: 2, HashFunc: "sdbm"}
	arg := func(i int) (int, error) {
		if i >= len(f) {
			return 0, fmt.Errorf("sched: balance %s: %q needs a number: %w", b.Algorithm, f[i-1], ErrRange)
		}
		n, err := strconv.Atoi(f[i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("sched: balance %s: %q: %w", b.Algorithm, f[i], ErrRange)
		}
		return n, nil
	}
	var err error
	switch b.Algorithm {
	case "roundrobin", "static-rr", "leastconn", "first", "source":
		if len(f) > 1 {
			return Balance{}, fmt.Errorf("sched: balance %s takes no argument: %w", b.Algorithm, ErrRange)
		}
	case "uri":
		for i := 1; i < len(f); i++ {
			switch f[i] {
			case "whole":
				b.URIWhole = true
			case "path-only":
				b.URIPathOnly = true
			case "len":
				i++
				b.URILen, err = arg(i)
			case "depth":
				i++
				b.URIDepth, err = arg(i)
			default:
				err = fmt.Errorf("sched: balance uri: unknown option %q: %w", f[i], ErrRange)
			}
			if err != nil {
				return Balance{}, err
			}
		}
	case "url_param":
		if len(f) < 2 {
			return Balance{}, fmt.Errorf("sched: balance url_param needs a name: %w", ErrRange)
		}
		b.Param = f[1]
	case "random":
		if len(f) > 1 {
			s := strings.TrimSuffix(strings.TrimPrefix(f[1], "("), ")")
			n, e := strconv.Atoi(s)
			if e != nil || n < 1 {
				return Balance{}, fmt.Errorf("sched: balance random(%s): %w", s, ErrRange)
			}
			b.Draws = n
		}
	default:
		name, ok := strings.CutPrefix(b.Algorithm, "hdr(")
		if ok && strings.HasSuffix(name, ")") && len(name) > 1 {
			b.Algorithm, b.Param = "hdr", strings.TrimSuffix(name, ")")
			for _, o := range f[1:] {
				if o != "use_domain_only" {
					return Balance{}, fmt.Errorf("sched: balance hdr: unknown option %q: %w", o, ErrRange)
				}
				b.UseDomainOnly = true
			}
			break
		}
		name, ok = strings.CutPrefix(b.Algorithm, "rdp-cookie")
		if ok {
			b.Algorithm, b.Param = "rdp-cookie", "mstshash"
			if name != "" {
				if !strings.HasPrefix(name, "(") || !strings.HasSuffix(name, ")") || len(name) < 3 {
					return Balance{}, fmt.Errorf("sched: balance %s: %w", f[0], ErrRange)
				}
				b.Param = name[1 : len(name)-1]
			}
			break
		}
		name, ok = strings.CutPrefix(b.Algorithm, "random(")
		if ok && strings.HasSuffix(name, ")") {
			n, e := strconv.Atoi(strings.TrimSuffix(name, ")"))
			if e != nil || n < 1 {
				return Balance{}, fmt.Errorf("sched: balance %s: %w", f[0], ErrRange)
			}
			b.Algorithm, b.Draws = "random", n
			break
		}
		return Balance{}, fmt.Errorf("sched: balance %q: %w", f[0], ErrUnknownScheduler)
	}
	h := strings.Fields(hashType)
	if len(h) > 0 {
		switch h[0] {
		case "map-based":
		case "consistent":
			b.Consistent = true
		default:
			return Balance{}, fmt.Errorf("sched: hash-type %q: %w", h[0], ErrRange)
		}
		// "hash-type consistent" alone means sdbm with avalanche.
		if b.Consistent && len(h) == 1 {
			b.Avalanche = true
		}
		for _, o := range h[1:] {
			switch o {
			case "sdbm", "djb2", "wt6", "crc32":
				b.HashFunc = o
			case "avalanche":
				b.Avalanche = true
			default:
				return Balance{}, fmt.Errorf("sched: hash-type: unknown %q: %w", o, ErrRange)
			}
		}
	}
	// HAProxy runs random on the consistent-hash tree whatever hash-type
	// says.
	if b.Algorithm == "random" {
		b.Consistent = true
	}
	return b, nil
}

// Server is an HAProxy server line as the balancer sees it.
type Server struct {
	Name string
	// Weight is 0..256 (HAProxy's default is 1); 0 takes no new traffic.
	Weight int
	// ID is the server's "id" (puid); 0 means its position, counting from
	// 1, as HAProxy numbers servers that have none.
	ID int
}

// Request is what an HAProxy balance algorithm may look at.
type Request struct {
	Src netip.Addr
	// URI is the request-line target, e.g. "/a/b?x=1".
	URI string
	// Header returns the first value of a request header, "" if absent.
	Header func(name string) string
	// RDPCookie is the value of the RDP cookie named by the balance line.
	RDPCookie string
}

// HAProxy predicts which server an HAProxy backend (2.6) picks for a
// request. It covers the active servers of one backend without maxconn or
// health state; weights are fixed at construction. It is not safe for
// concurrent use.
type HAProxy struct {
	b       Balance
	srv     []*hsrv
	totW    int
	used    int
	m       []*hsrv // map-based table
	rrIdx   int
	tree    []chNode // consistent-hash ring sorted by key
	last    int      // chash_get_next_server position, -1 for none
	rand    func() uint32
	lcStamp uint64
	rr      *fwrrGroup
}

type hsrv struct {
	Server
	eweight int
	served  int
	wscore  int
	stamp   uint64 // leastconn tree insertion order
	// roundrobin (lb_fwrr) state
	npos, lpos, rweight int
}

type chNode struct {
	key uint32
	s   *hsrv
}

// HAProxyConfig configures NewHAProxy; nil and the zero value mean
// HAProxy's defaults.
type HAProxyConfig struct {
	// Rand is the random source of "balance random" (HAProxy's
	// statistical_prng); nil is math/rand/v2.
	Rand func() uint32
}

// haproxyNames are HAProxy 2.6's balance algorithms ParseBalance accepts.
var haproxyNames = [...]string{"roundrobin", "static-rr", "leastconn", "first", "source",
	"uri", "url_param", "hdr", "rdp-cookie", "random"}

// HAProxyNames lists HAProxy's balance algorithms, as the "balance" keyword
// spells them (hdr and rdp-cookie take their name in parentheses,
// url_param after a space). The slice is the
// caller's to keep or modify.
func HAProxyNames() []string { return append([]string(nil), haproxyNames[:]...) }

// NewHAProxy builds the balancer for servers in declaration order.
func NewHAProxy(b Balance, servers []Server, c *HAProxyConfig) (*HAProxy, error) {
	h := &HAProxy{b: b, last: -1, rand: rand.Uint32}
	if c != nil && c.Rand != nil {
		h.rand = c.Rand
	}
	seen := map[int]bool{}
	for i, s := range servers {
		if s.Weight < 0 || s.Weight > 256 {
			return nil, fmt.Errorf("sched: server %s weight %d: %w", s.Name, s.Weight, ErrRange)
		}
		if s.ID == 0 {
			s.ID = i + 1
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("sched: server %s id %d: %w", s.Name, s.ID, ErrExists)
		}
		seen[s.ID] = true
		h.srv = append(h.srv, &hsrv{Server: s})
	}
	switch {
	case b.Algorithm == "roundrobin", b.Algorithm == "leastconn", b.Algorithm == "first", b.Consistent:
		// wdiv = BE_WEIGHT_SCALE, wmult = 1
		for _, s := range h.srv {
			s.eweight = s.Weight * 16
		}
	default:
		// init_server_map: weights divided by their gcd.
		g := 1
		i := 0
		for i < len(h.srv) && h.srv[i].Weight == 0 {
			i++
		}
		if i < len(h.srv) {
			g = h.srv[i].Weight
			for i++; g > 1 && i < len(h.srv); i++ {
				for w := h.srv[i].Weight; w != 0; {
					g, w = w, g%w
				}
			}
		}
		for _, s := range h.srv {
			s.eweight = (s.Weight + g - 1) / g
		}
	}
	for _, s := range h.srv {
		if s.eweight > 0 {
			h.totW += s.eweight
			h.used++
		}
	}
	switch {
	case b.Consistent:
		for _, s := range h.srv {
			for j := 0; j < s.eweight; j++ {
				h.tree = append(h.tree, chNode{key: FullHash(uint32(s.ID*4096 + j)), s: s})
			}
		}
		// eb32 trees keep duplicates in insertion order.
		sort.SliceStable(h.tree, func(i, j int) bool { return h.tree[i].key < h.tree[j].key })
	case b.Algorithm == "roundrobin":
		h.fwrrInit()
	case b.Algorithm == "leastconn":
		for _, s := range h.srv {
			h.lcStamp++
			s.stamp = h.lcStamp
		}
	default:
		h.recalcMap()
	}
	return h, nil
}

// recalcMap is recalc_server_map: each slot goes to the server whose
// accumulated score is highest, the first declared winning ties.
func (h *HAProxy) recalcMap() {
	h.m = make([]*hsrv, h.totW)
	tot := h.totW
	for _, s := range h.srv {
		s.wscore = 0
	}
	for o := 0; o < tot; o++ {
		var best *hsrv
		max := 0
		for _, s := range h.srv {
			if s.eweight == 0 {
				continue
			}
			if tot == 1 {
				best = s
				break
			}
			s.wscore += s.eweight
			v := (s.wscore + tot) / tot
			if best == nil || v > max {
				max, best = v, s
			}
		}
		h.m[o] = best
		best.wscore -= tot
	}
}

func (h *HAProxy) genHash(b string) uint32 {
	switch h.b.HashFunc {
	case "djb2":
		return djb2(b)
	case "wt6":
		return wt6(b)
	case "crc32":
		return crc32IEEE(b)
	}
	return sdbm(b)
}

func (h *HAProxy) lookup(hash uint32) *hsrv {
	if h.b.Avalanche {
		hash = FullHash(hash)
	}
	return h.lookupRaw(hash)
}

func (h *HAProxy) lookupRaw(hash uint32) *hsrv {
	if h.totW == 0 {
		return nil
	}
	if !h.b.Consistent {
		return h.m[hash%uint32(h.totW)]
	}
	// chash_get_server_hash: the closer of the nodes around hash.
	n := len(h.tree)
	if n == 0 {
		return nil
	}
	i := sort.Search(n, func(i int) bool { return h.tree[i].key >= hash })
	if i == n {
		i = 0
	}
	p := i - 1
	if p < 0 {
		p = n - 1
	}
	dp := hash - h.tree[p].key
	dn := h.tree[i].key - hash
	if dp <= dn {
		return h.tree[p].s
	}
	return h.tree[i].s
}

// Pick returns the name of the server HAProxy would send r to, or false
// when no server is usable.
func (h *HAProxy) Pick(r Request) (string, bool) {
	s := h.pick(r)
	if s == nil {
		return "", false
	}
	return s.Name, true
}

func (h *HAProxy) pick(r Request) *hsrv {
	if h.totW == 0 {
		return nil
	}
	var s *hsrv
	hashed := true
	switch h.b.Algorithm {
	case "roundrobin":
		return h.fwrrNext()
	case "static-rr":
		return h.mapRR()
	case "first":
		for _, x := range h.byID() {
			if x.eweight > 0 {
				return x
			}
		}
		return nil
	case "leastconn":
		return h.leastconn()
	case "random":
		return h.random()
	case "source":
		s = h.sourceHash(r.Src)
	case "uri":
		s = h.uriHash(r.URI)
	case "url_param":
		s = h.paramHash(r.URI)
	case "hdr":
		s = h.hdrHash(r)
	case "rdp-cookie":
		if r.RDPCookie == "" {
			break
		}
		if h.used == 1 {
			s = h.lookupRaw(0)
		} else {
			s = h.lookup(h.genHash(r.RDPCookie))
		}
	default:
		hashed = false
	}
	if s == nil && hashed {
		// Hash input missing: round robin on the map or the tree.
		if h.b.Consistent {
			return h.chashNext()
		}
		return h.mapRR()
	}
	return s
}

func (h *HAProxy) byID() []*hsrv {
	out := append([]*hsrv(nil), h.srv...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// mapRR is map_get_server_rr without maxconn.
func (h *HAProxy) mapRR() *hsrv {
	if h.rrIdx < 0 || h.rrIdx >= h.totW {
		h.rrIdx = 0
	}
	s := h.m[h.rrIdx]
	h.rrIdx++
	return s
}

// chashNext is chash_get_next_server without maxconn: walk the ring.
func (h *HAProxy) chashNext() *hsrv {
	if len(h.tree) == 0 {
		return nil
	}
	h.last++
	if h.last >= len(h.tree) {
		h.last = 0
	}
	return h.tree[h.last].s
}

// sourceHash is get_server_sh: the XOR of the address's 32-bit words.
func (h *HAProxy) sourceHash(a netip.Addr) *hsrv {
	if !a.IsValid() {
		return nil
	}
	if h.used == 1 {
		return h.lookupRaw(0)
	}
	var v uint32
	if a.Is4() {
		b := a.As4()
		v = binary.BigEndian.Uint32(b[:])
	} else {
		b := a.As16()
		for i := 0; i < 16; i += 4 {
			v ^= binary.BigEndian.Uint32(b[i:])
		}
	}
	return h.lookup(v)
}

// uriHash is get_server_uh.
func (h *HAProxy) uriHash(uri string) *hsrv {
	if h.used == 1 {
		return h.lookupRaw(0)
	}
	if h.b.URIPathOnly {
		uri = pathOnly(uri)
	}
	n := len(uri)
	if h.b.URILen > 0 {
		n = min(n, h.b.URILen)
	}
	depth := 0
	if h.b.URIDepth > 0 {
		depth = h.b.URIDepth + 1
	}
	slashes, end := 0, 0
	for ; end < n; end++ {
		c := uri[end]
		if c == '/' {
			slashes++
			if slashes == depth {
				break
			}
		} else if c == '?' && !h.b.URIWhole {
			break
		}
	}
	return h.lookup(h.genHash(uri[:end]))
}

// pathOnly drops scheme and authority from an absolute URI, as
// http_parse_path does.
func pathOnly(uri string) string {
	if strings.HasPrefix(uri, "/") || uri == "*" {
		return uri
	}
	if i := strings.Index(uri, "://"); i >= 0 {
		rest := uri[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
		return ""
	}
	return uri
}

// paramHash is get_server_ph.
func (h *HAProxy) paramHash(uri string) *hsrv {
	q := strings.IndexByte(uri, '?')
	if q < 0 {
		return nil
	}
	params := uri[q+1:]
	name := h.b.Param
	plen := len(name)
	for len(params) > plen {
		if params[plen] == '=' && params[:plen] == name {
			v := params[plen+1:]
			if i := strings.IndexByte(v, '&'); i >= 0 {
				v = v[:i]
			}
			return h.lookup(h.genHash(v))
		}
		i := strings.IndexByte(params, '&')
		if i < 0 {
			return nil
		}
		params = params[i+1:]
	}
	return nil
}

// hdrHash is get_server_hh.
func (h *HAProxy) hdrHash(r Request) *hsrv {
	if h.used == 1 {
		return h.lookupRaw(0)
	}
	if r.Header == nil {
		return nil
	}
	v := r.Header(h.b.Param)
	// http_find_header stops at the first comma-separated value.
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	v = strings.Trim(v, " \t")
	if v == "" {
		return nil
	}
	if !h.b.UseDomainOnly {
		return h.lookup(h.genHash(v))
	}
	// Hash only the label before the last dot ("www.example.com" ->
	// "example"), walking back from the end as HAProxy does.
	p := len(v)
	end := p
	dohash := false
	n := len(v)
	for n > 0 {
		if dohash {
			if v[p-1] == '.' {
				break
			}
		} else if p < len(v) && v[p] == '.' {
			end = p
			dohash = true
		}
		p--
		n--
	}
	return h.lookup(h.genHash(v[p:end]))
}

// random is get_server_rnd: draws random points on the ring and keeps the
// least loaded (served per weight).
func (h *HAProxy) random() *hsrv {
	var cur *hsrv
	for d := h.b.Draws; ; {
		prev := cur
		cur = h.lookupRaw(h.rand())
		if cur == nil {
			break
		}
		if prev != nil && prev != cur && cur.served*prev.eweight > prev.served*cur.eweight {
			cur = prev
		}
		d--
		if d <= 0 {
			break
		}
	}
	return cur
}

// leastconn is fwlc: the lowest key (served+1)*4096/eweight, 0 when idle;
// among equal keys the server repositioned longest ago (ebtree duplicates
// keep insertion order).
func (h *HAProxy) leastconn() *hsrv {
	var best *hsrv
	var bk uint32
	for _, s := range h.srv {
		if s.eweight == 0 {
			continue
		}
		var k uint32
		if s.served > 0 {
			k = uint32(s.served+1) * srvEWghtMax / uint32(s.eweight)
		}
		if best == nil || k < bk || (k == bk && s.stamp < best.stamp) {
			best, bk = s, k
		}
	}
	return best
}

// SetServed sets a server's current connection count, which leastconn and
// random compare; like HAProxy taking or dropping a connection, it moves
// the server behind others of equal load. It returns false for an unknown
// server.
func (h *HAProxy) SetServed(name string, n int) bool {
	for _, s := range h.srv {
		if s.Name == name {
			s.served = max(n, 0)
			h.lcStamp++
			s.stamp = h.lcStamp
			return true
		}
	}
	return false
}
