// Command haproxyctl reads, checks and edits haproxy.cfg files and drives
// a running HAProxy through its runtime API, using lvskit's haproxy
// package.
//
//	haproxyctl check FILE                      validate; errors as file:line:col
//	haproxyctl servers FILE                    list backends and their servers
//	haproxyctl set-weight FILE BACKEND SERVER N print FILE with one weight changed
//	haproxyctl runtime SOCKET COMMAND...       run runtime API commands (one per argument)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/haproxy"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  haproxyctl check FILE
  haproxyctl servers FILE
  haproxyctl set-weight FILE BACKEND SERVER WEIGHT
  haproxyctl runtime SOCKET COMMAND...`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "check":
		err = check(args[1], stdout)
	case "servers":
		err = servers(args[1], stdout)
	case "set-weight":
		if len(args) != 5 {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		err = setWeight(args[1], args[2], args[3], args[4], stdout)
	case "runtime":
		err = runtime(args[1], args[2:], stdout)
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func load(path string) (*haproxy.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return haproxy.Parse(path, data)
}

func check(path string, stdout io.Writer) error {
	c, err := load(path)
	if err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return nil
}

func servers(path string, stdout io.Writer) error {
	c, err := load(path)
	if err != nil {
		return err
	}
	proxies := append(c.Backends(), c.Listens()...)
	for _, p := range proxies {
		bal, _, _ := p.Balance()
		fmt.Fprintf(stdout, "%s %s balance=%s\n", p.Keyword(), p.Name(), strings.Join(bal.Words(), " "))
		for _, s := range p.Servers() {
			w := "default"
			if s.Weight != nil {
				w = strconv.Itoa(*s.Weight)
			}
			fmt.Fprintf(stdout, "  %s %s check=%v backup=%v weight=%s inter=%v\n", s.Name, s.Address, s.Check == haproxy.On, s.Backup == haproxy.On, w, s.Inter)
		}
	}
	return nil
}

func setWeight(path, backend, server, weight string, stdout io.Writer) error {
	w, err := strconv.Atoi(weight)
	if err != nil {
		return fmt.Errorf("weight %q: %w", weight, err)
	}
	c, err := load(path)
	if err != nil {
		return err
	}
	p := c.Backend(backend)
	if p == nil {
		return fmt.Errorf("%s: no backend %q", path, backend)
	}
	s, l := p.Server(server)
	if l == nil {
		return fmt.Errorf("%s: no server %q in backend %q", path, server, backend)
	}
	s.Weight = &w
	p.SetServer(s)
	_, err = stdout.Write(c.Format())
	return err
}

func runtime(socket string, cmds []string, stdout io.Writer) error {
	if len(cmds) == 0 {
		return errors.New("runtime: no command")
	}
	network := "unix"
	if !strings.Contains(socket, "/") && strings.Contains(socket, ":") {
		network = "tcp"
	}
	rt := haproxy.NewRuntime(network, socket, nil)
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, cmd := range cmds {
		out, err := rt.Execute(ctx, strings.Fields(cmd)...)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, out)
	}
	return nil
}
