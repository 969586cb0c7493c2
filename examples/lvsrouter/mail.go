package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lvskit/lvskit/vrrp"
)

// MailPlan is keepalived's smtp_alert: the mail server and addresses of
// global_defs, and which VRRP instances, sync groups and real servers send
// alerts. Mail goes out only when both a server and a recipient are set,
// as with keepalived.
type MailPlan struct {
	// Server is smtp_server's host (an address or a name) and Port its
	// port (default 25).
	Server string
	Port   uint16
	// From is notification_email_from (default user@host), To the
	// notification_email addresses.
	From string
	To   []string
	// Helo is smtp_helo_name (default: the host name).
	Helo string
	// Timeout bounds the connection and each reply (smtp_connect_timeout,
	// default 30 s).
	Timeout time.Duration
	// RouterID prefixes every subject (router_id, default the host name).
	RouterID string
	// NoFaults is no_email_faults: no mail on entering FAULT.
	NoFaults bool `json:",omitempty"`
	// NoCheckerEmails is no_checker_emails: a real server's check sends
	// mail only when the real server's own state changes.
	NoCheckerEmails bool `json:",omitempty"`
	// Instances and Groups name the VRRP instances and sync groups that
	// send alerts on state changes.
	Instances map[string]bool `json:",omitempty"`
	Groups    map[string]bool `json:",omitempty"`
	// Checks maps a check target ID to the real server it belongs to,
	// for the real servers that send alerts.
	Checks map[string]RealAlert `json:",omitempty"`
	// Services maps the services of virtual servers that send quorum
	// alerts (by vsString of their key) to their names in the mails.
	Services map[string]ServiceAlert `json:",omitempty"`
}

// RealAlert names a real server for its alerts: keepalived's subject
// "[router_id] Realserver RS of virtual server VS - UP|DOWN", and the
// checker's body lines for a check that succeeds or fails.
type RealAlert struct {
	RS, VS   string
	Up, Down string
}

// vrrpMail is keepalived's subject and body for a VRRP instance or sync
// group entering a state; ok is false for states that send no mail.
func vrrpMail(group bool, s string) (subject, body string, ok bool) {
	what := "VRRP Instance is"
	switch s {
	case "MASTER":
		if group {
			return "Entering MASTER state", "=> All VRRP group instances are now in MASTER state <=", true
		}
		return "Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <=", true
	case "BACKUP", "FAULT":
		if group {
			return "Entering " + s + " state", "=> All VRRP group instances are now in " + s + " state <=", true
		}
		return "Entering " + s + " state", "=> " + what + " no longer owning VRRP VIPs <=", true
	case "STOP":
		if group {
			return "Stopping", "=> All VRRP group instances are now stopping <=", true
		}
		return "Stopping", "=> VRRP Instance stopping <=", true
	}
	return "", "", false
}

// mailer sends alerts one after the other from a goroutine of its own, so
// that a slow or absent mail server delays no state change. It remembers
// the last state mailed per instance and group, as keepalived does, so a
// state is mailed once.
type mailer struct {
	log  *slog.Logger
	plan MailPlan
	now  func() time.Time
	// siblings maps an alerting check to all checks of its real server.
	siblings map[string][]string
	// vsOrder lists the services in the config's order (shutdownMails).
	vsOrder []string

	mu   sync.Mutex
	last map[string]string // "i:NAME", "g:NAME" or "v:NAME" -> state last mailed
	// stopping is set at shutdown: no quorum mail after the stop's.
	stopping bool
	q        []mail
	busy     bool
	idle     sync.Cond
}

type mail struct{ subject, body string }

