package vmtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// GuestInit is the guest's /init: it mounts the pseudo filesystems, loads
// the modules, brings loopback up, runs the test binary with its output on
// the second serial port, reports the exit status and powers off. It never
// returns.
func GuestInit() {
	code := 1
	spec, serr := guestSetup()
	out, err := os.OpenFile("/dev/ttyS1", os.O_WRONLY, 0)
	if err != nil {
		out = os.Stdout
	} else {
		rawTTY(out)
	}
	if serr != nil {
		fmt.Fprintf(out, "vmtest guest: %v\n", serr)
	} else {
		code = guestRun(out, spec)
	}
	fmt.Fprintf(out, "\n%s%d\n", exitMarker, code)
	out.Sync()
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

// rawTTY turns off output post-processing so "\n" is not sent as "\r\n".
func rawTTY(f *os.File) {
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		return
	}
	t.Oflag &^= unix.OPOST
	unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
}

func guestSetup() (runSpec, error) {
	mounts := []struct{ src, dst, typ string }{
		{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"devtmpfs", "/dev", "devtmpfs"},
		{"tmpfs", "/run", "tmpfs"},
	}
	for _, m := range mounts {
		if err := unix.Mount(m.src, m.dst, m.typ, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			return runSpec{}, fmt.Errorf("mount %s: %w", m.dst, err)
		}
	}
	// /tmp stays on the root filesystem (already in memory): the package
	// directory of a test may itself live under /tmp.
	os.MkdirAll("/tmp", 0o1777)
	os.MkdirAll("/run/netns", 0o755)
	// FRR's default run-time directory (/var/run is a link to /run),
	// owned by its user as Debian's package leaves it.
	if os.MkdirAll("/run/frr", 0o755) == nil {
		os.Chown("/run/frr", 103, 112)
	}
	// busybox provides sh, modprobe (for the kernel's module autoloading)
	// and the usual utilities.
	if err := exec.Command("/usr/bin/busybox", "--install", "-s").Run(); err != nil {
		return runSpec{}, fmt.Errorf("busybox --install: %w", err)
	}
	os.Setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	var spec runSpec
	data, err := os.ReadFile("/lvskit/run.json")
	if err == nil {
		err = json.Unmarshal(data, &spec)
	}
	if err != nil {
		return runSpec{}, fmt.Errorf("run spec: %w", err)
	}
	if err := loadModules(spec.Modules); err != nil {
		fmt.Fprintf(os.Stderr, "vmtest guest: modules: %v\n", err)
	}
	// IPVS rejects masquerading destinations while no interface is up.
	if err := exec.Command("ip", "link", "set", "lo", "up").Run(); err != nil {
		return runSpec{}, fmt.Errorf("lo up: %w", err)
	}
	return spec, nil
}

// loadModules loads each module after its dependencies, from modules.dep.
// Modules the kernel lacks (say, a scheduler newer than it) are skipped.
func loadModules(names []string) error {
	var uts unix.Utsname
	unix.Uname(&uts)
	root := "/lib/modules/" + unix.ByteSliceToString(uts.Release[:])
	dep, err := os.ReadFile(root + "/modules.dep")
	if err != nil {
		return err
	}
	deps := map[string][]string{}
	byName := map[string]string{}
	for _, line := range strings.Split(string(dep), "\n") {
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		deps[mod] = strings.Fields(rest)
		byName[strings.ReplaceAll(strings.TrimSuffix(filepath.Base(mod), ".ko"), "-", "_")] = mod
	}
	loaded := map[string]bool{}
	var load func(string) error
	load = func(mod string) error {
		if loaded[mod] {
			return nil
		}
		loaded[mod] = true
		ds := deps[mod]
		// modules.dep lists the full closure, deepest last.
		for i := len(ds) - 1; i >= 0; i-- {
			if err := load(ds[i]); err != nil {
				return err
			}
		}
		f, err := os.Open(root + "/" + mod)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("load %s: %w", mod, err)
		}
		return nil
	}
	for _, n := range names {
		mod, ok := byName[n]
		if !ok {
			continue
		}
		if err := load(mod); err != nil {
			return err
		}
	}
	return nil
}

func guestRun(out *os.File, spec runSpec) int {
	cmd := exec.Command("/lvskit/test", spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=/root", "TMPDIR=/tmp", "LVSKIT_IN_VM=1",
		"LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu",
	}, spec.Env...)
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.ExitCode() >= 0 {
			return ee.ExitCode()
		}
		fmt.Fprintf(out, "vmtest guest: test binary: %v\n", err)
		return 1
	default:
		fmt.Fprintf(out, "vmtest guest: test binary: %v\n", err)
		return 1
	}
}
