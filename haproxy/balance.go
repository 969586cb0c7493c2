package haproxy

import (
	"fmt"
	"strings"
)

// Balance is a backend's load-balancing algorithm.
type Balance struct {
	// Algorithm is roundrobin, static-rr, leastconn, first, source, uri,
	// url_param, hdr, rdp-cookie, random or hash.
	Algorithm string
	// Param is the algorithm's parameter: the header of hdr(name), the
	// cookie of rdp-cookie(name), the draws of random(n), the url_param
	// name, or the sample expression of hash.
	Param string
	// Options are the remaining words (uri's whole/len/depth/path-only,
	// url_param's check_post...).
	Options []string
}

var balanceAlgorithms = map[string]bool{
	"roundrobin": true, "static-rr": true, "leastconn": true, "first": true,
	"source": true, "uri": true, "url_param": true, "hdr": true,
	"rdp-cookie": true, "random": true, "hash": true,
}

// ParseBalance parses the words after "balance". No words is round
// robin, as HAProxy reads a bare "balance" line.
func ParseBalance(w []string) (Balance, error) {
	var b Balance
	if len(w) == 0 {
		return Balance{Algorithm: "roundrobin"}, nil
	}
	alg := w[0]
	if i := strings.IndexByte(alg, '('); i >= 0 && strings.HasSuffix(alg, ")") {
		b.Param = alg[i+1 : len(alg)-1]
		alg = alg[:i]
	}
	b.Algorithm = alg
	if !balanceAlgorithms[alg] {
		return b, fmt.Errorf("balance: unknown algorithm %q", w[0])
	}
	rest := w[1:]
	if (alg == "url_param" || alg == "hash") && len(rest) > 0 {
		b.Param, rest = rest[0], rest[1:]
	}
	if alg == "hdr" && b.Param == "" {
		return b, fmt.Errorf("balance: hdr requires a header name: hdr(name)")
	}
	if (alg == "url_param" || alg == "hash") && b.Param == "" {
		return b, fmt.Errorf("balance: %s requires an argument", alg)
	}
	b.Options = rest
	return b, nil
}

// Words returns the words after "balance".
func (b Balance) Words() []string {
	var w []string
	switch b.Algorithm {
	case "hdr", "rdp-cookie", "random":
		if b.Param != "" {
			w = append(w, b.Algorithm+"("+b.Param+")")
		} else {
			w = append(w, b.Algorithm)
		}
	case "url_param", "hash":
		w = append(w, b.Algorithm, b.Param)
	default:
		w = append(w, b.Algorithm)
	}
	return append(w, b.Options...)
}

// Balance returns the proxy's balance setting.
func (p *Proxy) Balance() (Balance, bool, error) {
	l := p.Find("balance")
	if l == nil {
		return Balance{}, false, nil
	}
	b, err := ParseBalance(l.Values()[1:])
	return b, true, err
}

// SetBalance sets the balance line.
func (p *Proxy) SetBalance(b Balance) {
	p.Set(1, append([]string{"balance"}, b.Words()...)...)
}

// HashType is a backend's hash-type setting.
type HashType struct {
	// Method is map-based or consistent.
	Method string
	// Function is sdbm, djb2, wt6 or crc32 (HAProxy 2.6); "" for the
	// default.
	Function string
	// Avalanche is true when the avalanche modifier is set.
	Avalanche bool
}

// HashType returns the proxy's hash-type.
func (p *Proxy) HashType() (HashType, bool, error) {
	l := p.Find("hash-type")
	if l == nil {
		return HashType{}, false, nil
	}
	h, err := parseHashType(l.Values()[1:])
	return h, true, err
}

func parseHashType(v []string) (HashType, error) {
	var h HashType
	if len(v) == 0 || (v[0] != "map-based" && v[0] != "consistent") {
		return h, fmt.Errorf("hash-type: expects map-based or consistent")
	}
	h.Method = v[0]
	for _, x := range v[1:] {
		switch x {
		case "sdbm", "djb2", "wt6", "crc32":
			h.Function = x
		case "avalanche":
			h.Avalanche = true
		default:
			return h, fmt.Errorf("hash-type: unknown word %q", x)
		}
	}
	return h, nil
}

// SetHashType sets hash-type.
func (p *Proxy) SetHashType(h HashType) {
	w := []string{"hash-type", h.Method}
	if h.Function != "" {
		w = append(w, h.Function)
	}
	if h.Avalanche {
		w = append(w, "avalanche")
	}
	p.Set(1, w...)
}
