// Package keepalivedconf is a lossless codec and typed model for
// keepalived.conf, with include handling, keepalived's macro and conditional
// expansion, validation and lint.
//
// It has two layers, like golang.org/x/mod/modfile:
//
//   - a syntax tree (Parse, File, Stmt, Block) that keeps every byte of the
//     source: an unmodified File formats back to exactly its input, and an
//     edit changes only the lines concerned;
//   - a typed view (File.Config) with global_defs, vrrp_script,
//     vrrp_track_file, vrrp_sync_group, vrrp_instance, virtual_server_group,
//     virtual_server, real_server and every checker, using net/netip types
//     and time.Duration. Each typed element keeps its statement, so typed
//     edits (VRRPInstance.SetPriority, VirtualServer.AddRealServer,
//     VRRPInstance.RemoveVIP...) go through the tree.
//
// The tree follows keepalived's lib/parser.c: '#' and '!' start comments
// outside double quotes (\# and \! escape them), '{' and '}' split a line
// wherever they stand outside quotes, and a block keyword may take its '{'
// on a later line. Lines of 1024 bytes or more are errors, as keepalived
// reads at most 1023 bytes per line.
//
// ParseFile reads a file and everything keepalived applies before it reads
// keywords: include (and includer, includem, includew, includeb, includea)
// with glob and brace patterns relative to the including file, @id and @^id
// conditional lines, $NAME=value definitions (multi-line with a trailing
// backslash) with recursive $NAME / ${NAME} substitution, the predefined
// ${_PWD}, ${_INSTANCE}, ${_HASH}, ${_BANG} and ${_ENV NAME}, and the ~SEQ,
// ~SEQx and ~LST line repetitions. So the simplest program,
//
//	f, err := keepalivedconf.ParseFile("/etc/keepalived/keepalived.conf")
//	cfg, err := f.Config()
//
// sees every virtual server, included or generated. Config on a File from
// Parse (which reads no files) applies definitions and conditionals and
// names each include it could not follow in its error. Every expanded
// statement keeps the file:line:col it comes from.
//
// A ParseConfig (nil: defaults) sets the config id (keepalived's -i), the
// environment for ${_ENV} and the Limits: file size, block nesting,
// include depth and counts, expanded lines and bytes, expansion steps and
// the number of errors returned. Only regular files are read. The limits
// make hostile input (a self-including file, a ~SEQ loop that writes
// nothing, millions of nested blocks, /dev/zero) an error naming its place
// instead of a hang, a stack overflow or an out-of-memory kill; every walk
// over the tree keeps its own stack.
//
// Errors follow lvskit's conventions: an ErrorList of Error, each with its
// Position (file:line:col), message and a sentinel (ErrSyntax,
// ErrUnknownKeyword, ErrInvalid, ErrInclude, ErrLimit, ErrTooManyErrors)
// for errors.Is. Config makes the range and consistency checks keepalived
// makes (a differential test compares accept/reject with `keepalived -t`)
// and returns as its error what keepalived rejects; what keepalived only
// reports (unknown keywords, with the nearest keyword as a hint, values it
// rounds or clears) is in Config.Warnings, apart from the error, and
// Config.Lint adds findings keepalived does not report. `keepalived -t`
// exits non-zero on errors and warnings alike. Enumerations are typed
// (Protocol with IANA numbers, LBKind, State, AuthType, Scope) and
// ScriptArgv splits script lines exactly as keepalived 2.2.7 does.
package keepalivedconf
