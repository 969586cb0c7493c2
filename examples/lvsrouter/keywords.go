package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// This file is the one table of every keyword keepalived 2.2.7 knows
// (keepalivedconf.Keywords) and what lvsrouter does with it. There are two
// statuses and no third: a keyword is implemented, and the table names the
// test that shows its effect, or it is refused, and -t, start and reload
// fail on it with its file:line:col and "not supported by lvsrouter"
// (refuseKeywords). KEYWORDS.md is `lvsrouter -keywords`.

// keywordStatus is what lvsrouter does with a keyword: Test names the test
// that shows its effect (implemented), or Reason says why it is refused.
type keywordStatus struct {
	Test   string
	Reason string
}

// shownBy marks a keyword implemented, its effect shown by test.
func shownBy(test string) keywordStatus { return keywordStatus{Test: test} }

// refused marks a keyword refused, for reason.
func refused(reason string) keywordStatus { return keywordStatus{Reason: reason} }

// Implemented reports whether the keyword has an effect in lvsrouter.
func (s keywordStatus) Implemented() bool { return s.Test != "" }

// keywordRow is one (context, keyword) of the table. Context is
// keepalivedconf.Keywords's: "top", or the keyword opening the block.
type keywordRow struct {
	Context, Keyword string
	keywordStatus
}

// Reasons for refusing, shared by the rows they concern.
const (
	rSNMP            = "SNMP"
	rDBus            = "DBus"
	rProcess         = "process tuning (names, priorities, rlimits, CPU affinity, swapping) has no meaning for one Go process"
	rBuffers         = "socket buffer sizes are not configurable"
	rFirewall        = "lvsrouter writes no iptables/nftables rules for addresses"
	rMail            = "no mail is sent"
	rReload          = "reload is checked by the one load path; these reload settings are not implemented"
	rFIFOScript      = "FIFO scripts are not run"
	rLifecycleScript = "startup and shutdown scripts are not run"
	rLVS             = "IPVS sync daemon, timeouts and flushing are not configured"
	rGARP            = "gratuitous ARP/NA pacing is not configurable"
	rVMACAddr        = "per-address VMACs (use_vmac_addr, use_vmac on a VIP) are not supported"
	rNamespace       = "network namespaces and instance names: run lvsrouter inside the namespace instead"
	rLinkbeat        = "link state comes from netlink only"
	rSSLBlock        = "client certificates for SSL_GET are not supported"
	rDebug           = "per-instance debug levels are not supported"
	rIPVLAN          = "ipvlan interfaces are not supported"
	rVRF             = "VRFs are not supported"
	rLogAll          = "logging every check failure (not only state changes) is not implemented"
	rBindIf          = "checks cannot be bound to an interface"
	rCheckMark       = "checks cannot set a firewall mark"
	rNoBind          = "ICMP and DNS checks are not bound to a source address or port"
	rPingPort        = "ICMP has no port"
	rNotYet          = "not implemented"
	rHashed          = "keepalived ignores it too (the kernel sets the hashed flag itself)"
	rSNIPlain        = "HTTP_GET has no TLS, so no SNI (keepalived ignores it there too)"
	rFastRecovery    = "checks do not retry faster after a failure"
	rHTTPProtocol    = "HTTP checks always send HTTP/1.0 with Connection: close"
	rHostChecker     = "retry and timing settings go in the SMTP_CHECK block, not in a host block"
)

