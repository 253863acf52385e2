// Package fleet says how each probe of the fleet is doing, from its latest heartbeat: the
// list behind GET /api/v1/probes, the dashboard's Probes page and the probe-silence
// alerts. A probe's state is one of ok, late, silent and outdated (docs/operations.md,
// Probe states):
//
//   - silent: no heartbeat for SilentAfter (default 12 heartbeat intervals, 1h);
//   - late: no heartbeat for LateAfter (default 3 intervals, 15m);
//   - outdated: heartbeats in time, but a software version older than the newest any
//     probe reported (semantic versions only; "dev" builds are never outdated);
//   - ok: otherwise.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// States of a probe.
const (
	OK       = "ok"
	Late     = "late"
	Silent   = "silent"
	Outdated = "outdated"
)

// Defaults of Config.
const (
	DefaultHeartbeat = 5 * time.Minute // the probes' own default (probe.yaml heartbeat)
	lateBeats        = 3
	silentBeats      = 12
	DefaultWindow    = 90 * 24 * time.Hour
)

// Config is the collector config's `probes:` key.
type Config struct {
	// Public lets anyone read GET /api/v1/probes and the Probes page; otherwise only the
	// admin (bearer token, or the dashboard's admin session).
	Public bool `yaml:"public"`
	// Heartbeat is the probes' heartbeat interval; LateAfter and SilentAfter default to 3
	// and 12 of it.
	Heartbeat   yamlconf.Duration `yaml:"heartbeat"`
	LateAfter   yamlconf.Duration `yaml:"late_after"`
	SilentAfter yamlconf.Duration `yaml:"silent_after"`
	// Window is how far back heartbeats are read: a probe silent for longer is forgotten.
	Window yamlconf.Duration `yaml:"window"`
}

// WithDefaults returns c with zero durations set.
func (c Config) WithDefaults() Config {
	if c.Heartbeat.Duration == 0 {
		c.Heartbeat.Duration = DefaultHeartbeat
	}
	if c.LateAfter.Duration == 0 {
		c.LateAfter.Duration = lateBeats * c.Heartbeat.Duration
	}
	if c.SilentAfter.Duration == 0 {
		c.SilentAfter.Duration = silentBeats * c.Heartbeat.Duration
	}
	if c.Window.Duration == 0 {
		c.Window.Duration = DefaultWindow
	}
	return c
}

// Validate names each bad field (as probes.<field>).
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"heartbeat", c.Heartbeat.Duration}, {"late_after", c.LateAfter.Duration}, {"silent_after", c.SilentAfter.Duration}, {"window", c.Window.Duration}} {
		if d.v < 0 || d.v > 0 && d.v < time.Second {
			errs = append(errs, yamlconf.Errorf("probes."+d.name, "%s is not 0 (the default) or at least 1s", d.v))
		}
	}
	d := c.WithDefaults()
	if d.LateAfter.Duration >= d.SilentAfter.Duration {
		errs = append(errs, yamlconf.Errorf("probes.late_after", "%s is not shorter than silent_after %s", d.LateAfter.Duration, d.SilentAfter.Duration))
	}
	if d.Window.Duration < d.SilentAfter.Duration {
		errs = append(errs, yamlconf.Errorf("probes.window", "%s is shorter than silent_after %s", d.Window.Duration, d.SilentAfter.Duration))
	}
	return errors.Join(errs...)
}

// Probe is one probe's row.
type Probe struct {
	Probe         string    `json:"probe"`
	Network       string    `json:"network"`
	Country       string    `json:"country"`
	ASN           uint32    `json:"asn"`
	Version       string    `json:"version"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	SilentFor     float64   `json:"silent_seconds"` // since the last heartbeat
	SchedulesHash string    `json:"schedules_hash"`
	SpoolDepth    int64     `json:"spool_depth"`
	SpoolBytes    int64     `json:"spool_bytes"`
	Dropped       int64     `json:"dropped"`
	Rejected      int64     `json:"rejected"`
	ClockOffsetMS float64   `json:"clock_offset_ms"`
	SyncError     string    `json:"sync_error"`
	UplinkError   string    `json:"uplink_error,omitempty"`
	ControlBusy   int64     `json:"control_busy,omitempty"`
	ControlFailed int64     `json:"control_failed,omitempty"`
	State         string    `json:"state"`
}

// Source reads the probes' latest heartbeats (collector/store's Store).
type Source interface {
	ProbeStatuses(ctx context.Context, since time.Time) ([]store.LatestBeat, error)
}

// Fleet lists the probes with their states.
type Fleet struct {
	cfg Config
	src Source
	now func() time.Time
}

// New returns a Fleet on src for a valid cfg (now nil: time.Now).
func New(cfg Config, src Source, now func() time.Time) (*Fleet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Fleet{cfg: cfg.WithDefaults(), src: src, now: now}, nil
}

// Config returns the configuration with its defaults.
func (f *Fleet) Config() Config { return f.cfg }

// List is every probe heard from within the window, with the newest version seen.
type List struct {
	Probes        []Probe   `json:"probes"`
	LatestVersion string    `json:"latest_version"`
	At            time.Time `json:"at"`
	LateAfter     float64   `json:"late_after_seconds"`
	SilentAfter   float64   `json:"silent_after_seconds"`
}

// List reads the latest heartbeats and classifies each probe at now.
func (f *Fleet) List(ctx context.Context) (List, error) {
	now := f.now()
	sts, err := f.src.ProbeStatuses(ctx, now.Add(-f.cfg.Window.Duration))
	if err != nil {
		return List{}, fmt.Errorf("probe heartbeats: %w", err)
	}
	return Classify(sts, now, f.cfg), nil
}

// Classify gives each status its state at now under cfg (defaults applied).
func Classify(sts []store.LatestBeat, now time.Time, cfg Config) List {
	cfg = cfg.WithDefaults()
	l := List{At: now.UTC(), LateAfter: cfg.LateAfter.Seconds(), SilentAfter: cfg.SilentAfter.Seconds(), Probes: []Probe{}}
	for _, s := range sts {
		if newerVersion(s.Version, l.LatestVersion) {
			l.LatestVersion = s.Version
		}
	}
	for _, s := range sts {
		age := now.Sub(s.At)
		p := Probe{Probe: s.Probe, Network: s.Network, Country: s.Country, ASN: s.ASN, Version: s.Version,
			LastHeartbeat: s.At.UTC(), SilentFor: max(age, 0).Seconds(), SchedulesHash: s.SchedulesHash,
			SpoolDepth: s.SpoolDepth, SpoolBytes: s.SpoolBytes, Dropped: s.Dropped, Rejected: s.Rejected,
			ClockOffsetMS: s.ClockOffsetMS, SyncError: s.SyncError, UplinkError: s.UplinkError,
			ControlBusy: s.ControlBusy, ControlFailed: s.ControlFailed}
		switch {
		case age >= cfg.SilentAfter.Duration:
			p.State = Silent
		case age >= cfg.LateAfter.Duration:
			p.State = Late
		case newerVersion(l.LatestVersion, s.Version):
			p.State = Outdated
		default:
			p.State = OK
		}
		l.Probes = append(l.Probes, p)
	}
	return l
}
