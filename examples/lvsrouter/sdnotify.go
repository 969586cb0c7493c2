package main

import (
	"net"
	"os"
	"strconv"
	"time"
)

// sdNotify sends a state to systemd (sd_notify(3)): READY=1, RELOADING=1,
// STOPPING=1, WATCHDOG=1 ... on $NOTIFY_SOCKET. Without systemd (no
// NOTIFY_SOCKET) it does nothing. The protocol is one datagram on a unix
// socket, so no library is needed.
func sdNotify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}

// watchdogInterval is half of systemd's WatchdogSec for this process
// ($WATCHDOG_USEC, when $WATCHDOG_PID is unset or ours), or 0.
func watchdogInterval() time.Duration {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// sdWatchdog pings systemd's watchdog until stop is called.
func sdWatchdog() (stop func()) {
	d := watchdogInterval()
	if d == 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sdNotify("WATCHDOG=1")
			}
		}
	}()
	return func() { close(done) }
}

// reloadingMessage is sd_notify's RELOADING=1 with the monotonic time
// systemd 253 asks for (older systemd ignores the extra field).
func reloadingMessage() string {
	return "RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(monotonicUsec(), 10)
}