// newMailer returns the mailer for plan p; old, the previous plan's,
// hands over what it last mailed so that a reload mails no state twice.
func newMailer(log *slog.Logger, p *Plan, old *mailer) *mailer {
	m := &mailer{log: log, plan: p.Mail, now: time.Now, last: map[string]string{}, siblings: map[string][]string{}}
	m.idle.L = &m.mu
	if old != nil {
		old.mu.Lock()
		for k, v := range old.last {
			m.last[k] = v
		}
		old.mu.Unlock()
	}
	// Only mails need the services' names and the checks' siblings: a
	// large configuration without smtp_alert skips the walk.
	if len(p.Mail.Services) == 0 && len(p.Mail.Checks) == 0 {
		return m
	}
	for _, v := range p.Services {
		if len(p.Mail.Services) > 0 {
			m.vsOrder = append(m.vsOrder, vsString(v.Service.Key()))
		}
		for _, rs := range v.Reals {
			ids := make([]string, len(rs.Checks))
			for i, t := range rs.Checks {
				ids[i] = t.ID
			}
			for _, id := range ids {
				if _, ok := p.Mail.Checks[id]; ok {
					m.siblings[id] = ids
				}
			}
		}
	}
	return m
}

// realUp tells whether the real server that check id belongs to is alive
// (every one of its checks up), given the checks that are down.
func (m *mailer) realUp(down map[string]bool, id string) bool {
	if m == nil {
		return true
	}
	for _, s := range m.siblings[id] {
		if down[s] {
			return false
		}
	}
	return true
}

// enabled reports whether mail goes out at all.
func (m *mailer) enabled() bool {
	return m != nil && m.plan.Server != "" && len(m.plan.To) > 0
}

// vrrpState mails a VRRP instance's (or, with group, a sync group's) new
// state if it sends alerts.
func (m *mailer) vrrpState(group bool, name, state string) {
	if !m.enabled() {
		return
	}
	key, alerts, label := "i:"+name, m.plan.Instances[name], "VRRP Instance "
	if group {
		key, alerts, label = "g:"+name, m.plan.Groups[name], "VRRP Group "
	}
	if !alerts || (m.plan.NoFaults && state == "FAULT") {
		return
	}
	subject, body, ok := vrrpMail(group, state)
	if !ok {
		return
	}
	m.mu.Lock()
	if m.last[key] == state {
		m.mu.Unlock()
		return
	}
	m.last[key] = state
	m.mu.Unlock()
	m.send(label+name+" - "+subject, body)
}

// checkState mails a real server's check going up or down, with the real
// server's resulting state in the subject.
func (m *mailer) checkState(id string, checkUp, realWasUp, realUp bool) {
	if !m.enabled() {
		return
	}
	a, ok := m.plan.Checks[id]
	if !ok || (m.plan.NoCheckerEmails && realWasUp == realUp) {
		return
	}
	st, body := "DOWN", a.Down
	if realUp {
		st = "UP"
	}
	if checkUp {
		body = a.Up
	}
	m.send(fmt.Sprintf("Realserver %s of virtual server %s - %s", a.RS, a.VS, st), body)
}

// stateName is keepalived's name for the state an instance enters; a
// shutdown is STOP.
func stateName(t vrrp.Transition) string {
	if t.To == vrrp.StateInit && t.Reason == vrrp.ReasonShutdown {
		return "STOP"
	}
	return t.To.String()
}

// send queues one mail.
func (m *mailer) send(subject, body string) {
	if m.plan.RouterID != "" {
		subject = "[" + m.plan.RouterID + "] " + subject
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.q = append(m.q, mail{subject, body})
	if !m.busy {
		m.busy = true
		go m.worker()
	}
}

func (m *mailer) worker() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.q) > 0 {
		x := m.q[0]
		m.q = m.q[1:]
		m.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 4*m.timeout())
		err := m.deliver(ctx, x)
		cancel()
		if err != nil {
			m.log.Warn("smtp alert", "server", m.addr(), "subject", x.subject, "err", err)
		} else {
			m.log.Info("smtp alert sent", "subject", x.subject)
		}
		m.mu.Lock()
	}
	m.busy = false
	m.idle.Broadcast()
}

