package measurement

import (
	"errors"
	"fmt"
	"time"
)

// Heartbeat is what a probe agent reports about itself every few minutes and with every
// batch. The collector stores it (probe_status), so that a query can tell "no data" (the
// probe was down or its schedule did not run) from "unblocked".
type Heartbeat struct {
	SentAt        time.Time        `json:"sent_at"`
	Software      Software         `json:"software"`
	SchedulesHash string           `json:"schedules_hash"`
	Schedules     []ScheduleStatus `json:"schedules"`
	SpoolDepth    int              `json:"spool_depth"`
	SpoolBytes    int64            `json:"spool_bytes"`
	// Dropped, Rejected and Corrupt are cumulative counts of measurements the spool
	// dropped (full), moved aside because the collector refused them, or found damaged.
	Dropped  int64 `json:"dropped"`
	Rejected int64 `json:"rejected"`
	Corrupt  int64 `json:"corrupt"`
	// Pruned counts the copies kept aside (rejected or damaged) that the spool deleted to
	// stay within its bound. Omitted while 0, so that collectors older than the field
	// still accept the heartbeat.
	Pruned int64 `json:"pruned,omitempty"`
	// ClockOffsetMS estimates collector time minus probe time, from the last exchange.
	ClockOffsetMS float64 `json:"clock_offset_ms"`
	// SyncError is the last refused schedule sync, if the probe runs an older set.
	SyncError string `json:"sync_error,omitempty"`
	// UplinkError says since when and why the collector, or something in front of it,
	// refuses the probe's submissions as a whole (e.g. "blocked since
	// 2025-01-01T00:00:00Z: 401 Unauthorized: token expired at …"), while it does; the
	// backlog stays spooled meanwhile. Omitted while submissions go through.
	UplinkError string `json:"uplink_error,omitempty"`
	// ControlBusy counts the control helpers' answers 429 and 503 (saturated, or limiting
	// this probe; each was retried) and ControlFailed the measurements left without a
	// control (no helper answered within the target's deadline), both since the agent
	// started. Omitted while 0, so that collectors older than the fields still accept
	// the heartbeat.
	ControlBusy   int64 `json:"control_busy,omitempty"`
	ControlFailed int64 `json:"control_failed,omitempty"`
}

// ScheduleStatus is the state of one loaded schedule.
type ScheduleStatus struct {
	Name         string    `json:"name"`
	LastStart    time.Time `json:"last_start"`
	LastEnd      time.Time `json:"last_end"`
	Measurements int       `json:"measurements"` // of the last run
	Next         time.Time `json:"next"`
}

// Validate checks a heartbeat, naming the bad field.
func (h *Heartbeat) Validate(now time.Time) error {
	v := &validator{}
	if h.SentAt.IsZero() || h.SentAt.After(now.Add(24*time.Hour)) {
		v.add("sent_at", "%s is not a plausible time", h.SentAt.Format(time.RFC3339))
	}
	v.ident("software.name", h.Software.Name, true)
	v.ident("software.version", h.Software.Version, false)
	v.ident("schedules_hash", h.SchedulesHash, false)
	v.list("schedules", len(h.Schedules))
	for i, s := range h.Schedules {
		v.ident(fmt.Sprintf("schedules[%d].name", i), s.Name, true)
		if s.Measurements < 0 {
			v.add(fmt.Sprintf("schedules[%d].measurements", i), "%d is negative", s.Measurements)
		}
	}
	for _, c := range []struct {
		name string
		n    int64
	}{{"spool_depth", int64(h.SpoolDepth)}, {"spool_bytes", h.SpoolBytes}, {"dropped", h.Dropped}, {"rejected", h.Rejected}, {"corrupt", h.Corrupt}, {"pruned", h.Pruned},
		{"control_busy", h.ControlBusy}, {"control_failed", h.ControlFailed}} {
		if c.n < 0 {
			v.add(c.name, "%d is negative", c.n)
		}
	}
	v.number("clock_offset_ms", abs(h.ClockOffsetMS))
	v.free("sync_error", h.SyncError)
	v.free("uplink_error", h.UplinkError)
	return errors.Join(v.errs...)
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
