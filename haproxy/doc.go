// Package haproxy is a lossless codec and typed model for haproxy.cfg, with
// validation, and a client for HAProxy's runtime API.
package haproxy
