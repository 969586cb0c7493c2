// Package haproxy is a lossless codec and typed model for haproxy.cfg, with
// validation, and a client for HAProxy's runtime API.
//
// # Two layers
//
// Parse builds a lossless tree: a Config is a list of Sections (global,
// defaults, frontend, backend, listen, peers, resolvers, userlist, ...),
// each a header Line followed by its Lines. A Line keeps its exact text,
// its raw Words (quotes and escapes as written), its comment, and its kind
// (directive, blank, comment, section header, .if/.elif/.else/.endif,
// .diag/.notice/.warning/.alert). Format writes the tree back; an
// unmodified Config gives back the very bytes it was parsed from, and
// syntax errors are kept on their line for Validate rather than failing
// Parse.
//
// The typed view (Global, Proxy, Bind, Balance, HashType, Server, Log,
// timeouts as time.Duration, sizes) reads from the tree and edits it in
// place: an edit rewrites only the lines concerned, and within a server
// line only the settings that changed.
//
// # Words
//
// Words split exactly as HAProxy's tokenizer splits them: an unprotected
// '#' starts a comment; backslash escapes (\ , \#, \\, \', \", \t, \n,
// \r, \xNN); "weak" double quotes in which $VAR, ${VAR}, ${VAR-default}
// and ${VAR[*]} expand, and 'strong' single quotes; adjacent pieces join.
// Expansion is an explicit step: Word.Value and the typed model keep
// variable references as written, and Line.Args, Config.Args and Tokenize
// expand them from an Env you pass.
//
// # Reading files
//
// ParseFile reads a file and parses it. It reads regular files only (a
// FIFO would block, /dev/zero would never end; both are refused with
// their path and ErrNotRegular) and at most DefaultMaxFileSize bytes
// (ErrTooLarge); ParserConfig changes the limit and adds section
// keywords. HAProxy itself reads any file to its end.
//
// # Validation
//
// Config.Validate reports, at file:line:col, what HAProxy 2.6 rejects
// among: tokenizer errors (with HAProxy's messages and columns), NUL
// bytes, lines of more than 64 words, a last line without LF, keywords
// out of section or in the wrong section, misspelt section and common
// keywords, servers outside backends, bad times, modes, timeouts, log
// targets, balance and hash-type settings and server settings, characters
// HAProxy does not permit in proxy and server names, duplicate proxy and
// server names, undefined backends, defaults and ACLs, bad track targets,
// bind addresses without port, addresses on frontend lines and
// unbalanced .if blocks. It never rejects what HAProxy accepts: a
// differential test runs a corpus and random mutants of it through
// `haproxy -c`. ValidateEnv checks the values of lines using variables
// after expanding them.
//
// Config.Check also returns warnings, apart from the error: keywords
// HAProxy 2.6 does not know in the global, defaults, frontend, backend
// and listen sections. HAProxy 2.6 rejects them, but another version may
// know them, so they are not errors; they are never silent either.
// Errors and warnings are ErrorLists of Error values (Position, Msg, and
// the class in Err for errors.Is), each list capped at 100 findings, and
// text from the file is escaped (control characters as \xNN) and cut, so
// that a hostile file can neither flood nor drive a terminal.
//
// # Runtime API
//
// Runtime talks to the stats socket (unix or TCP) in interactive mode,
// keeping one connection for many commands: show info, show stat (rows
// typed by the CSV header), show servers state (typed OpState and
// AdminFlags), set server state / weight / addr / health / agent (typed
// AdminState, HealthState, AgentState; netip.AddrPort), enable / disable
// server, set maxconn server, add / del server, get weight. Arguments are
// escaped for HAProxy's command parser (';', spaces, '\'). The client
// asks HAProxy to mark its messages with their severity, so any refusal
// comes back as a *RuntimeError; replies are read up to
// RuntimeConfig.MaxReply bytes (ErrReplyTooLarge past it), so a socket
// that streams without end cannot grow memory. ParseWeight reads weights
// as HAProxy's "set weight" does (0 to 256, or a percentage of the
// initial weight).
package haproxy
