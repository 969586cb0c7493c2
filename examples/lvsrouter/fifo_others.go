//go:build windows || plan9

package main

import (
	"errors"
)

func openFIFO(path string) (fifoFile, error) {
	if path == "" {
		return nil, nil
	}
	return nil, errors.ErrUnsupported
}
