// Command vmexec runs a Go test binary inside a QEMU guest with the IPVS
// kernel modules: use it as `go test -exec vmexec`. See internal/vmtest.
package main

import (
	"os"

	"github.com/lvskit/lvskit/internal/vmtest"
)

func main() {
	if os.Getpid() == 1 {
		vmtest.GuestInit()
	}
	os.Exit(vmtest.Main(os.Args[1:]))
}
