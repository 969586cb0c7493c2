package vmtest

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Kernel is a bootable kernel with its modules, found on the host.
type Kernel struct {
	Version string // e.g. 6.1.0-56-amd64
	Image   string // path of vmlinuz
	Modules string // path of /lib/modules/<version>
}

// FindKernel looks for a kernel whose modules include ip_vs: first under
// $LVSKIT_VM_ROOT (a directory a kernel package was extracted into with
// dpkg-deb -x), then in the host's /boot and /lib/modules. The newest
// version wins. Nothing about versions is hard-coded.
func FindKernel() (Kernel, error) {
	var roots []string
	if r := os.Getenv("LVSKIT_VM_ROOT"); r != "" {
		roots = append(roots, r)
	}
	roots = append(roots, "/")
	for _, root := range roots {
		images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
		sort.Sort(sort.Reverse(sort.StringSlice(images)))
		for _, img := range images {
			ver := strings.TrimPrefix(filepath.Base(img), "vmlinuz-")
			for _, mroot := range []string{filepath.Join(root, "lib", "modules", ver), filepath.Join(root, "usr", "lib", "modules", ver)} {
				if _, err := os.Stat(filepath.Join(mroot, "kernel", "net", "netfilter", "ipvs", "ip_vs.ko")); err == nil {
					return Kernel{Version: ver, Image: img, Modules: mroot}, nil
				}
			}
		}
	}
	return Kernel{}, errors.New("vmtest: no kernel with ip_vs modules found (run `make deps`, or set LVSKIT_VM_ROOT)")
}

// moduleDirs are the parts of the module tree copied into the guest; the
// dependency closure (lib, crypto, ...) is added from modules.dep.
var moduleDirs = []string{
	"kernel/net/netfilter", "kernel/net/ipv4", "kernel/net/ipv6", "kernel/net/bridge",
	"kernel/net/8021q", "kernel/net/xfrm", "kernel/net/key", "kernel/net/llc", "kernel/net/802", "kernel/net/packet",
	"kernel/drivers/net/veth.ko", "kernel/drivers/net/macvlan.ko", "kernel/drivers/net/ipvlan",
	"kernel/drivers/net/dummy.ko", "kernel/drivers/net/tun.ko",
	"kernel/crypto/crc32c_generic.ko", "kernel/arch/x86/crypto/crc32c-intel.ko",
}

// EagerModules are loaded at boot; anything else loads on demand through
// the kernel's request_module and busybox modprobe.
var EagerModules = []string{
	"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_lblc", "ip_vs_lblcr",
	"ip_vs_dh", "ip_vs_sh", "ip_vs_sed", "ip_vs_nq", "ip_vs_fo", "ip_vs_ovf", "ip_vs_mh",
	"ip_vs_twos", "ip_vs_ftp", "ip_vs_pe_sip", "veth", "bridge", "macvlan", "dummy", "nf_tables",
}

// DefaultTools are host programs copied into the guest with their shared
// libraries, when the host has them. keepalived is the peer of the
// router benchmarks in examples/lvsrouter; FRR's zebra and bgpd (with
// vtysh to query them) are the upstream router of the scale-out tests.
// Debian's frr package keeps the daemons in /usr/lib/frr; the guest has
// them at the same paths (internal/frr runs them).
var DefaultTools = []string{"ipvsadm", "nft", "ip", "busybox", "keepalived", "/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh"}

// Config says how to boot the guest. Zero values mean defaults.
type Config struct {
	Kernel   Kernel
	Tools    []string // extra host programs (names or paths)
	MemoryMB int      // default 1024, or $LVSKIT_VM_MEM
	CPUs     int      // default 1, or $LVSKIT_VM_CPUS
	// ICount makes guest time count instructions (QEMU -icount shift=0)
	// instead of host time, so that timings taken in the guest do not
	// depend on the host's load; also set by a non-empty $LVSKIT_VM_ICOUNT.
	ICount   bool
	CacheDir string // default $LVSKIT_VM_CACHE or the user cache dir
	Timeout  time.Duration
}

func (c *Config) defaults() error {
	if c.Kernel.Image == "" {
		k, err := FindKernel()
		if err != nil {
			return err
		}
		c.Kernel = k
	}
	if c.MemoryMB == 0 {
		c.MemoryMB, _ = strconv.Atoi(os.Getenv("LVSKIT_VM_MEM"))
		if c.MemoryMB == 0 {
			c.MemoryMB = 1024
		}
	}
	if c.CPUs == 0 {
		c.CPUs, _ = strconv.Atoi(os.Getenv("LVSKIT_VM_CPUS"))
		if c.CPUs == 0 {
			c.CPUs = 1
		}
	}
	if os.Getenv("LVSKIT_VM_ICOUNT") != "" {
		c.ICount = true
	}
	if c.CacheDir == "" {
		c.CacheDir = os.Getenv("LVSKIT_VM_CACHE")
		if c.CacheDir == "" {
			d, err := os.UserCacheDir()
			if err != nil {
				d = os.TempDir()
			}
			c.CacheDir = filepath.Join(d, "lvskit-vm")
		}
	}
	if extra := os.Getenv("LVSKIT_VM_TOOLS"); extra != "" {
		c.Tools = append(c.Tools, strings.Split(extra, ",")...)
	}
	return os.MkdirAll(c.CacheDir, 0o755)
}

