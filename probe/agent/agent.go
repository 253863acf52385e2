// Package agent is the long-running probe (`probe run`): it runs its schedules on cron
// (UTC, with jitter, never overlapping), writes every measurement to the durable spool
// before anything else, drains the spool to the collector at a bounded rate, sends
// heartbeats, and syncs its schedules from the collector. It loses nothing when the
// collector or the power goes away: what is spooled stays until the collector has
// acknowledged it.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/probe/spool"
	"github.com/pantau-dev/pantau/probe/uplink"
	"github.com/pantau-dev/pantau/schedules"
)

// Options configure an Agent.
type Options struct {
	// Engine is the base engine configuration; a schedule's resolvers, timeouts and
	// concurrency override it.
	Engine  engine.Config
	Control engine.Controller // nil: no control
	Spool   *spool.Spool
	Uplink  *uplink.Client // nil: measure and spool only
	// Reconnect, when set, builds the uplink anew (the configuration re-read: a new token,
	// collector URL or CA) at every Reload; a blocked uplink is then tried at once.
	Reconnect func() (*uplink.Client, error)
	// SchedulesDir overrides the built-in schedules; a set synced from the collector
	// overrides both.
	SchedulesDir string
	StateDir     string
	Heartbeat    time.Duration // default 5m
	Sync         time.Duration // default 10m; 0 with an Uplink: default
	DrainRate    float64       // batches per second, default 5
	BatchSize    int           // default 100
	Grace        time.Duration // default 30s
	// RetryMin and RetryMax bound the wait between tries while the collector refuses the
	// probe's submissions as a whole (uplink.ErrBlocked): RetryMin, doubling, at most
	// RetryMax. Defaults 30s and 10m.
	RetryMin, RetryMax time.Duration
	Log                *slog.Logger
}

// Agent runs schedules. Create it with New.
type Agent struct {
	o    Options
	log  *slog.Logger
	cron *cron.Cron
	kick chan struct{} // wakes the uplink

	mu       sync.Mutex
	up       *uplink.Client // replaced by Reload when Options.Reconnect is set
	set      *schedules.Set
	origin   string // builtin, folder, or synced
	entries  []cron.EntryID
	running  map[string]*sync.Mutex // one run of a schedule at a time, across reloads
	engines  map[string]*engine.Engine
	state    State
	syncETag string
	jobsCtx  context.Context
}