// keywordTable holds every keyword of keepalivedconf.Keywords once, by
// context (top and global_defs first, then the contexts in order) and
// keyword. TestKeywordTableCoversKeepalived keeps it complete;
// TestKeywordTableTests keeps its test names real; TestKeywordTableTruth
// checks that each refused keyword fails -t and each implemented one does
// not.
var keywordTable = []keywordRow{
	{"top", "SSL", refused(rSSLBlock)},
	{"top", "bfd_instance", shownBy("TestTranslateBFD")},
	{"top", "child_wait_time", refused(rProcess)},
	{"top", "garp_group", shownBy("TestGARPGroupLikeKeepalived")},
	{"top", "global_defs", shownBy("TestTranslateFeatures")},
	{"top", "instance", refused(rNamespace)},
	{"top", "interface_up_down_delays", refused(rNotYet)},
	{"top", "linkbeat_interfaces", refused(rLinkbeat)},
	{"top", "linkbeat_use_polling", refused(rLinkbeat)},
	{"top", "namespace_with_ipsets", refused(rNamespace)},
	{"top", "net_namespace", refused(rNamespace)},
	{"top", "net_namespace_ipvs", refused(rNamespace)},
	{"top", "static_ipaddress", shownBy("TestVRRPNetAgainstKeepalived")},
	{"top", "static_routes", shownBy("TestVRRPNetAgainstKeepalived")},
	{"top", "static_rules", shownBy("TestVRRPNetAgainstKeepalived")},
	{"top", "track_file", shownBy("TestKeywordEffects")},
	{"top", "track_group", refused(rNotYet)},
	{"top", "use_pid_dir", refused(rNamespace)},
	{"top", "virtual_server", shownBy("TestVMFeatures")},
	{"top", "virtual_server_group", shownBy("TestTranslateFeatures")},
	{"top", "vrrp_instance", shownBy("TestInteropKeepalived")},
	{"top", "vrrp_script", shownBy("TestTranslateFeatures")},
	{"top", "vrrp_sync_group", shownBy("TestTranslateFeatures")},
	{"top", "vrrp_track_file", shownBy("TestKeywordEffects")},
	{"top", "vrrp_track_process", shownBy("TestTrackProcess")},
	{"global_defs", "bfd_cpu_affinity", refused(rProcess)},
	{"global_defs", "bfd_no_swap", refused(rProcess)},
	{"global_defs", "bfd_priority", refused(rProcess)},
	{"global_defs", "bfd_process_name", refused(rProcess)},
	{"global_defs", "bfd_rlimit_rtime", refused(rProcess)},
	{"global_defs", "bfd_rlimit_rttime", refused(rProcess)},
	{"global_defs", "bfd_rt_priority", refused(rProcess)},
	{"global_defs", "checker_cpu_affinity", refused(rProcess)},
	{"global_defs", "checker_log_all_failures", refused(rNotYet)},
	{"global_defs", "checker_no_swap", refused(rProcess)},
	{"global_defs", "checker_priority", refused(rProcess)},
	{"global_defs", "checker_process_name", refused(rProcess)},
	{"global_defs", "checker_rlimit_rtime", refused(rProcess)},
	{"global_defs", "checker_rlimit_rttime", refused(rProcess)},
	{"global_defs", "checker_rt_priority", refused(rProcess)},
	{"global_defs", "config_save_dir", refused(rReload)},
	{"global_defs", "data_use_instance", refused(rNotYet)},
	{"global_defs", "dbus_service_name", refused(rDBus)},
	{"global_defs", "default_interface", refused(rNotYet)},
	{"global_defs", "disable_local_igmp", refused(rNotYet)},
	{"global_defs", "dynamic_interfaces", shownBy("TestDynamicInterfacesLikeKeepalived")},
	{"global_defs", "enable_dbus", refused(rDBus)},
	{"global_defs", "enable_script_security", shownBy("TestScriptSecurityMatchesKeepalived")},
	{"global_defs", "enable_snmp_checker", refused(rSNMP)},
	{"global_defs", "enable_snmp_keepalived", refused(rSNMP)},
	{"global_defs", "enable_snmp_rfc", refused(rSNMP)},
	{"global_defs", "enable_snmp_rfcv2", refused(rSNMP)},
	{"global_defs", "enable_snmp_rfcv3", refused(rSNMP)},
	{"global_defs", "enable_snmp_vrrp", refused(rSNMP)},
	{"global_defs", "enable_traps", refused(rNotYet)},
	{"global_defs", "fifo_write_vrrp_states_on_reload", refused(rNotYet)},
	{"global_defs", "include_check", refused(rReload)},
	{"global_defs", "log_unknown_vrids", refused(rNotYet)},
	{"global_defs", "lvs_flush", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"global_defs", "lvs_flush_on_stop", shownBy("TestTranslateLVSGlobals")},
	{"global_defs", "lvs_flush_onstop", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"global_defs", "lvs_netlink_cmd_rcv_bufs", refused(rBuffers)},
	{"global_defs", "lvs_netlink_cmd_rcv_bufs_force", refused(rBuffers)},
	{"global_defs", "lvs_netlink_monitor_rcv_bufs", refused(rBuffers)},
	{"global_defs", "lvs_netlink_monitor_rcv_bufs_force", refused(rBuffers)},
	{"global_defs", "lvs_notify_fifo", shownBy("TestNotifyFIFO")},
	{"global_defs", "lvs_notify_fifo_script", refused(rFIFOScript)},
	{"global_defs", "lvs_process_name", refused(rProcess)},
	{"global_defs", "lvs_sync_daemon", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"global_defs", "lvs_timeouts", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"global_defs", "max_auto_priority", refused(rProcess)},
	{"global_defs", "min_auto_priority_delay", refused(rProcess)},
	{"global_defs", "nftables", refused(rFirewall)},
	{"global_defs", "nftables_counters", refused(rFirewall)},
	{"global_defs", "nftables_ifindex", refused(rFirewall)},
	{"global_defs", "nftables_ipvs", refused(rFirewall)},
	{"global_defs", "nftables_ipvs_priority", refused(rProcess)},
	{"global_defs", "nftables_ipvs_start_fwmark", refused(rFirewall)},
	{"global_defs", "nftables_priority", refused(rProcess)},
	{"global_defs", "no_checker_emails", shownBy("TestNoCheckerEmails")},
	{"global_defs", "no_email_faults", shownBy("TestSMTPAlertRouter")},
	{"global_defs", "notification_email", shownBy("TestSMTPAlertLikeKeepalived")},
	{"global_defs", "notification_email_from", shownBy("TestSMTPAlertLikeKeepalived")},
	{"global_defs", "notify_fifo", shownBy("TestNotifyFIFO")},
	{"global_defs", "notify_fifo_script", refused(rFIFOScript)},
	{"global_defs", "process_monitor_rcv_bufs", refused(rBuffers)},
	{"global_defs", "process_monitor_rcv_bufs_force", refused(rBuffers)},
	{"global_defs", "process_name", refused(rProcess)},
	{"global_defs", "process_names", refused(rProcess)},
	{"global_defs", "random_seed", refused(rProcess)},
	{"global_defs", "reload_check_config", refused(rReload)},
	{"global_defs", "reload_file", refused(rReload)},
	{"global_defs", "reload_repeat", refused(rReload)},
	{"global_defs", "reload_time_file", refused(rReload)},
	{"global_defs", "router_id", shownBy("TestDumpDifferential")},
	{"global_defs", "rs_init_notifies", refused(rNotYet)},
	{"global_defs", "script_user", shownBy("TestScriptUserGroup")},
	{"global_defs", "shutdown_script", refused(rLifecycleScript)},
	{"global_defs", "shutdown_script_timeout", refused(rLifecycleScript)},
	{"global_defs", "smtp_alert", shownBy("TestSMTPAlertLikeKeepalived")},
	{"global_defs", "smtp_alert_checker", shownBy("TestTranslateMailPlan")},
	{"global_defs", "smtp_alert_vrrp", shownBy("TestTranslateMailPlan")},
	{"global_defs", "smtp_connect_timeout", shownBy("TestSMTPAlertLikeKeepalived")},
	{"global_defs", "smtp_helo_name", shownBy("TestTranslateMailPlan")},
	{"global_defs", "smtp_server", shownBy("TestSMTPAlertLikeKeepalived")},
	{"global_defs", "snmp_socket", refused(rSNMP)},
	{"global_defs", "startup_script", refused(rLifecycleScript)},
	{"global_defs", "startup_script_timeout", refused(rLifecycleScript)},
	{"global_defs", "tmp_config_directory", refused(rReload)},
	{"global_defs", "umask", refused(rProcess)},
	{"global_defs", "vmac_addr_prefix", refused(rVMACAddr)},
	{"global_defs", "vmac_prefix", shownBy("TestVRRPNetTranslation")},
	{"global_defs", "vrrp_check_unicast_src", shownBy("TestParseAndCheck")},
	{"global_defs", "vrrp_cpu_affinity", refused(rProcess)},
	{"global_defs", "vrrp_down_timer_adverts", shownBy("TestDownTimerAdvertsLikeKeepalived")},
	{"global_defs", "vrrp_garp_extra_if", shownBy("TestGARPExtraIfLikeKeepalived")},
	{"global_defs", "vrrp_garp_interval", shownBy("TestGARPPacingLikeKeepalived")},
	{"global_defs", "vrrp_garp_lower_prio_delay", shownBy("TestLowerPriorityGARPLikeKeepalived")},
	{"global_defs", "vrrp_garp_lower_prio_repeat", shownBy("TestLowerPriorityGARPLikeKeepalived")},
	{"global_defs", "vrrp_garp_master_delay", shownBy("TestGARPPacingLikeKeepalived")},
	{"global_defs", "vrrp_garp_master_refresh", shownBy("TestTranslateGARPSettings")},
	{"global_defs", "vrrp_garp_master_refresh_repeat", shownBy("TestTranslateGARPSettings")},
	{"global_defs", "vrrp_garp_master_repeat", shownBy("TestGARPPacingLikeKeepalived")},
	{"global_defs", "vrrp_gna_interval", shownBy("TestTranslateGARPInstanceAndGNA")},
	{"global_defs", "vrrp_higher_prio_send_advert", shownBy("TestTranslateAdvertBehaviour")},
	{"global_defs", "vrrp_iptables", refused(rFirewall)},
	{"global_defs", "vrrp_lower_prio_no_advert", shownBy("TestTranslateAdvertBehaviour")},
	{"global_defs", "vrrp_mcast_group4", shownBy("TestVRRPNetAgainstKeepalived")},
	{"global_defs", "vrrp_mcast_group6", shownBy("TestVRRPNetTranslation")},
	{"global_defs", "vrrp_min_garp", shownBy("TestTranslateGARPSettings")},
	{"global_defs", "vrrp_netlink_cmd_rcv_bufs", refused(rBuffers)},
	{"global_defs", "vrrp_netlink_cmd_rcv_bufs_force", refused(rBuffers)},
	{"global_defs", "vrrp_netlink_monitor_rcv_bufs", refused(rBuffers)},
	{"global_defs", "vrrp_netlink_monitor_rcv_bufs_force", refused(rBuffers)},
	{"global_defs", "vrrp_no_swap", refused(rProcess)},
	{"global_defs", "vrrp_notify_fifo", shownBy("TestNotifyFIFO")},
	{"global_defs", "vrrp_notify_fifo_script", refused(rFIFOScript)},
	{"global_defs", "vrrp_notify_priority_changes", shownBy("TestNotifyPriorityChangesLikeKeepalived")},
	{"global_defs", "vrrp_priority", refused(rProcess)},
	{"global_defs", "vrrp_process_name", refused(rProcess)},
	{"global_defs", "vrrp_rlimit_rtime", refused(rProcess)},
	{"global_defs", "vrrp_rlimit_rttime", refused(rProcess)},
	{"global_defs", "vrrp_rt_priority", refused(rProcess)},
	{"global_defs", "vrrp_rx_bufs_multiplier", refused(rBuffers)},
	{"global_defs", "vrrp_rx_bufs_policy", refused(rBuffers)},
	{"global_defs", "vrrp_skip_check_adv_addr", shownBy("TestVRRPNetTranslation")},
	{"global_defs", "vrrp_startup_delay", shownBy("TestStartupDelayLikeKeepalived")},
	{"global_defs", "vrrp_strict", shownBy("TestSettingsNotSilentlyIgnored")},
	{"global_defs", "vrrp_version", shownBy("TestKeywordEffects")},
	{"global_defs", "vrrp_vmac_garp_intvl", shownBy("TestTranslateGARPExtraIf")},
	{"BFD_CHECK", "alpha", refused(rNotYet)},
	{"BFD_CHECK", "name", shownBy("TestBFDTransitionsDriveRealServersAndTracks")},
	{"DNS_CHECK", "alpha", shownBy("TestKeywordEffects")},
	{"DNS_CHECK", "bind_if", refused(rBindIf)},
	{"DNS_CHECK", "bind_port", refused(rNoBind)},
	{"DNS_CHECK", "bindto", refused(rNoBind)},
	{"DNS_CHECK", "connect_ip", shownBy("TestKeywordEffects")},
	{"DNS_CHECK", "connect_port", shownBy("TestKeywordEffects")},
	{"DNS_CHECK", "connect_timeout", shownBy("TestKeywordEffects")},
	{"DNS_CHECK", "delay_before_retry", shownBy("TestKeywordEffects")},
	{"DNS_CHECK", "delay_loop", shownBy("TestKeywordEffects")},
	{"DNS_CHECK", "fwmark", refused(rCheckMark)},
	{"DNS_CHECK", "log_all_failures", refused(rLogAll)},
	{"DNS_CHECK", "name", shownBy("TestTranslateFeatures")},
	{"DNS_CHECK", "retry", shownBy("TestKeywordEffects")},
	{"DNS_CHECK", "type", shownBy("TestTranslateFeatures")},
	{"DNS_CHECK", "warmup", shownBy("TestKeywordEffects")},
	{"FILE_CHECK", "track_file", shownBy("TestKeywordEffects")},
	{"FILE_CHECK", "weight", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "alpha", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "bind_if", refused(rBindIf)},
	{"HTTP_GET", "bind_port", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "bindto", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "connect_ip", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "connect_port", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "connect_timeout", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "delay_before_retry", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "delay_loop", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "enable_sni", refused(rSNIPlain)},
	{"HTTP_GET", "fast_recovery", refused(rFastRecovery)},
	{"HTTP_GET", "fwmark", refused(rCheckMark)},
	{"HTTP_GET", "http_protocol", refused(rHTTPProtocol)},
	{"HTTP_GET", "log_all_failures", refused(rLogAll)},
	{"HTTP_GET", "nb_get_retry", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "retry", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "url", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "virtualhost", shownBy("TestKeywordEffects")},
	{"HTTP_GET", "warmup", shownBy("TestKeywordEffects")},
	{"MISC_CHECK", "alpha", shownBy("TestKeywordEffects")},
	{"MISC_CHECK", "delay_before_retry", shownBy("TestKeywordEffects")},
	{"MISC_CHECK", "delay_loop", shownBy("TestKeywordEffects")},
	{"MISC_CHECK", "log_all_failures", refused(rLogAll)},
	{"MISC_CHECK", "misc_dynamic", shownBy("TestKeywordEffects")},
	{"MISC_CHECK", "misc_path", shownBy("TestNotifyScripts")},
	{"MISC_CHECK", "misc_timeout", shownBy("TestKeywordEffects")},
	{"MISC_CHECK", "retry", shownBy("TestKeywordEffects")},
	{"MISC_CHECK", "user", shownBy("TestKeywordEffects")},
	{"MISC_CHECK", "warmup", shownBy("TestKeywordEffects")},
	{"PING_CHECK", "alpha", shownBy("TestKeywordEffects")},
	{"PING_CHECK", "bind_if", refused(rBindIf)},
	{"PING_CHECK", "bind_port", refused(rNoBind)},
	{"PING_CHECK", "bindto", refused(rNoBind)},
	{"PING_CHECK", "connect_ip", shownBy("TestKeywordEffects")},
	{"PING_CHECK", "connect_port", refused(rPingPort)},
	{"PING_CHECK", "connect_timeout", shownBy("TestKeywordEffects")},
	{"PING_CHECK", "delay_before_retry", shownBy("TestKeywordEffects")},
	{"PING_CHECK", "delay_loop", shownBy("TestKeywordEffects")},
	{"PING_CHECK", "fwmark", refused(rCheckMark)},
	{"PING_CHECK", "log_all_failures", refused(rLogAll)},
	{"PING_CHECK", "retry", shownBy("TestKeywordEffects")},
	{"PING_CHECK", "warmup", shownBy("TestKeywordEffects")},
	{"SMTP_CHECK", "alpha", shownBy("TestKeywordEffects")},
	{"SMTP_CHECK", "bind_if", refused(rBindIf)},
	{"SMTP_CHECK", "bind_port", shownBy("TestKeywordEffects")},
	{"SMTP_CHECK", "bindto", shownBy("TestKeywordEffects")},
	{"SMTP_CHECK", "connect_ip", shownBy("TestKeywordEffects")},
	{"SMTP_CHECK", "connect_port", shownBy("TestKeywordEffects")},
	{"SMTP_CHECK", "connect_timeout", shownBy("TestKeywordEffects")},
	{"SMTP_CHECK", "delay_before_retry", shownBy("TestKeywordEffects")},
	{"SMTP_CHECK", "delay_loop", shownBy("TestKeywordEffects")},
	{"SMTP_CHECK", "fwmark", refused(rCheckMark)},
	{"SMTP_CHECK", "helo_name", shownBy("TestKeywordEffects")},
	{"SMTP_CHECK", "host", shownBy("TestSMTPHostsEachChecked")},
	{"SMTP_CHECK", "log_all_failures", refused(rLogAll)},
	{"SMTP_CHECK", "retry", shownBy("TestKeywordEffects")},
	{"SMTP_CHECK", "warmup", shownBy("TestKeywordEffects")},
	{"SSL", "ca", refused(rSSLBlock)},
	{"SSL", "certificate", refused(rSSLBlock)},
	{"SSL", "key", refused(rSSLBlock)},
	{"SSL", "password", refused(rSSLBlock)},
	{"SSL_GET", "alpha", shownBy("TestKeywordEffects")},
	{"SSL_GET", "bind_if", refused(rBindIf)},
	{"SSL_GET", "bind_port", shownBy("TestKeywordEffects")},
	{"SSL_GET", "bindto", shownBy("TestKeywordEffects")},
	{"SSL_GET", "connect_ip", shownBy("TestKeywordEffects")},
	{"SSL_GET", "connect_port", shownBy("TestKeywordEffects")},
	{"SSL_GET", "connect_timeout", shownBy("TestKeywordEffects")},
	{"SSL_GET", "delay_before_retry", shownBy("TestKeywordEffects")},
	{"SSL_GET", "delay_loop", shownBy("TestKeywordEffects")},
	{"SSL_GET", "enable_sni", shownBy("TestSSLGetSendsSNIOnlyWithEnableSNI")},
	{"SSL_GET", "fast_recovery", refused(rFastRecovery)},
	{"SSL_GET", "fwmark", refused(rCheckMark)},
	{"SSL_GET", "http_protocol", refused(rHTTPProtocol)},
	{"SSL_GET", "log_all_failures", refused(rLogAll)},
	{"SSL_GET", "nb_get_retry", shownBy("TestKeywordEffects")},
	{"SSL_GET", "retry", shownBy("TestKeywordEffects")},
	{"SSL_GET", "url", shownBy("TestKeywordEffects")},
	{"SSL_GET", "virtualhost", shownBy("TestKeywordEffects")},
	{"SSL_GET", "warmup", shownBy("TestKeywordEffects")},
	{"TCP_CHECK", "alpha", shownBy("TestKeywordEffects")},
	{"TCP_CHECK", "bind_if", refused(rBindIf)},
	{"TCP_CHECK", "bind_port", shownBy("TestKeywordEffects")},
	{"TCP_CHECK", "bindto", shownBy("TestKeywordEffects")},
	{"TCP_CHECK", "connect_ip", shownBy("TestKeywordEffects")},
	{"TCP_CHECK", "connect_port", shownBy("TestKeywordEffects")},
	{"TCP_CHECK", "connect_timeout", shownBy("TestKeywordEffects")},
	{"TCP_CHECK", "delay_before_retry", shownBy("TestKeywordEffects")},
	{"TCP_CHECK", "delay_loop", shownBy("TestKeywordEffects")},
	{"TCP_CHECK", "fwmark", refused(rCheckMark)},
	{"TCP_CHECK", "log_all_failures", refused(rLogAll)},
	{"TCP_CHECK", "retry", shownBy("TestKeywordEffects")},
	{"TCP_CHECK", "warmup", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "alpha", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "bind_if", refused(rBindIf)},
	{"UDP_CHECK", "bind_port", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "bindto", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "connect_ip", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "connect_port", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "connect_timeout", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "delay_before_retry", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "delay_loop", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "fwmark", refused(rCheckMark)},
	{"UDP_CHECK", "log_all_failures", refused(rLogAll)},
	{"UDP_CHECK", "max_reply_length", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "min_reply_length", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "payload", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "require_reply", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "retry", shownBy("TestKeywordEffects")},
	{"UDP_CHECK", "warmup", shownBy("TestKeywordEffects")},
	{"authentication", "auth_pass", shownBy("TestInteropKeepalived")},
	{"authentication", "auth_type", shownBy("TestInteropKeepalived")},
	{"bfd_instance", "checker", shownBy("TestTranslateBFD")},
	{"bfd_instance", "hoplimit", shownBy("TestTranslateBFD")},
	{"bfd_instance", "idle_tx", shownBy("TestTranslateBFD")},
	{"bfd_instance", "max_hops", shownBy("TestTranslateBFD")},
	{"bfd_instance", "min_rx", shownBy("TestTranslateBFD")},
	{"bfd_instance", "min_tx", shownBy("TestTranslateBFD")},
	{"bfd_instance", "multiplier", shownBy("TestTranslateBFD")},
	{"bfd_instance", "neighbor_ip", shownBy("TestTranslateBFD")},
	{"bfd_instance", "neighbour_ip", shownBy("TestTranslateBFD")},
	{"bfd_instance", "passive", shownBy("TestTranslateBFD")},
	{"bfd_instance", "source_ip", shownBy("TestTranslateBFD")},
	{"bfd_instance", "ttl", shownBy("TestTranslateBFD")},
	{"bfd_instance", "vrrp", shownBy("TestTranslateBFD")},
	{"bfd_instance", "weight", shownBy("TestTranslateBFD")},
	{"garp_group", "garp_interval", shownBy("TestGARPGroupLikeKeepalived")},
	{"garp_group", "gna_interval", shownBy("TestTranslateGARPGroup")},
	{"garp_group", "interface", shownBy("TestGARPGroupLikeKeepalived")},
	{"garp_group", "interfaces", shownBy("TestTranslateGARPGroup")},
	{"host", "alpha", refused(rHostChecker)},
	{"host", "bind_if", refused(rBindIf)},
	{"host", "bind_port", shownBy("TestSMTPHostBind")},
	{"host", "bindto", shownBy("TestSMTPHostBind")},
	{"host", "connect_ip", shownBy("TestSMTPHostsEachChecked")},
	{"host", "connect_port", shownBy("TestSMTPHostsEachChecked")},
	{"host", "connect_timeout", shownBy("TestSMTPHostBind")},
	{"host", "delay_before_retry", refused(rHostChecker)},
	{"host", "delay_loop", refused(rHostChecker)},
	{"host", "fwmark", refused(rCheckMark)},
	{"host", "log_all_failures", refused(rLogAll)},
	{"host", "retry", refused(rHostChecker)},
	{"host", "warmup", refused(rHostChecker)},
	{"real_server", "BFD_CHECK", shownBy("TestBFDTransitionsDriveRealServersAndTracks")},
	{"real_server", "DNS_CHECK", shownBy("TestTranslateFeatures")},
	{"real_server", "FILE_CHECK", shownBy("TestKeywordEffects")},
	{"real_server", "HTTP_GET", shownBy("TestAllURLs")},
	{"real_server", "MISC_CHECK", shownBy("TestNotifyScripts")},
	{"real_server", "PING_CHECK", shownBy("TestKeywordEffects")},
	{"real_server", "SMTP_CHECK", shownBy("TestKeywordEffects")},
	{"real_server", "SSL_GET", shownBy("TestTranslateFeatures")},
	{"real_server", "TCP_CHECK", shownBy("TestVMFeatures")},
	{"real_server", "UDP_CHECK", shownBy("TestKeywordEffects")},
	{"real_server", "alpha", shownBy("TestKeywordEffects")},
	{"real_server", "connect_timeout", shownBy("TestKeywordEffects")},
	{"real_server", "delay_before_retry", shownBy("TestKeywordEffects")},
	{"real_server", "delay_loop", shownBy("TestKeywordEffects")},
	{"real_server", "inhibit_on_failure", shownBy("TestTranslateFeatures")},
	{"real_server", "lthreshold", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"real_server", "lvs_method", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"real_server", "notify_down", shownBy("TestTranslateFeatures")},
	{"real_server", "notify_up", shownBy("TestTranslateFeatures")},
	{"real_server", "retry", shownBy("TestKeywordEffects")},
	{"real_server", "smtp_alert", shownBy("TestVMSMTPAlertRealServer")},
	{"real_server", "snmp_name", refused(rSNMP)},
	{"real_server", "uthreshold", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"real_server", "virtualhost", shownBy("TestKeywordEffects")},
	{"real_server", "warmup", shownBy("TestKeywordEffects")},
	{"real_server", "weight", shownBy("TestTranslateFeatures")},
	{"track_file", "file", shownBy("TestKeywordEffects")},
	{"track_file", "init_file", refused(rNotYet)},
	{"track_file", "weight", shownBy("TestKeywordEffects")},
	{"track_group", "group", refused(rNotYet)},
	{"url", "digest", shownBy("TestKeywordEffects")},
	{"url", "path", shownBy("TestKeywordEffects")},
	{"url", "regex", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"url", "regex_max_offset", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"url", "regex_min_offset", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"url", "regex_no_match", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"url", "regex_options", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"url", "regex_stack", shownBy("TestTranslateURLRegexStack")},
	{"url", "status_code", shownBy("TestKeywordEffects")},
	{"url", "virtualhost", shownBy("TestKeywordEffects")},
	{"virtual_server", "alpha", shownBy("TestTranslateFeatures")},
	{"virtual_server", "connect_timeout", shownBy("TestKeywordEffects")},
	{"virtual_server", "delay_before_retry", shownBy("TestKeywordEffects")},
	{"virtual_server", "delay_loop", shownBy("TestKeywordEffects")},
	{"virtual_server", "flag-1", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"virtual_server", "flag-2", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"virtual_server", "flag-3", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"virtual_server", "ha_suspend", shownBy("TestVMHASuspendMatchesKeepalived")},
	{"virtual_server", "hashed", refused(rHashed)},
	{"virtual_server", "hysteresis", shownBy("TestTranslateFeatures")},
	{"virtual_server", "inhibit_on_failure", shownBy("TestVMFeatures")},
	{"virtual_server", "ip_family", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"virtual_server", "lb_algo", shownBy("TestVMFeatures")},
	{"virtual_server", "lb_kind", shownBy("TestVMFeatures")},
	{"virtual_server", "lvs_method", shownBy("TestKeywordEffects")},
	{"virtual_server", "lvs_sched", shownBy("TestKeywordEffects")},
	{"virtual_server", "mh-fallback", shownBy("TestMHFlags")},
	{"virtual_server", "mh-port", shownBy("TestMHFlags")},
	{"virtual_server", "omega", shownBy("TestTranslateFeatures")},
	{"virtual_server", "ops", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"virtual_server", "persistence_engine", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"virtual_server", "persistence_granularity", shownBy("TestGranularity")},
	{"virtual_server", "persistence_timeout", shownBy("TestVMFeatures")},
	{"virtual_server", "protocol", shownBy("TestVMFeatures")},
	{"virtual_server", "quorum", shownBy("TestTranslateFeatures")},
	{"virtual_server", "quorum_down", shownBy("TestTranslateFeatures")},
	{"virtual_server", "quorum_up", shownBy("TestTranslateFeatures")},
	{"virtual_server", "real_server", shownBy("TestVMFeatures")},
	{"virtual_server", "retry", shownBy("TestKeywordEffects")},
	{"virtual_server", "sh-fallback", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"virtual_server", "sh-port", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"virtual_server", "smtp_alert", shownBy("TestSMTPAlertQuorumLikeKeepalived")},
	{"virtual_server", "snmp_name", refused(rSNMP)},
	{"virtual_server", "sorry_server", shownBy("TestVMFeatures")},
	{"virtual_server", "sorry_server_inhibit", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"virtual_server", "sorry_server_lvs_method", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"virtual_server", "virtualhost", shownBy("TestKeywordEffects")},
	{"virtual_server", "warmup", shownBy("TestKeywordEffects")},
	{"virtual_server", "weight", shownBy("TestVMLVSKeywordsMatchKeepalived")},
	{"vrrp_instance", "accept", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "advert_int", shownBy("TestInteropKeepalived")},
	{"vrrp_instance", "authentication", shownBy("TestInteropKeepalived")},
	{"vrrp_instance", "check_unicast_src", shownBy("TestParseAndCheck")},
	{"vrrp_instance", "debug", refused(rDebug)},
	{"vrrp_instance", "dont_track_primary", shownBy("TestDontTrackPrimaryLikeKeepalived")},
	{"vrrp_instance", "down_timer_adverts", shownBy("TestDownTimerAdvertsLikeKeepalived")},
	{"vrrp_instance", "garp_extra_if", shownBy("TestGARPExtraIfLikeKeepalived")},
	{"vrrp_instance", "garp_lower_prio_delay", shownBy("TestTranslateGARPInstanceAndGNA")},
	{"vrrp_instance", "garp_lower_prio_repeat", shownBy("TestTranslateGARPInstanceAndGNA")},
	{"vrrp_instance", "garp_master_delay", shownBy("TestTranslateGARPSettings")},
	{"vrrp_instance", "garp_master_refresh", shownBy("TestTranslateGARPInstanceAndGNA")},
	{"vrrp_instance", "garp_master_refresh_repeat", shownBy("TestTranslateGARPInstanceAndGNA")},
	{"vrrp_instance", "garp_master_repeat", shownBy("TestTranslateGARPSettings")},
	{"vrrp_instance", "higher_prio_send_advert", shownBy("TestTranslateAdvertBehaviour")},
	{"vrrp_instance", "interface", shownBy("TestInteropKeepalived")},
	{"vrrp_instance", "kernel_rx_buf_size", refused(rBuffers)},
	{"vrrp_instance", "linkbeat_use_polling", refused(rLinkbeat)},
	{"vrrp_instance", "lower_prio_no_advert", shownBy("TestTranslateAdvertBehaviour")},
	{"vrrp_instance", "lvs_sync_daemon_interface", shownBy("TestDeprecatedInstanceSyncDaemonInterface")},
	{"vrrp_instance", "mcast_dst_ip", shownBy("TestVRRPNetTranslation")},
	{"vrrp_instance", "mcast_src_ip", shownBy("TestVRRPNetAgainstKeepalived")},
	{"vrrp_instance", "native_ipv6", refused(rNotYet)},
	{"vrrp_instance", "no_accept", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "nopreempt", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "notify", shownBy("TestTranslateFeatures")},
	{"vrrp_instance", "notify_backup", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "notify_deleted", refused(rNotYet)},
	{"vrrp_instance", "notify_fault", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "notify_master", shownBy("TestTranslateFeatures")},
	{"vrrp_instance", "notify_master_rx_lower_pri", refused(rNotYet)},
	{"vrrp_instance", "notify_priority_changes", shownBy("TestNotifyPriorityChangesLikeKeepalived")},
	{"vrrp_instance", "notify_stop", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "old_unicast_checksum", refused(rNotYet)},
	{"vrrp_instance", "preempt", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "preempt_delay", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "priority", shownBy("TestInteropKeepalived")},
	{"vrrp_instance", "promote_secondaries", refused(rNotYet)},
	{"vrrp_instance", "skip_check_adv_addr", shownBy("TestSkipCheckAdvAddrAgainstKeepalived")},
	{"vrrp_instance", "smtp_alert", shownBy("TestSMTPAlertLikeKeepalived")},
	{"vrrp_instance", "state", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "strict_mode", refused(rNotYet)},
	{"vrrp_instance", "track_bfd", shownBy("TestBFDTrackTakeoverAgainstKeepalived")},
	{"vrrp_instance", "track_file", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "track_interface", shownBy("TestTranslateFeatures")},
	{"vrrp_instance", "track_process", shownBy("TestTrackProcess")},
	{"vrrp_instance", "track_script", shownBy("TestTranslateFeatures")},
	{"vrrp_instance", "track_src_ip", shownBy("TestTrackSrcIPLikeKeepalived")},
	{"vrrp_instance", "unicast_fault_no_peer", refused(rNotYet)},
	{"vrrp_instance", "unicast_peer", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "unicast_src_ip", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "unicast_ttl", refused(rNotYet)},
	{"vrrp_instance", "use_ipvlan", refused(rIPVLAN)},
	{"vrrp_instance", "use_vmac", shownBy("TestVRRPNetAgainstKeepalived")},
	{"vrrp_instance", "use_vmac_addr", refused(rNotYet)},
	{"vrrp_instance", "version", shownBy("TestKeywordEffects")},
	{"vrrp_instance", "virtual_ipaddress", shownBy("TestInteropKeepalived")},
	{"vrrp_instance", "virtual_ipaddress_excluded", shownBy("TestVRRPNetAgainstKeepalived")},
	{"vrrp_instance", "virtual_router_id", shownBy("TestInteropKeepalived")},
	{"vrrp_instance", "virtual_routes", shownBy("TestVRRPNetAgainstKeepalived")},
	{"vrrp_instance", "virtual_rules", shownBy("TestVRRPNetAgainstKeepalived")},
	{"vrrp_instance", "vmac_xmit_base", shownBy("TestVMACXmitBaseAgainstKeepalived")},
	{"vrrp_instance", "vrf", refused(rVRF)},
	{"vrrp_script", "fall", shownBy("TestTranslateFeatures")},
	{"vrrp_script", "init_fail", refused(rNotYet)},
	{"vrrp_script", "interval", shownBy("TestTranslateFeatures")},
	{"vrrp_script", "rise", shownBy("TestTranslateFeatures")},
	{"vrrp_script", "script", shownBy("TestTranslateFeatures")},
	{"vrrp_script", "timeout", shownBy("TestKeywordEffects")},
	{"vrrp_script", "user", shownBy("TestKeywordEffects")},
	{"vrrp_script", "weight", shownBy("TestTranslateFeatures")},
	{"vrrp_sync_group", "global_tracking", refused(rNotYet)},
	{"vrrp_sync_group", "group", shownBy("TestTranslateFeatures")},
	{"vrrp_sync_group", "notify", shownBy("TestSyncGroupNotifyLikeKeepalived")},
	{"vrrp_sync_group", "notify_backup", shownBy("TestSyncGroupNotifyLikeKeepalived")},
	{"vrrp_sync_group", "notify_fault", shownBy("TestSyncGroupNotifyLikeKeepalived")},
	{"vrrp_sync_group", "notify_master", shownBy("TestSyncGroupNotifyLikeKeepalived")},
	{"vrrp_sync_group", "notify_priority_changes", shownBy("TestTranslateNotifyPriorityChanges")},
	{"vrrp_sync_group", "notify_stop", shownBy("TestSyncGroupNotifyLikeKeepalived")},
	{"vrrp_sync_group", "smtp_alert", shownBy("TestSMTPAlertLikeKeepalived")},
	{"vrrp_sync_group", "sync_group_tracking_weight", refused(rNotYet)},
	{"vrrp_sync_group", "track_bfd", refused(rNotYet)},
	{"vrrp_sync_group", "track_file", refused(rNotYet)},
	{"vrrp_sync_group", "track_interface", refused(rNotYet)},
	{"vrrp_sync_group", "track_process", refused(rNotYet)},
	{"vrrp_sync_group", "track_script", refused(rNotYet)},
	{"vrrp_track_process", "delay", refused(rNotYet)},
	{"vrrp_track_process", "fork_delay", refused(rNotYet)},
	{"vrrp_track_process", "full_command", shownBy("TestTranslateTrackProcess")},
	{"vrrp_track_process", "param_match", shownBy("TestTranslateTrackProcess")},
	{"vrrp_track_process", "process", shownBy("TestTrackProcess")},
	{"vrrp_track_process", "quorum", shownBy("TestTranslateTrackProcess")},
	{"vrrp_track_process", "quorum_max", shownBy("TestTranslateTrackProcess")},
	{"vrrp_track_process", "terminate_delay", refused(rNotYet)},
	{"vrrp_track_process", "weight", shownBy("TestTrackProcess")},
}

