// Package haproxytest fakes HAProxy's runtime API socket for tests of
// the haproxy package and the programs that use it.
package haproxytest

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// Socket listens on a unix socket in a temporary directory and serves
// one connection as HAProxy's runtime API would: a line starting with
// "prompt" (the client's set-up) is answered with two prompts, and every
// other line with the next of replies followed by the prompt (the last
// reply repeats). It returns the socket's path and a function that stops
// listening, waits for the connection to end and returns every line
// received.
func Socket(t testing.TB, replies ...string) (path string, lines func() []string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan []string, 1)
	go func() {
		var got []string
		defer func() { done <- got }()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		var pending string
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			pending += string(buf[:n])
			for {
				i := strings.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				line := pending[:i]
				pending = pending[i+1:]
				got = append(got, line)
				if strings.HasPrefix(line, "prompt") {
					c.Write([]byte("\n> \n> "))
					continue
				}
				reply := ""
				if len(replies) > 0 {
					reply = replies[0]
				}
				if len(replies) > 1 {
					replies = replies[1:]
				}
				c.Write([]byte(reply + "\n> "))
			}
		}
	}()
	return path, func() []string { ln.Close(); return <-done }
}