// baseImage returns the path of the cached, gzipped part of the initramfs
// that does not change between runs: this init program, busybox, the
// modules and the tools. It is rebuilt when any input changes.
func (c *Config) baseImage() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	tools := c.toolFiles()
	key := sha256.New()
	for _, f := range append([]string{self, c.Kernel.Image, filepath.Join(c.Kernel.Modules, "modules.dep")}, tools...) {
		st, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(key, "%s %d %d\n", f, st.Size(), st.ModTime().UnixNano())
	}
	out := filepath.Join(c.CacheDir, "base-"+hex.EncodeToString(key.Sum(nil))[:16]+".cpio.gz")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	tmp, err := os.CreateTemp(c.CacheDir, "base-*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	zw, _ := gzip.NewWriterLevel(tmp, gzip.BestSpeed)
	w := newCPIO(zw)
	w.CopyFile("/init", self)
	for _, d := range []string{"/proc", "/sys", "/dev", "/run", "/tmp", "/var", "/var/tmp", "/etc", "/root", "/bin", "/sbin", "/usr/bin", "/usr/sbin"} {
		w.Dir(d)
	}
	w.Symlink("/var/run", "/run")
	// FRR's daemons drop to user frr and give their vty sockets to group
	// frrvty, as Debian's package sets them up; root is in frrvty so they
	// can also run as root (-u root -g root). FRR keeps crash logs in
	// /var/tmp/frr.
	w.File("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"+
		"frr:x:103:112:Frr routing suite:/nonexistent:/bin/false\n"))
	w.File("/etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\nfrr:x:112:\nfrrvty:x:111:frr,root\n"))
	w.Dir("/etc/frr")
	for _, f := range []string{"/etc/protocols", "/etc/services"} {
		if _, err := os.Stat(f); err == nil {
			w.CopyFile(f, f)
		}
	}
	for _, f := range tools {
		w.CopyFile(f, f)
	}
	if err := c.addModules(w); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	// The kernel looks for the next archive of a concatenated initramfs
	// only at a 4-byte boundary, skipping zero padding.
	if st, err := tmp.Stat(); err == nil && st.Size()%4 != 0 {
		tmp.Write(make([]byte, 4-st.Size()%4))
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	// Concurrent builders race harmlessly: rename is atomic.
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", err
	}
	pruneCache(c.CacheDir, out)
	return out, nil
}

// pruneCache removes base images unused for a day (each build of vmexec
// makes a new one), keeping keep.
func pruneCache(dir, keep string) {
	old, _ := filepath.Glob(filepath.Join(dir, "base-*.cpio.gz"))
	for _, f := range old {
		if st, err := os.Stat(f); err == nil && f != keep && time.Since(st.ModTime()) > 24*time.Hour {
			os.Remove(f)
		}
	}
}

var lddLine = regexp.MustCompile(`(/[^ ]+) \(0x`)

// toolFiles returns the tool binaries and every library they load.
func (c *Config) toolFiles() []string {
	seen := map[string]bool{}
	var files []string
	for _, t := range append(append([]string{}, DefaultTools...), c.Tools...) {
		p, err := exec.LookPath(t)
		if err != nil {
			continue
		}
		files = append(files, p)
		out, _ := exec.Command("ldd", p).Output()
		for _, m := range lddLine.FindAllStringSubmatch(string(out), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				files = append(files, m[1])
			}
		}
	}
	return files
}