// New loads the schedules (synced, else folder, else built in) and returns an Agent.
func New(o Options) (*Agent, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.Heartbeat = orDefault(o.Heartbeat, 5*time.Minute)
	o.Sync = orDefault(o.Sync, 10*time.Minute)
	o.Grace = orDefault(o.Grace, 30*time.Second)
	o.RetryMin = orDefault(o.RetryMin, 30*time.Second)
	o.RetryMax = max(orDefault(o.RetryMax, 10*time.Minute), o.RetryMin)
	if o.DrainRate <= 0 {
		o.DrainRate = 5
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.StateDir == "" {
		return nil, errors.New("state_dir: required")
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	a := &Agent{o: o, log: o.Log, kick: make(chan struct{}, 1), running: map[string]*sync.Mutex{}, jobsCtx: context.Background(), up: o.Uplink}
	a.state = loadState(o.StateDir)
	set, origin, err := a.loadSchedules()
	if err != nil {
		return nil, err
	}
	a.set, a.origin = set, origin
	cl := cronLogger{a.log}
	a.cron = cron.New(cron.WithLocation(time.UTC), cron.WithChain(cron.SkipIfStillRunning(cl), cron.Recover(cl)))
	return a, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// loadSchedules picks the set to run: the last good set synced from the collector, else
// the override folder, else the built-in schedules.
func (a *Agent) loadSchedules() (*schedules.Set, string, error) {
	synced := filepath.Join(a.o.StateDir, "schedules")
	if a.uplink() != nil {
		if _, err := os.Stat(synced); err == nil {
			set, err := schedules.Load(os.DirFS(synced))
			if err == nil {
				return set, "synced", nil
			}
			a.log.Error("synced schedules do not load; falling back", "err", err)
		}
	}
	var fsys fs.FS = schedules.Builtin()
	origin := "builtin"
	if a.o.SchedulesDir != "" {
		fsys, origin = os.DirFS(a.o.SchedulesDir), "folder "+a.o.SchedulesDir
	}
	set, err := schedules.Load(fsys)
	if err != nil {
		return nil, "", fmt.Errorf("schedules (%s): %w", origin, err)
	}
	return set, origin, nil
}

// Schedules returns the loaded set.
func (a *Agent) Schedules() *schedules.Set {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.set
}

// Reload reloads the schedules (SIGHUP); a set that does not load is reported and the
// running one kept. With Options.Reconnect it also rebuilds the uplink from the
// configuration, so that a new token or collector URL takes effect, and retries a
// blocked uplink at once.
func (a *Agent) Reload() error {
	var errs []error
	if set, origin, err := a.loadSchedules(); err != nil {
		a.log.Error("reload refused; keeping the running schedules", "err", err)
		errs = append(errs, err)
	} else {
		a.apply(set, origin)
	}
	if a.o.Reconnect != nil {
		if err := a.reconnect(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// reconnect replaces the uplink by Options.Reconnect's and lets a blocked uplink try
// again at once.
func (a *Agent) reconnect() error {
	up, err := a.o.Reconnect()
	if err != nil {
		a.log.Error("uplink not reconfigured; keeping the running one", "err", err)
		return err
	}
	a.mu.Lock()
	if (a.up == nil) != (up == nil) {
		a.mu.Unlock()
		err := errors.New("agent.collector: adding or removing the collector takes effect at the next start")
		a.log.Warn("uplink not reconfigured", "err", err)
		return err
	}
	a.up = up
	if b := a.state.Blocked; b != nil {
		b.NextTry = time.Time{}
	}
	a.mu.Unlock()
	a.log.Info("uplink reconfigured")
	a.wake()
	return nil
}

// uplink returns the client that talks to the collector; nil: none configured.
func (a *Agent) uplink() *uplink.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.up
}

// wake makes the uplink loop drain the spool now.
func (a *Agent) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// apply replaces the cron entries with set's.
func (a *Agent) apply(set *schedules.Set, origin string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range a.entries {
		a.cron.Remove(id)
	}
	a.entries = a.entries[:0]
	a.set, a.origin = set, origin
	a.engines = map[string]*engine.Engine{}
	for _, s := range set.Schedules {
		id, err := a.cron.AddFunc(s.Cron, func() { a.runScheduled(s) })
		if err != nil { // validated at load; kept for safety
			a.log.Error("schedule not added", "schedule", s.Name, "err", err)
			continue
		}
		a.entries = append(a.entries, id)
	}
	a.state.SchedulesHash = set.Hash
	a.log.Info("schedules loaded", "origin", origin, "count", len(set.Schedules), "hash", set.Hash)
}

// runScheduled is a cron job: wait the schedule's random jitter, then run it.
func (a *Agent) runScheduled(s *schedules.Schedule) {
	ctx := a.jobsContext()
	if s.Jitter > 0 {
		select {
		case <-time.After(rand.N(s.Jitter)):
		case <-ctx.Done():
			return
		}
	}
	if _, err := a.RunSchedule(ctx, s); err != nil {
		a.log.Warn("schedule run skipped", "schedule", s.Name, "err", err)
	}
}

func (a *Agent) jobsContext() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.jobsCtx
}

// ErrStillRunning is returned when a schedule's previous run has not finished.
var ErrStillRunning = errors.New("the previous run is still going")

// RunSchedule measures s's targets now and spools every measurement. It returns how many
// were spooled; a run of s already going makes it return ErrStillRunning.
func (a *Agent) RunSchedule(ctx context.Context, s *schedules.Schedule) (int, error) {
	lock := a.scheduleLock(s.Name)
	if !lock.TryLock() {
		a.count("skipped_overlaps")
		return 0, ErrStillRunning
	}
	defer lock.Unlock()
	eng := a.engineFor(s)
	start := time.Now().UTC()
	a.setRun(s.Name, func(st *measurement.ScheduleStatus) { st.LastStart = start })
	n := 0
	eng.Run(ctx, s.Targets, max(s.Concurrency, 1), a.o.Control, func(m *measurement.Measurement) {
		m.Schedule = s.Name
		if err := a.o.Spool.Put(m); err != nil {
			// Not silent: counted, logged and in the state file; the measurement is lost.
			a.count("spool_errors")
			a.log.Error("measurement not spooled", "schedule", s.Name, "id", m.ID, "err", err)
			return
		}
		a.log.Debug("measurement spooled", "schedule", s.Name, "id", m.ID)
		n++
	})
	a.setRun(s.Name, func(st *measurement.ScheduleStatus) { st.LastEnd, st.Measurements = time.Now().UTC(), n })
	a.saveState()
	a.wake()
	return n, nil
}

func (a *Agent) scheduleLock(name string) *sync.Mutex {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.running[name]
	if !ok {
		l = &sync.Mutex{}
		a.running[name] = l
	}
	return l
}

// engineFor returns the engine of s: the base configuration with s's overrides.
func (a *Agent) engineFor(s *schedules.Schedule) *engine.Engine {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.engines[s.Name]; ok {
		return e
	}
	cfg := a.o.Engine
	if len(s.Resolvers) > 0 {
		cfg.Resolvers = s.Resolvers
	}
	t := s.Timeouts
	cfg.Timeouts = engine.Timeouts{DNS: pick(t.DNS, cfg.Timeouts.DNS), TCP: pick(t.TCP, cfg.Timeouts.TCP),
		TLS: pick(t.TLS, cfg.Timeouts.TLS), HTTP: pick(t.HTTP, cfg.Timeouts.HTTP), Target: pick(t.Target, cfg.Timeouts.Target)}
	e := engine.New(cfg, a.log)
	if a.engines == nil {
		a.engines = map[string]*engine.Engine{}
	}
	a.engines[s.Name] = e
	return e
}

func pick(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// controlStats puts the control client's saturation counts in hb, when the Controller
// keeps them (*control.Client does): helpers' 429/503 answers and measurements left
// without a control, since the agent started.
func (a *Agent) controlStats(hb *measurement.Heartbeat) {
	if c, ok := a.o.Control.(interface{ Stats() control.Stats }); ok {
		st := c.Stats()
		hb.ControlBusy, hb.ControlFailed = st.Busy, st.Failed
	}
}
