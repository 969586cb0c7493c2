package proc

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// CheckSecure applies keepalived's enable_script_security rule to the
// program name run as cred (nil: as this process). It returns an
// *InsecureError when the program would run with root's user or group (as
// cred, or because it is set-uid/set-gid root) and the program or any
// directory on its path (each prefix, from "/") is unsafe:
//   - owned by a user other than root, or
//   - writable by others, or by a group other than root's, unless it is a
//     directory with the sticky bit set.
//
// A bare name is looked up in PATH first, as keepalived does. Symbolic
// links are followed, as stat(2) does in keepalived.
func CheckSecure(name string, cred *Credential) error {
	path := name
	if !strings.Contains(name, "/") {
		p, err := exec.LookPath(name)
		if err != nil {
			return fmt.Errorf("proc: script %s: %w", name, err)
		}
		path = p
	}
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	if cred != nil {
		uid, gid = cred.UID, cred.GID
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fmt.Errorf("proc: script %s: %w", path, &os.PathError{Op: "stat", Path: path, Err: err})
	}
	asRoot := uid == 0 || gid == 0 ||
		(st.Uid == 0 && st.Mode&syscall.S_IXUSR != 0 && st.Mode&syscall.S_ISUID != 0) ||
		(st.Gid == 0 && st.Mode&syscall.S_IXGRP != 0 && st.Mode&syscall.S_ISGID != 0)
	if !asRoot {
		return nil
	}
	for _, p := range prefixes(path) {
		if err := syscall.Stat(p, &st); err != nil {
			return fmt.Errorf("proc: script %s: %w", path, &os.PathError{Op: "stat", Path: p, Err: err})
		}
		if why := unsafe(&st); why != "" {
			return &InsecureError{Script: path, Path: p, Reason: why}
		}
	}
	return nil
}

// prefixes returns "/" (for an absolute path), then each longer prefix of
// path ending before a slash, then path itself; runs of slashes count once.
func prefixes(path string) []string {
	var out []string
	if strings.HasPrefix(path, "/") {
		out = append(out, "/")
	}
	for i := 1; i < len(path); i++ {
		if path[i] == '/' && path[i-1] != '/' {
			out = append(out, path[:i])
		}
	}
	if !strings.HasSuffix(path, "/") {
		out = append(out, path)
	}
	return out
}

// unsafe is keepalived's per-component test; it returns why st is unsafe,
// or "".
func unsafe(st *syscall.Stat_t) string {
	if st.Uid != 0 {
		return fmt.Sprintf("is owned by uid %d, not root", st.Uid)
	}
	isDir := st.Mode&syscall.S_IFMT == syscall.S_IFDIR
	if isDir && st.Mode&syscall.S_ISVTX != 0 {
		return ""
	}
	if st.Mode&syscall.S_IWOTH != 0 {
		return "is writable by others"
	}
	if st.Gid != 0 && st.Mode&syscall.S_IWGRP != 0 {
		return fmt.Sprintf("is writable by group %d", st.Gid)
	}
	return ""
}
