// Command kaconf formats, checks, lints and dumps keepalived
// configurations with the keepalivedconf package.
//
//	kaconf fmt [-w] FILE...      print (or rewrite with -w) in canonical layout
//	kaconf check [-i ID] FILE    like keepalived -t: diagnostics, exit 1 on any
//	kaconf lint [-i ID] FILE     check, plus findings keepalived does not give
//	kaconf json [-i ID] FILE     the typed configuration as JSON
//
// Diagnostics are printed as file:line:col: severity: message. check and
// lint read includes, apply @ID conditionals (-i), definitions and ~SEQ
// lines the way keepalived does.
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

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(stderr io.Writer) int {
	fmt.Fprintln(stderr, "usage: kaconf fmt [-w] FILE... | check [-i ID] FILE | lint [-i ID] FILE | json [-i ID] FILE")
	return 2
}

// run executes one kaconf command and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		return usage(stderr)
	}
	cmd := args[0]
	fs := flag.NewFlagSet("kaconf "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	write := fs.Bool("w", false, "fmt: write the result back to the file")
	id := fs.String("i", "", "config id matched by @ID line prefixes (keepalived -i)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var opts []keepalivedconf.Option
	if *id != "" {
		opts = append(opts, keepalivedconf.WithConfigID(*id))
	}
	opts = append(opts, keepalivedconf.WithEnv(os.LookupEnv))
	switch cmd {
	case "fmt":
		if fs.NArg() == 0 {
			return usage(stderr)
		}
		status := 0
		for _, path := range fs.Args() {
			if err := fmtFile(path, *write, stdout); err != nil {
				fmt.Fprintln(stderr, err)
				status = 1
			}
		}
		return status
	case "check", "lint", "json":
		if fs.NArg() != 1 {
			return usage(stderr)
		}
		return check(cmd, fs.Arg(0), opts, stdout, stderr)
	}
	return usage(stderr)
}

func fmtFile(path string, write bool, stdout io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f, err := keepalivedconf.Parse(path, data)
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

func check(cmd, path string, opts []keepalivedconf.Option, stdout, stderr io.Writer) int {
	raw, err := keepalivedconf.ParseFile(path, opts...)
	if raw == nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var diags keepalivedconf.ErrorList
	collect := func(err error) {
		var l keepalivedconf.ErrorList
		if errors.As(err, &l) {
			diags = append(diags, l...)
		}
	}
	ex, err := raw.Expand(opts...)
	collect(err)
	cfg, err := ex.Config()
	collect(err)
	if cmd == "lint" {
		diags = append(diags, cfg.Lint()...)
	}
	diags = dedup(diags)
	diags.Sort()
	status := 0
	for _, d := range diags {
		if d.Severity == keepalivedconf.SeverityLint && cmd != "lint" {
			continue
		}
		fmt.Fprintln(stderr, d.Error())
		status = 1
	}
	if cmd == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cfg); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	return status
}

// dedup drops repeated diagnostics (an include's syntax errors are found
// both when it is read and when it is expanded).
func dedup(l keepalivedconf.ErrorList) keepalivedconf.ErrorList {
	seen := map[string]bool{}
	out := l[:0]
	for _, d := range l {
		if k := d.Error(); !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}
