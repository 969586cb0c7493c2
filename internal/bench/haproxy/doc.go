// Package haproxybench measures lvskit's haproxy config codec against
// haproxytech/config-parser in the same run.
package haproxybench
