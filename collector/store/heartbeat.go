package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// Heartbeat measurement names.
const (
	ProbeStatus   = "probe_status"   // one point per heartbeat
	ProbeSchedule = "probe_schedule" // one point per loaded schedule per heartbeat
)

// HeartbeatItem is one heartbeat with the identity the probe's token gives it.
type HeartbeatItem struct {
	H          *measurement.Heartbeat
	Probe      Identity
	Geo        Geo
	ReceivedAt time.Time
}

// HeartbeatPoints maps a heartbeat to its points, stamped with the collector's receive
// time (a probe's clock may be off; its offset is a field).
func HeartbeatPoints(it HeartbeatItem) []*write.Point {
	h := it.H
	ts := it.ReceivedAt.UTC().Truncate(time.Millisecond)
	base := func(name string) *write.Point {
		p := write.NewPointWithMeasurement(name).SetTime(ts)
		for _, t := range []tag{{"probe", it.Probe.Probe}, {"network", it.Probe.Network}, {"asn", asn(it.Probe.ASN)}, {"country", it.Probe.Country}} {
			if t.v != "" {
				p.AddTag(t.k, t.v)
			}
		}
		return p
	}
	sched, _ := json.Marshal(h.Schedules)
	st := base(ProbeStatus).
		AddField("sent_at_ms", unixMS(h.SentAt)).
		AddField("version", h.Software.Version).
		AddField("schedules_hash", h.SchedulesHash).
		AddField("schedules", string(sched)).
		AddField("spool_depth", int64(h.SpoolDepth)).
		AddField("spool_bytes", h.SpoolBytes).
		AddField("dropped", h.Dropped).
		AddField("rejected", h.Rejected).
		AddField("corrupt", h.Corrupt).
		AddField("pruned", h.Pruned).
		AddField("clock_offset_ms", h.ClockOffsetMS).
		AddField("sync_error", h.SyncError).
		AddField("src_asn", int64(it.Geo.ASN))
	st.SortTags()
	pts := []*write.Point{st}
	for _, s := range h.Schedules {
		p := base(ProbeSchedule).AddTag("schedule", s.Name).
			AddField("last_start_ms", unixMS(s.LastStart)).
			AddField("last_end_ms", unixMS(s.LastEnd)).
			AddField("measurements", int64(s.Measurements)).
			AddField("next_ms", unixMS(s.Next))
		p.SortTags()
		pts = append(pts, p)
	}
	return pts
}

// WriteHeartbeat stores a heartbeat; like Write, nil means InfluxDB accepted it.
func (s *Store) WriteHeartbeat(ctx context.Context, it HeartbeatItem) error {
	if it.H == nil {
		return fmt.Errorf("heartbeat: nil")
	}
	return s.writePoints(ctx, HeartbeatPoints(it))
}

// unixMS is t in Unix milliseconds, 0 for the zero time (never ran).
func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
