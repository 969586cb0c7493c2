package proc_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lvskit/lvskit/internal/proc"
)

// Run a script with a timeout: its whole process group is killed when the
// timeout ends, and the error says so.
func ExampleRun() {
	res, err := proc.Run(context.Background(), &proc.Cmd{
		Argv:    []string{"/bin/sh", "-c", "echo started; sleep 60 & wait"},
		Timeout: 100 * time.Millisecond,
	})
	fmt.Printf("%q %v %s\n", res.Output, errors.Is(err, proc.ErrTimeout), res.Signal)
	// Output:
	// "started\n" true killed
}
