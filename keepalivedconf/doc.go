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
// on a later line. ParseFile and File.Expand apply what keepalived applies
// before it reads keywords: include (and includer, includem, includew,
// includeb, includea) with glob and brace patterns relative to the
// including file, @id and @^id conditional lines, $NAME=value definitions
// (multi-line with a trailing backslash) with recursive $NAME / ${NAME}
// substitution, the predefined ${_PWD}, ${_INSTANCE}, ${_HASH}, ${_BANG}
// and ${_ENV NAME}, and the ~SEQ, ~SEQx and ~LST line repetitions. Every
// expanded statement keeps the file:line:col it comes from.
//
// Diagnostics (ErrorList of Diagnostic) carry file:line:col and wrap
// ErrSyntax, ErrUnknownKeyword, ErrInvalid, ErrInclude or ErrLint. Config
// makes the range and consistency checks keepalived makes (a differential
// test compares accept/reject with `keepalived -t`); Config.Lint adds
// findings keepalived does not report. Unknown keywords are kept in the
// tree and reported as warnings.
package keepalivedconf