// addModules copies the wanted module files, their dependency closure and
// the modules.* indexes busybox modprobe reads.
func (c *Config) addModules(w *cpioWriter) error {
	mroot := c.Kernel.Modules
	dep, err := os.ReadFile(filepath.Join(mroot, "modules.dep"))
	if err != nil {
		return err
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(string(dep), "\n") {
		mod, rest, ok := strings.Cut(line, ":")
		if ok {
			deps[mod] = strings.Fields(rest)
		}
	}
	want := map[string]bool{}
	var add func(string)
	add = func(m string) {
		if want[m] {
			return
		}
		want[m] = true
		for _, d := range deps[m] {
			add(d)
		}
	}
	for m := range deps {
		for _, d := range moduleDirs {
			if m == d || strings.HasPrefix(m, d+"/") {
				add(m)
			}
		}
	}
	guest := "/lib/modules/" + c.Kernel.Version
	for m := range want {
		w.CopyFile(guest+"/"+m, filepath.Join(mroot, m))
	}
	for _, f := range []string{"modules.dep", "modules.alias", "modules.symbols", "modules.builtin", "modules.order"} {
		if _, err := os.Stat(filepath.Join(mroot, f)); err == nil {
			w.CopyFile(guest+"/"+f, filepath.Join(mroot, f))
		}
	}
	return nil
}

// runSpec is what the host tells the guest init to run.
type runSpec struct {
	Args    []string
	Env     []string
	Dir     string
	Modules []string
}

// exitMarker ends the guest's output with the test binary's exit status.
const exitMarker = "LVSKIT-VM-EXIT:"

// Run boots the guest, runs binary with args in it (cwd dir, whose
// testdata directory is copied in) and streams its output to stdout. It
// returns the binary's exit status.
func Run(ctx context.Context, cfg Config, binary string, args []string, dir string, stdout io.Writer) (int, error) {
	if err := cfg.defaults(); err != nil {
		return 1, err
	}
	base, err := cfg.baseImage()
	if err != nil {
		return 1, fmt.Errorf("vmtest: build initramfs: %w", err)
	}
	work, err := os.MkdirTemp("", "lvskit-vm-*")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(work)
	initrd := filepath.Join(work, "initrd")
	if err := writeInitrd(initrd, base, binary, args, dir); err != nil {
		return 1, fmt.Errorf("vmtest: initramfs: %w", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = testTimeout(args) + 2*time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	console := filepath.Join(work, "console.log")
	qargs := []string{"-accel", "tcg"}
	if cfg.ICount {
		qargs = append(qargs, "-icount", "shift=0")
	}
	qargs = append(qargs, "-cpu", "max", "-m", strconv.Itoa(cfg.MemoryMB), "-smp", strconv.Itoa(cfg.CPUs),
		"-nodefaults", "-no-reboot", "-display", "none",
		"-kernel", cfg.Kernel.Image, "-initrd", initrd,
		"-append", "console=ttyS0 quiet panic=-1 rdinit=/init",
		"-serial", "file:"+console, "-serial", "stdio")
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", qargs...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdin = nil
	cmd.Stderr = os.Stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return 1, err
	}
	if err := cmd.Start(); err != nil {
		return 1, fmt.Errorf("vmtest: start qemu: %w", err)
	}
	code := -1
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, exitMarker); i >= 0 {
			if i > 0 {
				fmt.Fprintln(stdout, line[:i])
			}
			code, _ = strconv.Atoi(strings.TrimSpace(line[i+len(exitMarker):]))
			continue
		}
		fmt.Fprintln(stdout, line)
	}
	werr := cmd.Wait()
	if code < 0 {
		msg := "vmtest: guest ended without an exit status"
		if ctx.Err() != nil {
			msg = fmt.Sprintf("vmtest: guest timed out after %v", cfg.Timeout)
		}
		if tail, err := os.ReadFile(console); err == nil {
			if len(tail) > 4000 {
				tail = tail[len(tail)-4000:]
			}
			msg += "; guest console:\n" + string(tail)
		}
		return 1, fmt.Errorf("%s (qemu: %v)", msg, werr)
	}
	return code, nil
}

// writeInitrd concatenates the cached base archive with a small
// uncompressed one holding the test binary, its arguments and testdata; the
// kernel unpacks concatenated archives in order.
func writeInitrd(out, base, binary string, args []string, dir string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := os.Open(base)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, b)
	b.Close()
	if err != nil {
		return err
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "CI" || strings.HasPrefix(k, "LVSKIT_") || k == "GOTRACEBACK" || k == "GODEBUG" {
			env = append(env, kv)
		}
	}
	spec, _ := json.Marshal(runSpec{Args: args, Env: env, Dir: dir, Modules: EagerModules})
	w := newCPIO(f)
	w.CopyFile("/lvskit/test", binary)
	w.File("/lvskit/run.json", 0o644, spec)
	w.Dir(dir)
	td := filepath.Join(dir, "testdata")
	if st, err := os.Stat(td); err == nil && st.IsDir() {
		err := filepath.WalkDir(td, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				w.Dir(p)
				return nil
			}
			if d.Type().IsRegular() {
				w.CopyFile(p, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return w.Close()
}

// testTimeout extracts -test.timeout from the test binary's arguments.
func testTimeout(args []string) time.Duration {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-test.timeout="); ok {
			if d, err := time.ParseDuration(v); err == nil && d > 0 {
				return d
			}
		}
	}
	return 10 * time.Minute
}

// Main is the host side of vmexec: `vmexec BINARY ARGS...`, as used by
// `go test -exec`. It returns the process exit status.
func Main(argv []string) int {
	if len(argv) < 1 {
		fmt.Fprintln(os.Stderr, "usage: vmexec TEST-BINARY [ARGS...]  (go test -exec vmexec)")
		return 2
	}
	bin, err := filepath.Abs(argv[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, _ := os.Getwd()
	ctx, stop := signalContext()
	defer stop()
	code, err := Run(ctx, Config{}, bin, argv[1:], dir, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