// keywordIndex finds a row by context, then keyword.
var keywordIndex = func() map[string]map[string]keywordStatus {
	m := map[string]map[string]keywordStatus{}
	for _, r := range keywordTable {
		if m[r.Context] == nil {
			m[r.Context] = map[string]keywordStatus{}
		}
		m[r.Context][r.Keyword] = r.keywordStatus
	}
	return m
}()

// lookupKeyword returns the status of keyword in context; ok is false for
// a keyword keepalived does not know there (keepalivedconf warns).
func lookupKeyword(context, keyword string) (keywordStatus, bool) {
	s, ok := keywordIndex[context][keyword]
	return s, ok
}

// writeKeywords prints the table as Markdown: lvsrouter -keywords, and
// KEYWORDS.md.
func writeKeywords(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# keepalived.conf keywords in lvsrouter\n\n")
	b.WriteString("Generated by `lvsrouter -keywords` from examples/lvsrouter/keywords.go; do not edit.\n")
	b.WriteString("Every keyword keepalived 2.2.7 knows is either implemented, with the test that shows its effect,\n")
	b.WriteString("or refused: `lvsrouter -t`, start and reload fail on it with its file:line:col and \"not supported by lvsrouter\".\n\n")
	impl, ref := 0, 0
	counts := map[string][2]int{}
	for _, r := range keywordTable {
		c := counts[r.Context]
		if r.Implemented() {
			c[0]++
			impl++
		} else {
			c[1]++
			ref++
		}
		counts[r.Context] = c
	}
	fmt.Fprintf(&b, "%d keywords: %d implemented, %d refused.\n\n", impl+ref, impl, ref)
	b.WriteString("| context | implemented | refused |\n|---|---|---|\n")
	for _, c := range keywordContexts() {
		fmt.Fprintf(&b, "| %s | %d | %d |\n", c, counts[c][0], counts[c][1])
	}
	b.WriteString("\n| context | keyword | status | shown by / reason |\n|---|---|---|---|\n")
	for _, r := range keywordTable {
		if r.Implemented() {
			fmt.Fprintf(&b, "| %s | `%s` | implemented | `%s` |\n", r.Context, r.Keyword, r.Test)
		} else {
			fmt.Fprintf(&b, "| %s | `%s` | refused | %s |\n", r.Context, r.Keyword, r.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// keywordContexts lists the table's contexts in table order.
func keywordContexts() []string {
	var out []string
	for _, r := range keywordTable {
		if !slices.Contains(out, r.Context) {
			out = append(out, r.Context)
		}
	}
	return out
}
