package haproxy

// The keywords HAProxy 2.6.12 (Debian 12's build, with Lua, OpenSSL and
// the Prometheus exporter) does not call unknown as the first word of a
// line. They were found by writing every word of HAProxy's binary and of
// its configuration manual into a global and a listen section, each
// followed by a sentinel line, and keeping the words "haproxy -c" did not
// report as "unknown keyword"; TestKeywordsKnownToHAProxy checks them
// against the installed HAProxy. Removed keywords (reqadd, appsession...)
// are here: HAProxy names them in its error rather than calling them
// unknown.

// globalKeywords26 are the keywords of the global section.
var globalKeywords26 = wordSet(`
	busy-polling ca-base chroot close-spread-time cluster-secret cpu-map
	crt-base daemon default-path description expose-experimental-directives
	external-check fd-hard-limit gid grace group
	h1-accept-payload-with-any-method h1-case-adjust h1-case-adjust-file
	h2-workaround-bogus-websocket-clients hard-stop-after
	httpclient.resolvers.id httpclient.resolvers.prefer
	httpclient.ssl.ca-file httpclient.ssl.verify insecure-fork-wanted
	insecure-setuid-wanted issuers-chain-path localpeer log
	log-send-hostname log-tag lua-load lua-load-per-thread lua-prepend-path
	master-worker max-spread-checks maxcompcpuusage maxcomprate maxconn
	maxconnrate maxpipes maxsessrate maxsslconn maxsslrate maxzlibmem
	mworker-max-reloads nbproc nbthread no-memory-trimming node noepoll
	noevports nogetaddrinfo nokqueue nopoll noreuseport nosplice
	numa-cpu-mapping pidfile pp2-never-send-local presetenv profiling.tasks
	quiet resetenv server-state-base server-state-file set-dumpable set-var
	set-var-fmt setenv spread-checks ssl-default-bind-ciphers
	ssl-default-bind-ciphersuites ssl-default-bind-curves
	ssl-default-bind-options ssl-default-server-ciphers
	ssl-default-server-ciphersuites ssl-default-server-options
	ssl-dh-param-file ssl-load-extra-del-ext ssl-load-extra-files
	ssl-mode-async ssl-propquery ssl-provider ssl-provider-path
	ssl-server-verify ssl-skip-self-issued-ca stats strict-limits
	thread-group thread-groups tune.buffers.limit tune.buffers.reserve
	tune.bufsize tune.chksize tune.comp.maxlevel tune.fail-alloc
	tune.fd.edge-triggered tune.h2.header-table-size
	tune.h2.initial-window-size tune.h2.max-concurrent-streams
	tune.h2.max-frame-size tune.http.cookielen tune.http.logurilen
	tune.http.maxhdr tune.idle-pool.shared tune.idletimer
	tune.listener.multi-queue tune.lua.forced-yield tune.lua.maxmem
	tune.lua.service-timeout tune.lua.session-timeout tune.lua.task-timeout
	tune.maxaccept tune.maxpollevents tune.maxrewrite
	tune.pattern.cache-size tune.peers.max-updates-at-once tune.pipesize
	tune.pool-high-fd-ratio tune.pool-low-fd-ratio tune.rcvbuf.client
	tune.rcvbuf.server tune.recv_enough tune.runqueue-depth
	tune.sched.low-latency tune.sndbuf.client tune.sndbuf.server
	tune.ssl.cachesize tune.ssl.capture-buffer-size
	tune.ssl.capture-cipherlist-size tune.ssl.default-dh-param
	tune.ssl.force-private-cache tune.ssl.hard-maxrecord tune.ssl.keylog
	tune.ssl.lifetime tune.ssl.maxrecord tune.ssl.ssl-ctx-cache-size
	tune.vars.check-max-size tune.vars.global-max-size
	tune.vars.proc-max-size tune.vars.reqres-max-size
	tune.vars.sess-max-size tune.vars.txn-max-size uid ulimit-n unix-bind
	unsetenv user zero-warning
`)

// proxyKeywords26 are the keywords of defaults, frontend, backend and
// listen sections (HAProxy parses them all with one function).
var proxyKeywords26 = wordSet(`
	acl appsession backlog balance bind bind-process capture cliexp
	clitcpka-cnt clitcpka-idle clitcpka-intvl clitimeout compression
	contimeout cookie declare default-server default_backend description
	disabled dispatch dynamic-cookie-key email-alert enabled
	error-log-format errorfile errorfiles errorloc errorloc302 errorloc303
	external-check filter force-persist fullconn grace hash-balance-factor
	hash-type http-after-response http-check http-error http-request
	http-response http-reuse http-send-name-header id ignore-persist
	load-server-state-from-file log log-format log-format-sd log-tag
	max-keep-alive-queue max-session-srv-conns maxconn mode monitor
	monitor-net monitor-uri option persist rate-limit redirect redisp
	redispatch reqadd reqallow reqdel reqdeny reqiallow reqidel reqideny
	reqipass reqirep reqitarpit reqpass reqrep reqtarpit retries retry-on
	rspadd rspdel rspdeny rspidel rspideny rspirep rsprep server
	server-state-file-name server-template source srvexp srvtcpka-cnt
	srvtcpka-idle srvtcpka-intvl srvtimeout stats stick stick-table
	tcp-check tcp-request tcp-response timeout transparent unique-id-format
	unique-id-header use-fcgi-app use-server use_backend usesrc
`)
