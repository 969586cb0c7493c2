package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/haproxy"
	"github.com/lvskit/lvskit/vrrp"
)

// node runs one HAProxy + VRRP node.
type node struct {
	o   *options
	log *slog.Logger
	rt  *haproxy.Runtime

	mu      sync.Mutex
	hap     *exec.Cmd
	hapDone chan struct{}
	leaving bool
}

// writeConfig writes haproxy.cfg and has haproxy -c check it.
func (n *node) writeConfig(ctx context.Context) error {
	c, err := haproxyConfig(n.o)
	if err != nil {
		return err
	}
	path := n.o.cfgPath()
	if err := os.WriteFile(path+".new", c.Format(), 0o644); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, n.o.HAProxy, "-c", "-q", "-f", path+".new").CombinedOutput(); err != nil {
		return fmt.Errorf("haproxy -c: %w: %s", err, out)
	}
	return os.Rename(path+".new", path)
}

// startHAProxy runs haproxy in master-worker mode in the foreground, so
// that a reload is SIGUSR2 to the master and the master's exit is seen.
func (n *node) startHAProxy() error {
	cmd := exec.Command(n.o.HAProxy, "-W", "-db", "-f", n.o.cfgPath())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = haproxyProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		n.log.Warn("haproxy exited", "err", err)
		close(done)
	}()
	n.mu.Lock()
	n.hap, n.hapDone = cmd, done
	n.mu.Unlock()
	n.log.Info("haproxy started", "pid", cmd.Process.Pid)
	return nil
}

// reload rewrites haproxy.cfg and asks the master to reload it.
func (n *node) reload(ctx context.Context) error {
	if err := n.writeConfig(ctx); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	select {
	case <-n.hapDone:
		return errors.New("haproxy is not running")
	default:
	}
	return n.hap.Process.Signal(syscall.SIGUSR2)
}

