package keepalivedconf

import "sort"

// Keywords keepalived 2.2.7 knows in each context: a keyword outside its
// context's set (and not read by the typed view) is reported as unknown, as
// keepalived does. The sets were measured, not copied: `keepalived -t` ran on
// a configuration holding one candidate word in one context, for every word
// of the keepalived binary's strings and of keepalived.conf(5) that looks
// like a keyword, and in every context listed here; a word is known when
// keepalived does not answer "Unknown keyword".
var (
	topKeywords = set(
		"SSL", "bfd_instance", "child_wait_time", "garp_group", "global_defs", "instance",
		"interface_up_down_delays", "linkbeat_interfaces", "linkbeat_use_polling",
		"namespace_with_ipsets", "net_namespace", "net_namespace_ipvs", "static_ipaddress",
		"static_routes", "static_rules", "track_file", "track_group", "use_pid_dir", "virtual_server",
		"virtual_server_group", "vrrp_instance", "vrrp_script", "vrrp_sync_group", "vrrp_track_file",
		"vrrp_track_process")
	globalKeywords = set(
		"bfd_cpu_affinity", "bfd_no_swap", "bfd_priority", "bfd_process_name", "bfd_rlimit_rtime",
		"bfd_rlimit_rttime", "bfd_rt_priority", "checker_cpu_affinity", "checker_log_all_failures",
		"checker_no_swap", "checker_priority", "checker_process_name", "checker_rlimit_rtime",
		"checker_rlimit_rttime", "checker_rt_priority", "config_save_dir", "data_use_instance",
		"dbus_service_name", "default_interface", "disable_local_igmp", "dynamic_interfaces",
		"enable_dbus", "enable_script_security", "enable_snmp_checker", "enable_snmp_keepalived",
		"enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_snmp_vrrp", "enable_traps",
		"fifo_write_vrrp_states_on_reload", "include_check", "log_unknown_vrids", "lvs_flush",
		"lvs_flush_on_stop", "lvs_flush_onstop", "lvs_netlink_cmd_rcv_bufs",
		"lvs_netlink_cmd_rcv_bufs_force", "lvs_netlink_monitor_rcv_bufs",
		"lvs_netlink_monitor_rcv_bufs_force", "lvs_notify_fifo", "lvs_notify_fifo_script",
		"lvs_process_name", "lvs_sync_daemon", "lvs_timeouts", "max_auto_priority",
		"min_auto_priority_delay", "nftables", "nftables_counters", "nftables_ifindex", "nftables_ipvs",
		"nftables_ipvs_priority", "nftables_ipvs_start_fwmark", "nftables_priority", "no_checker_emails",
		"no_email_faults", "notification_email", "notification_email_from", "notify_fifo",
		"notify_fifo_script", "process_monitor_rcv_bufs", "process_monitor_rcv_bufs_force",
		"process_name", "process_names", "random_seed", "reload_check_config", "reload_file",
		"reload_repeat", "reload_time_file", "router_id", "rs_init_notifies", "script_user",
		"shutdown_script", "shutdown_script_timeout", "smtp_alert", "smtp_alert_checker",
		"smtp_alert_vrrp", "smtp_connect_timeout", "smtp_helo_name", "smtp_server", "snmp_socket",
		"startup_script", "startup_script_timeout", "tmp_config_directory", "umask", "vmac_addr_prefix",
		"vmac_prefix", "vrrp_check_unicast_src", "vrrp_cpu_affinity", "vrrp_down_timer_adverts",
		"vrrp_garp_extra_if", "vrrp_garp_interval", "vrrp_garp_lower_prio_delay",
		"vrrp_garp_lower_prio_repeat", "vrrp_garp_master_delay", "vrrp_garp_master_refresh",
		"vrrp_garp_master_refresh_repeat", "vrrp_garp_master_repeat", "vrrp_gna_interval",
		"vrrp_higher_prio_send_advert", "vrrp_iptables", "vrrp_lower_prio_no_advert",
		"vrrp_mcast_group4", "vrrp_mcast_group6", "vrrp_min_garp", "vrrp_netlink_cmd_rcv_bufs",
		"vrrp_netlink_cmd_rcv_bufs_force", "vrrp_netlink_monitor_rcv_bufs",
		"vrrp_netlink_monitor_rcv_bufs_force", "vrrp_no_swap", "vrrp_notify_fifo",
		"vrrp_notify_fifo_script", "vrrp_notify_priority_changes", "vrrp_priority", "vrrp_process_name",
		"vrrp_rlimit_rtime", "vrrp_rlimit_rttime", "vrrp_rt_priority", "vrrp_rx_bufs_multiplier",
		"vrrp_rx_bufs_policy", "vrrp_skip_check_adv_addr", "vrrp_startup_delay", "vrrp_strict",
		"vrrp_version", "vrrp_vmac_garp_intvl")
	instanceKeywords = set(
		"accept", "advert_int", "authentication", "check_unicast_src", "debug", "dont_track_primary",
		"down_timer_adverts", "garp_extra_if", "garp_lower_prio_delay", "garp_lower_prio_repeat",
		"garp_master_delay", "garp_master_refresh", "garp_master_refresh_repeat", "garp_master_repeat",
		"higher_prio_send_advert", "interface", "kernel_rx_buf_size", "linkbeat_use_polling",
		"lower_prio_no_advert", "lvs_sync_daemon_interface", "mcast_dst_ip", "mcast_src_ip",
		"native_ipv6", "no_accept", "nopreempt", "notify", "notify_backup", "notify_deleted",
		"notify_fault", "notify_master", "notify_master_rx_lower_pri", "notify_priority_changes",
		"notify_stop", "old_unicast_checksum", "preempt", "preempt_delay", "priority",
		"promote_secondaries", "skip_check_adv_addr", "smtp_alert", "state", "strict_mode", "track_bfd",
		"track_file", "track_interface", "track_process", "track_script", "track_src_ip",
		"unicast_fault_no_peer", "unicast_peer", "unicast_src_ip", "unicast_ttl", "use_ipvlan",
		"use_vmac", "use_vmac_addr", "version", "virtual_ipaddress", "virtual_ipaddress_excluded",
		"virtual_router_id", "virtual_routes", "virtual_rules", "vmac_xmit_base", "vrf")
	scriptKeywords = set(
		"fall", "init_fail", "interval", "rise", "script", "timeout", "user", "weight")
	syncGroupKeywords = set(
		"global_tracking", "group", "notify", "notify_backup", "notify_fault", "notify_master",
		"notify_priority_changes", "notify_stop", "smtp_alert", "sync_group_tracking_weight",
		"track_bfd", "track_file", "track_interface", "track_process", "track_script")
	vsKeywords = set(
		"alpha", "connect_timeout", "delay_before_retry", "delay_loop", "flag-1", "flag-2", "flag-3",
		"ha_suspend", "hashed", "hysteresis", "inhibit_on_failure", "ip_family", "lb_algo", "lb_kind",
		"lvs_method", "lvs_sched", "mh-fallback", "mh-port", "omega", "ops", "persistence_engine",
		"persistence_granularity", "persistence_timeout", "protocol", "quorum", "quorum_down",
		"quorum_up", "real_server", "retry", "sh-fallback", "sh-port", "smtp_alert", "snmp_name",
		"sorry_server", "sorry_server_inhibit", "sorry_server_lvs_method", "virtualhost", "warmup",
		"weight")
	rsKeywords = set(
		"BFD_CHECK", "DNS_CHECK", "FILE_CHECK", "HTTP_GET", "MISC_CHECK", "PING_CHECK", "SMTP_CHECK",
		"SSL_GET", "TCP_CHECK", "UDP_CHECK", "alpha", "connect_timeout", "delay_before_retry",
		"delay_loop", "inhibit_on_failure", "lthreshold", "lvs_method", "notify_down", "notify_up",
		"retry", "smtp_alert", "snmp_name", "uthreshold", "virtualhost", "warmup", "weight")
	tcpCheckKeywords = set(
		"alpha", "bind_if", "bind_port", "bindto", "connect_ip", "connect_port", "connect_timeout",
		"delay_before_retry", "delay_loop", "fwmark", "log_all_failures", "retry", "warmup")
	httpCheckKeywords = set(
		"alpha", "bind_if", "bind_port", "bindto", "connect_ip", "connect_port", "connect_timeout",
		"delay_before_retry", "delay_loop", "enable_sni", "fast_recovery", "fwmark", "http_protocol",
		"log_all_failures", "nb_get_retry", "retry", "url", "virtualhost", "warmup")
	urlKeywords = set(
		"digest", "path", "regex", "regex_max_offset", "regex_min_offset", "regex_no_match",
		"regex_options", "regex_stack", "status_code", "virtualhost")
	miscCheckKeywords = set(
		"alpha", "delay_before_retry", "delay_loop", "log_all_failures", "misc_dynamic", "misc_path",
		"misc_timeout", "retry", "user", "warmup")
)

