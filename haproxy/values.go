package haproxy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

var logFacilities = map[string]bool{
	"kern": true, "user": true, "mail": true, "daemon": true, "auth": true, "syslog": true,
	"lpr": true, "news": true, "uucp": true, "cron": true, "auth2": true, "ftp": true,
	"ntp": true, "audit": true, "alert": true, "cron2": true, "local0": true, "local1": true,
	"local2": true, "local3": true, "local4": true, "local5": true, "local6": true, "local7": true,
}

var logLevels = map[string]bool{
	"emerg": true, "alert": true, "crit": true, "err": true, "warning": true,
	"notice": true, "info": true, "debug": true,
}

// checkLog checks the words after "log" as HAProxy 2.6 reads them.
func checkLog(w []string) error {
	if len(w) == 1 && w[0] == "global" {
		return nil
	}
	lg := parseLog(w)
	switch {
	case lg.Address == "" || lg.Facility == "":
		return errors.New("expects <address> and <facility> as arguments")
	case !logFacilities[lg.Facility]:
		return fmt.Errorf("unknown log facility '%s'", lg.Facility)
	case lg.Level != "" && !logLevels[lg.Level]:
		return fmt.Errorf("unknown optional log level '%s'", lg.Level)
	case lg.MinLevel != "" && !logLevels[lg.MinLevel]:
		return fmt.Errorf("unknown optional minimum log level '%s'", lg.MinLevel)
	}
	if n := len(w) - 1 - len(lg.Options); n > 3 {
		return fmt.Errorf("cannot handle unexpected argument '%s'", w[len(w)-1])
	}
	return nil
}

// checkBindAddress rejects what HAProxy cannot bind to for sure: an
// address without a port, or an IPv4-looking host that is not an IPv4
// address. Sockets (unix paths, fd@, ipv4@...) and host names pass.
func checkBindAddress(list string) error {
	if list == "" {
		return errors.New("expects an address")
	}
	for _, a := range strings.Split(list, ",") {
		if strings.Contains(a, "@") || strings.HasPrefix(a, "/") {
			continue
		}
		i := strings.LastIndexByte(a, ':')
		if i < 0 {
			return fmt.Errorf("missing port specification in '%s'", a)
		}
		host := a[:i]
		if host != "" && host != "*" && strings.Trim(host, "0123456789.") == "" && !inetAton(host) {
			return fmt.Errorf("invalid address '%s'", host)
		}
	}
	return nil
}

// inetAton reports whether a host of digits and dots is an IPv4 address
// as the C library reads it when HAProxy falls back to it: one to four
// numbers, a leading 0 meaning octal, the last one filling the bytes
// left ("127.1" and "127.00.1" are 127.0.0.1). A host with an empty part
// is left to the resolver and passes.
func inetAton(host string) bool {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return true
		}
		base := uint64(10)
		if len(p) > 1 && p[0] == '0' {
			base = 8
		}
		n, err := strconv.ParseUint(p, int(base), 32)
		if err != nil {
			return false
		}
		max := uint64(255)
		if i == len(parts)-1 {
			max = 1<<(8*(5-len(parts))) - 1
		}
		if n > max {
			return false
		}
	}
	return true
}

// checkURIOptions checks "balance uri" options: whole, path-only, and len
// or depth with a number.
func checkURIOptions(b Balance) error {
	if b.Algorithm != "uri" {
		return nil
	}
	for i := 0; i < len(b.Options); i++ {
		switch o := b.Options[i]; o {
		case "whole", "path-only":
		case "len", "depth":
			if i+1 >= len(b.Options) || atol(b.Options[i+1]) <= 0 {
				return fmt.Errorf("balance uri: '%s' expects a positive integer", o)
			}
			i++
		default:
			return fmt.Errorf("balance uri only accepts 'len', 'depth', 'path-only' and 'whole' (got '%s')", o)
		}
	}
	return nil
}
