// Command kaconf formats, checks, lints and dumps keepalived
// configurations with the keepalivedconf package.
//
//	kaconf fmt [-w] FILE...      print (or rewrite with -w) in canonical layout
//	kaconf check [-i ID] FILE    like keepalived -t: exit 5 on what keepalived -t fails on
//	kaconf lint [-i ID] FILE     check, plus findings keepalived does not give
//	kaconf json [-i ID] FILE     the typed configuration as JSON
//	kaconf help                  explain the commands
//
// Diagnostics are printed as file:line:col: kind: message, at most 100 of
// them (then one line says how many more there were), with control
// characters escaped. check, lint and json read includes, apply @ID
// conditionals (-i), definitions and ~SEQ lines the way keepalived does,
// within keepalivedconf's default Limits.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lvskit/lvskit/keepalivedconf"
)

// Exit statuses. keepalived -t exits 5 (its "config" status) on a
// configuration it rejects, 0 otherwise.
const (
	exitOK     = 0
	exitFail   = 1 // a file cannot be read or written; lint findings
	exitUsage  = 2
	exitConfig = 5 // what `keepalived -t` exits with on a bad configuration
)

// maxShown bounds the diagnostics printed.
const maxShown = 100

const help = `usage: kaconf COMMAND [FLAGS] FILE...

kaconf reads keepalived.conf files as keepalived 2.2.7 does.

Commands:
  fmt [-w] FILE...
        Print each file in canonical layout (4-space indentation, one
        statement per line, '{' on its keyword's line). Words, comments,
        definitions and ~SEQ lines are kept, so keepalived reads the same
        configuration. With -w, rewrite the files instead. A file with
        structural errors is not formatted. Exit 0, or 1 on any error.
  check [-i ID] FILE
        Check FILE as 'keepalived -t -f FILE' does: read its includes,
        apply @ID conditionals (-i, keepalived's -i), definitions and ~SEQ
        lines, then every keyword and value. Print what keepalived would
        report (errors and warnings, with file:line:col). Exit 5, as
        keepalived -t does, when there is any; otherwise print one line
        saying the configuration is OK and exit 0. Exit 1 when FILE cannot
        be read.
  lint [-i ID] FILE
        check, plus findings keepalived does not report (duplicate router
        ids, weight-0 pools, plain includes that match nothing...). Exit 5
        as check does, else 1 when there are findings, else 0.
  json [-i ID] FILE
        Print the typed configuration (keepalivedconf.Config) as JSON, and
        the diagnostics as check does. Exit 5 when check would.
  help, -h
        Print this text and exit 0.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(stderr io.Writer) int {
	fmt.Fprint(stderr, help)
	return exitUsage
}

// run executes one kaconf command and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		return usage(stderr)
	}
	cmd := args[0]
	switch cmd {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, help)
		return exitOK
	}
	fs := flag.NewFlagSet("kaconf "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, help) }
	write := fs.Bool("w", false, "fmt: write the result back to the file")
	id := fs.String("i", "", "config id matched by @ID line prefixes (keepalived -i)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	pc := &keepalivedconf.ParseConfig{ConfigID: *id, LookupEnv: os.LookupEnv}
	switch cmd {
	case "fmt":
		if fs.NArg() == 0 {
			return usage(stderr)
		}
		status := exitOK
		for _, path := range fs.Args() {
			if err := fmtFile(pc, path, *write, stdout, stderr); err != nil {
				printErr(stderr, err)
				status = exitFail
			}
		}
		return status
	case "check", "lint", "json":
		if fs.NArg() != 1 {
			return usage(stderr)
		}
		return check(cmd, fs.Arg(0), pc, stdout, stderr)
	}
	return usage(stderr)
}

// printErr prints an error: an ErrorList one element per line, capped.
func printErr(w io.Writer, err error) {
	var l keepalivedconf.ErrorList
	if errors.As(err, &l) {
		printList(w, "error", l, maxShown)
		return
	}
	fmt.Fprintln(w, err)
}

// printList prints at most max diagnostics of one kind and says how many
// it left out; it returns how many lines it printed.
func printList(w io.Writer, kind string, l keepalivedconf.ErrorList, max int) int {
	for i, e := range l {
		if i == max {
			fmt.Fprintf(w, "... and %d more %s diagnostics\n", len(l)-max, kind)
			return max + 1
		}
		fmt.Fprintf(w, "%s: %s: %s\n", e.Pos, kind, e.Msg)
	}
	return len(l)
}

func fmtFile(pc *keepalivedconf.ParseConfig, path string, write bool, stdout, stderr io.Writer) error {
	// fmt formats one file as written: no includes, no expansion, so
	// that the output is never more than the input's lines re-indented
	data, err := pc.ReadFile(path)
	if err != nil {
		return err
	}
	f, err := pc.Parse(path, data)
	if err != nil {
		// never rewrite a file whose structure we would have to guess
		return err
	}
	out := f.FormatCanonical()
	if !write {
		_, err = stdout.Write(out)
		return err
	}
	if bytes.Equal(out, data) {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, st.Mode().Perm())
}

func check(cmd, path string, pc *keepalivedconf.ParseConfig, stdout, stderr io.Writer) int {
	raw, err := pc.ParseFile(path)
	if raw == nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	cfg, err := raw.Config()
	var errs keepalivedconf.ErrorList
	errors.As(err, &errs)
	shown := printList(stderr, "error", errs, maxShown)
	shown += printList(stderr, "warning", cfg.Warnings, max(0, maxShown-shown))
	bad := len(errs) > 0 || len(cfg.Warnings) > 0
	status := exitOK
	if bad {
		status = exitConfig
	}
	switch cmd {
	case "lint":
		if l := cfg.Lint(); len(l) > 0 {
			printList(stderr, "lint", l, max(0, maxShown-shown))
			if !bad {
				status = exitFail
			}
		}
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cfg); err != nil {
			fmt.Fprintln(stderr, err)
			return exitFail
		}
	}
	if status == exitOK && cmd != "json" {
		fmt.Fprintf(stdout, "%s: configuration OK (%d VRRP instances, %d virtual servers)\n", path, len(cfg.Instances), len(cfg.VirtualServers))
	}
	return status
}