// track probes haproxy every TrackInterval and publishes the result to
// the VRRP instance through the track file, with rise/fall hysteresis as
// keepalived applies to vrrp_script results.
func (n *node) track(ctx context.Context) {
	hy := hysteresis{rise: n.o.TrackRise, fall: n.o.TrackFall}
	t := time.NewTicker(n.o.TrackInterval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, n.o.TrackInterval)
		h := probe(pctx, n.rt, n.o.MinServers)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if healthy, changed := hy.update(h.Healthy); changed {
			n.log.Info("haproxy health", "healthy", healthy, "servers_up", h.Servers, "problem", h.Problem)
			n.mu.Lock()
			if !n.leaving {
				if err := writeTrack(n.o.trackFile(), trackValue(n.o.Weight, healthy)); err != nil {
					n.log.Error("track file", "err", err)
				}
			}
			n.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// trackFileInterval is how often the VRRP instance reads the track file:
// small beside TrackInterval, so the file adds little to the reaction.
func trackFileInterval(o *options) time.Duration {
	return max(min(o.TrackInterval/10, 100*time.Millisecond), 10*time.Millisecond)
}

// downFileInterval is how often the VRRP instance reads the file that
// says haproxy exited.
const downFileInterval = 10 * time.Millisecond

func (n *node) vrrpConfig() vrrp.Config {
	return vrrp.Config{
		Name:      "VI_1",
		Interface: n.o.Interface,
		VRID:      n.o.VRID,
		Version:   n.o.Version,
		Priority:  n.o.Priority,
		Interval:  n.o.Advert,
		VIPs:      []vrrp.VIP{{Prefix: n.o.VIP}},
		TrackFiles: []vrrp.TrackFile{
			{Path: n.o.trackFile(), Interval: trackFileInterval(n.o), Weight: n.o.Weight},
			// Weight 0: a non-zero value faults the instance. Read
			// every 10 ms (a small file read) so that the resignation
			// follows haproxy's exit closely: until then the VIP
			// refuses connections.
			{Path: n.o.downFile(), Interval: downFileInterval, Weight: 0},
		},
		OnTransition: func(name string, t vrrp.Transition) {
			n.log.Info("vrrp transition", "instance", name, "transition", fmt.Sprint(t))
		},
	}
}

// stopHAProxy soft-stops haproxy (SIGUSR1: finish the sessions, then
// exit), and kills it when it takes longer than DrainTimeout.
func (n *node) stopHAProxy() {
	n.mu.Lock()
	cmd, done := n.hap, n.hapDone
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGUSR1)
	select {
	case <-done:
	case <-time.After(n.o.DrainTimeout):
		n.log.Warn("drain: haproxy still serves after -drain-timeout; killing it", "timeout", n.o.DrainTimeout)
		// The whole process group: the workers too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// run runs the node until ctx ends (SIGTERM: drain first) or stop ends
// without draining.
func (n *node) run(ctx context.Context, term <-chan struct{}, hup <-chan struct{}) error {
	if err := os.MkdirAll(n.o.Dir, 0o755); err != nil {
		return err
	}
	_ = os.Remove(n.o.socket())
	// Until the first probe, count as unhealthy.
	if err := writeTrack(n.o.trackFile(), trackValue(n.o.Weight, false)); err != nil {
		return err
	}
	if err := n.writeConfig(ctx); err != nil {
		return err
	}
	// A run that crashed while draining left its SYN drop behind: without
	// this, the VIP would hold new connections off once it comes back.
	if removed, err := synDrop(n.o).Remove(ctx, ""); err != nil {
		return fmt.Errorf("removing a SYN drop left behind: %w", err)
	} else if removed {
		n.log.Warn("removed the SYN drop a previous run left behind", "table", synDrop(n.o).Table)
	}
	if err := writeTrack(n.o.downFile(), 0); err != nil {
		return err
	}
	if err := n.startHAProxy(); err != nil {
		return err
	}
	defer n.stopHAProxy()
	// A haproxy that exited cannot serve: fault at once, so that the
	// master resigns (priority 0 advert) and the peer takes over after its
	// skew time, instead of holding the VIP until probes and the peer's
	// Master_Down_Interval have run out. The weight still applies to a
	// running haproxy that is unhealthy.
	go func() {
		<-n.hapDone
		if err := writeTrack(n.o.downFile(), 1); err != nil {
			n.log.Error("track file", "err", err)
		}
	}()
	n.rt = haproxy.NewRuntime("unix", n.o.socket(), &haproxy.RuntimeConfig{Logger: n.log})
	defer n.rt.Close()

	r, err := vrrp.NewRouter(&vrrp.RouterConfig{Logger: n.log})
	if err != nil {
		return err
	}
	defer r.Close()
	in, err := r.Add(n.vrrpConfig())
	if err != nil {
		return err
	}
	vctx, vcancel := context.WithCancel(context.Background())
	defer vcancel()
	verr := make(chan error, 1)
	go func() { verr <- r.Run(vctx) }()

	tctx, tcancel := context.WithCancel(context.Background())
	defer tcancel()
	go n.track(tctx)

	for {
		select {
		case err := <-verr:
			return fmt.Errorf("vrrp: %w", err)
		case <-hup:
			if err := n.reload(ctx); err != nil {
				n.log.Error("reload", "err", err)
			} else {
				n.log.Info("haproxy reloaded")
			}
		case <-term:
			tcancel()
			// An open runtime API session would keep the worker alive
			// through the soft stop.
			n.rt.Close()
			cs := n.drain(ctx)
			// haproxy's exit has faulted the instance; stopping the
			// router releases the VIP if we still hold it.
			n.log.Info("drain: VRRP", "state", fmt.Sprint(in.State()))
			vcancel()
			<-verr
			if err := cs.Undo(context.Background()); err != nil {
				n.log.Error("drain: removing the SYN drop", "err", err)
			}
			return nil
		case <-ctx.Done():
			tcancel()
			vcancel()
			<-verr
			return nil
		}
	}
}