// wait waits until the queued mail is sent (at shutdown, so that STOP
// alerts leave).
func (m *mailer) wait() {
	if m == nil {
		return
	}
	m.mu.Lock()
	for m.busy {
		m.idle.Wait()
	}
	m.mu.Unlock()
}

func (m *mailer) timeout() time.Duration {
	if m.plan.Timeout > 0 {
		return m.plan.Timeout
	}
	return 30 * time.Second
}

func (m *mailer) addr() string {
	port := m.plan.Port
	if port == 0 {
		port = 25
	}
	if a, err := netip.ParseAddr(m.plan.Server); err == nil {
		return netip.AddrPortFrom(a, port).String()
	}
	return net.JoinHostPort(m.plan.Server, strconv.Itoa(int(port)))
}

// errSMTP is wrapped by every refusal from the mail server.
var errSMTP = errors.New("smtp: unexpected reply")

// deliver talks SMTP as keepalived does: HELO (not EHLO), MAIL FROM, one
// RCPT TO per address, DATA with keepalived's headers, QUIT.
func (m *mailer) deliver(ctx context.Context, x mail) error {
	d := net.Dialer{Timeout: m.timeout()}
	c, err := d.DialContext(ctx, "tcp", m.addr())
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	r := bufio.NewReader(c)
	step := func(cmd string, want ...int) error {
		if cmd != "" {
			if _, err := c.Write([]byte(cmd)); err != nil {
				return err
			}
		}
		_ = c.SetReadDeadline(time.Now().Add(m.timeout()))
		code, line, err := readReply(r)
		if err != nil {
			return err
		}
		for _, w := range want {
			if code == w {
				return nil
			}
		}
		return fmt.Errorf("%w: %q after %q", errSMTP, line, strings.TrimSpace(cmd))
	}
	if err := step("", 220); err != nil {
		return err
	}
	if err := step("HELO "+clean(m.plan.Helo)+"\r\n", 250); err != nil {
		return err
	}
	if err := step("MAIL FROM:<"+clean(m.plan.From)+">\r\n", 250); err != nil {
		return err
	}
	for _, to := range m.plan.To {
		if err := step("RCPT TO:<"+clean(to)+">\r\n", 250, 251); err != nil {
			return err
		}
	}
	if err := step("DATA\r\n", 354); err != nil {
		return err
	}
	if err := step(message(m.now(), m.plan.From, m.plan.To, x), 250); err != nil {
		return err
	}
	return step("QUIT\r\n", 221)
}

// message is keepalived's DATA: Date, From, Subject, X-Mailer, To, the
// body, and the end of data. X-Mailer stays "Keepalived", as mail filters
// written for keepalived's alerts match on it.
func message(now time.Time, from string, to []string, x mail) string {
	tos := make([]string, len(to))
	for i, t := range to {
		tos[i] = clean(t)
	}
	body := x.body
	if strings.HasPrefix(body, ".") {
		body = "." + body
	}
	return "Date: " + now.Format("Mon, 02 Jan 2006 15:04:05 -0700") + "\r\n" +
		"From: " + clean(from) + "\r\n" +
		"Subject: " + clean(x.subject) + "\r\n" +
		"X-Mailer: Keepalived\r\n" +
		"To: " + strings.Join(tos, ", ") + "\r\n\r\n" +
		clean(body) + "\r\n" +
		"\r\n.\r\n"
}

// readReply reads one (possibly multi-line) SMTP reply.
func readReply(r *bufio.Reader) (int, string, error) {
	for range 100 {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			return 0, line, fmt.Errorf("%w: %q", errSMTP, line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return 0, line, fmt.Errorf("%w: %q", errSMTP, line)
		}
		if len(line) > 3 && line[3] == '-' {
			continue
		}
		return code, line, nil
	}
	return 0, "", fmt.Errorf("%w: reply longer than 100 lines", errSMTP)
}

// clean keeps a header value or command argument on one line.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}