// Keywords of the blocks inside those contexts, and of the top-level
// blocks whose bodies the typed view does not decode. They are keepalived
// 2.2.7's install_keyword calls for each block (keepalived/check,
// keepalived/vrrp, keepalived/trackers); the checkers share the
// connection keywords of TCP_CHECK (install_checker_common_keywords).
var (
	authKeywords         = set("auth_pass", "auth_type")
	trackFileKeywords    = set("file", "init_file", "weight")
	trackGroupKeywords   = set("group")
	trackProcessKeywords = set("delay", "fork_delay", "full_command", "param_match", "process", "quorum",
		"quorum_max", "terminate_delay", "weight")
	garpGroupKeywords = set("garp_interval", "gna_interval", "interface", "interfaces")
	sslKeywords       = set("ca", "certificate", "key", "password")
	smtpCheckKeywords = union(tcpCheckKeywords, set("helo_name", "host"))
	dnsCheckKeywords  = union(tcpCheckKeywords, set("name", "type"))
	udpCheckKeywords  = union(tcpCheckKeywords, set("max_reply_length", "min_reply_length", "payload", "require_reply"))
	fileCheckKeywords = set("track_file", "weight")
	bfdCheckKeywords  = set("alpha", "name")
)

func union(sets ...map[string]bool) map[string]bool {
	u := map[string]bool{}
	for _, s := range sets {
		for k := range s {
			u[k] = true
		}
	}
	return u
}

