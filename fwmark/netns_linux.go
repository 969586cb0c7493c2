package fwmark

import (
	"fmt"
	"os"

	"github.com/lvskit/lvskit/internal/inns"
)

// openNetNS opens the network namespace file at path; it returns nil and no
// error for "", the caller's namespace.
func openNetNS(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fwmark: network namespace: %w", err)
	}
	return f, nil
}

// runInNetNS runs fn on a thread switched into the network namespace at
// path (fn runs directly for ""), through lvskit's one namespace switcher.
func runInNetNS(path string, fn func() error) error {
	return inns.Run(path, fn)
}
