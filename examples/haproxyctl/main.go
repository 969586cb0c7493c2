// Command haproxyctl reads, checks and edits haproxy.cfg files and drives
// a running HAProxy through its runtime API, using lvskit's haproxy
// package. Run "haproxyctl -h" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/haproxy"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: haproxyctl COMMAND [ARGUMENTS]

Commands:
  check FILE
        Validate FILE as HAProxy 2.6 reads it. Errors (what "haproxy -c"
        rejects) print as FILE:LINE:COL: message and make the exit status 1.
        Warnings (keywords HAProxy 2.6 does not know in global, defaults,
        frontend, backend and listen sections) print as
        FILE:LINE:COL: warning: message and leave the status alone.
        Prints "FILE: ok" when there is no error.

  servers FILE
        List the backend and listen sections of FILE with their balance
        algorithm and, per server, its address, check, backup, weight and
        check interval.

  set-weight [-w] FILE BACKEND SERVER WEIGHT
        Set the weight of SERVER in BACKEND (a backend or listen section).
        WEIGHT is an integer from 0 to 256, or N% of the server's weight in
        the file (its own, else its section's default-server weight, else
        1), rounded down and capped at 256, as HAProxy's runtime "set
        weight" reads it. Prints the edited file; with -w, writes it back in
        place instead. Only the server's line changes.

  runtime [-t TIMEOUT] SOCKET WORD...
        Send one command to HAProxy's runtime API (stats socket) and print
        its answer. SOCKET is a unix socket path, or HOST:PORT for TCP. The
        words form one command line, each escaped for HAProxy (so ';'
        cannot start a second command); a single argument is split at
        spaces: "show servers state" and show servers state are the same.
        A command HAProxy refuses makes the exit status 1. -t bounds the
        whole exchange (default 10s).

  help
        Print this text.

Every command also takes -h. Exit status: 0 success, 1 an invalid file,
a refused command or a failure, 2 a usage error.
`

// errUsage marks an error in the command line: exit status 2.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "check":
		err = withFlags(cmd, rest, 1, nil, func(fs *flag.FlagSet) error { return check(fs.Arg(0), stdout, stderr) })
	case "servers":
		err = withFlags(cmd, rest, 1, nil, func(fs *flag.FlagSet) error { return servers(fs.Arg(0), stdout) })
	case "set-weight":
		var write bool
		err = withFlags(cmd, rest, 4, func(fs *flag.FlagSet) { fs.BoolVar(&write, "w", false, "write the file in place") },
			func(fs *flag.FlagSet) error {
				return setWeight(fs.Arg(0), fs.Arg(1), fs.Arg(2), fs.Arg(3), write, stdout)
			})
	case "runtime":
		var timeout time.Duration
		err = withFlags(cmd, rest, -2, func(fs *flag.FlagSet) { fs.DurationVar(&timeout, "t", 10*time.Second, "timeout") },
			func(fs *flag.FlagSet) error { return runtime(fs.Arg(0), fs.Args()[1:], timeout, stdout) })
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "haproxyctl: %v\n\n%s", err, usage)
		return 2
	}
	fmt.Fprintln(stderr, err)
	return 1
}

// withFlags parses a command's flags and checks its argument count: n
// exactly, or at least -n when n is negative.
func withFlags(cmd string, args []string, n int, define func(*flag.FlagSet), do func(*flag.FlagSet) error) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if define != nil {
		define(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %s: %v", errUsage, cmd, err)
	}
	if (n >= 0 && fs.NArg() != n) || (n < 0 && fs.NArg() < -n) {
		return fmt.Errorf("%w: %s: wrong number of arguments", errUsage, cmd)
	}
	return do(fs)
}

func check(path string, stdout, stderr io.Writer) error {
	c, err := haproxy.ParseFile(path)
	if err != nil {
		return err
	}
	warnings, err := c.Check(nil)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", w.Pos, w.Msg)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return nil
}

func servers(path string, stdout io.Writer) error {
	c, err := haproxy.ParseFile(path)
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

func setWeight(path, backend, server, weight string, write bool, stdout io.Writer) error {
	w, err := haproxy.ParseWeight(weight)
	if err != nil {
		return err
	}
	c, err := haproxy.ParseFile(path)
	if err != nil {
		return err
	}
	p := c.Backend(backend)
	if p == nil {
		return fmt.Errorf("%s: no backend %q", path, backend)
	}
	s, l := p.Server(server)
	if l == nil {
		return fmt.Errorf("%s: no server %q in %s %q", path, server, p.Keyword(), backend)
	}
	initial := 1
	if def, dl, _ := p.DefaultServer(); dl != nil && def.Weight != nil {
		initial = *def.Weight
	}
	if s.Weight != nil {
		initial = *s.Weight
	}
	n := w.Of(initial)
	s.Weight = &n
	p.SetServer(s)
	if !write {
		_, err = stdout.Write(c.Format())
		return err
	}
	return writeFile(path, c.Format())
}

// writeFile replaces path's content through a temporary file in the same
// directory, renamed over it, keeping its permissions.
func writeFile(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(fi.Mode().Perm()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func runtime(socket string, words []string, timeout time.Duration, stdout io.Writer) error {
	if len(words) == 1 {
		words = strings.Fields(words[0])
		if len(words) == 0 {
			return fmt.Errorf("%w: runtime: empty command", errUsage)
		}
	}
	network := "unix"
	if !strings.Contains(socket, "/") && strings.Contains(socket, ":") {
		network = "tcp"
	}
	rt := haproxy.NewRuntime(network, socket, nil)
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := rt.Execute(ctx, words...)
	if err != nil {
		return err
	}
	if out != "" {
		fmt.Fprintln(stdout, out)
	}
	return nil
}