// Keywords returns the keywords keepalived 2.2.7 knows, sorted, for each
// context: "top" for the top level, else the keyword that opens the block
// ("global_defs", "vrrp_instance", "real_server", "TCP_CHECK"...), with
// "url" (of HTTP_GET and SSL_GET), "host" (of SMTP_CHECK) and
// "authentication" (of vrrp_instance) for the nested blocks. track_file
// and its deprecated synonym vrrp_track_file share the context
// "track_file". Blocks that hold values rather than keywords
// (virtual_ipaddress, static_routes, virtual_server_group...) have no
// context. Each call returns a new map.
func Keywords() map[string][]string {
	sets := map[string]map[string]bool{
		"top": topKeywords, "global_defs": globalKeywords, "vrrp_instance": instanceKeywords,
		"authentication": authKeywords, "vrrp_script": scriptKeywords, "vrrp_sync_group": syncGroupKeywords,
		"track_file": trackFileKeywords, "track_group": trackGroupKeywords,
		"vrrp_track_process": trackProcessKeywords, "garp_group": garpGroupKeywords, "SSL": sslKeywords,
		"bfd_instance": bfdKeywords, "virtual_server": vsKeywords, "real_server": rsKeywords,
		"TCP_CHECK": tcpCheckKeywords, "HTTP_GET": httpCheckKeywords, "SSL_GET": httpCheckKeywords,
		"url": urlKeywords, "SMTP_CHECK": smtpCheckKeywords, "host": tcpCheckKeywords,
		"DNS_CHECK": dnsCheckKeywords, "UDP_CHECK": udpCheckKeywords, "PING_CHECK": tcpCheckKeywords,
		"MISC_CHECK": miscCheckKeywords, "FILE_CHECK": fileCheckKeywords, "BFD_CHECK": bfdCheckKeywords,
	}
	out := make(map[string][]string, len(sets))
	for ctx, s := range sets {
		words := make([]string, 0, len(s))
		for w := range s {
			words = append(words, w)
		}
		sort.Strings(words)
		out[ctx] = words
	}
	return out
}
