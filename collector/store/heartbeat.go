package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
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
// time (a probe's clock may be off; its offset is a field). WriteHeartbeat encodes the
// same points straight to line protocol; TestHeartbeatLineProtocolMatchesPoints checks
// they agree.
func HeartbeatPoints(it HeartbeatItem) []*write.Point {
	var ps pointSink
	if err := mapHeartbeat(it, &ps); err != nil {
		return nil
	}
	return ps.pts
}

// WriteHeartbeat stores a heartbeat the way Write stores measurements (the same encoding,
// group commit and errors); like Write, nil means InfluxDB accepted it.
func (s *Store) WriteHeartbeat(ctx context.Context, it HeartbeatItem) error {
	l := lineSink{buf: getLineBuf()}
	if err := mapHeartbeat(it, &l); err != nil {
		putLineBuf(l.buf)
		return err
	}
	l.end()
	return s.send(ctx, l.buf, []*part{newPart(l.buf, l.points)})
}

// mapHeartbeat gives the points of it to s: one probe_status point and one probe_schedule
// point per schedule, tagged with the identity (empty tags omitted).
func mapHeartbeat(it HeartbeatItem, s sink) error {
	h := it.H
	if h == nil {
		return fmt.Errorf("heartbeat: nil")
	}
	if math.IsNaN(h.ClockOffsetMS) || math.IsInf(h.ClockOffsetMS, 0) {
		return fmt.Errorf("heartbeat: clock_offset_ms %v is not a number InfluxDB stores", h.ClockOffsetMS)
	}
	sched, err := json.Marshal(h.Schedules)
	if err != nil {
		return fmt.Errorf("heartbeat: encoding the schedules: %w", err)
	}
	ts := it.ReceivedAt.UTC().Truncate(time.Millisecond)
	// Sorted by key, as the sink wants them; the schedule tag sorts last.
	tags := make([]tag, 0, 5)
	for _, t := range []tag{{"asn", asn(it.Probe.ASN)}, {"country", it.Probe.Country}, {"network", it.Probe.Network}, {"probe", it.Probe.Probe}} {
		if t.v != "" {
			tags = append(tags, t)
		}
	}
	s.point(ProbeStatus, ts, tags)
	s.integer("sent_at_ms", unixMS(h.SentAt))
	s.str("version", h.Software.Version)
	s.str("schedules_hash", h.SchedulesHash)
	s.bytes("schedules", sched)
	s.integer("spool_depth", int64(h.SpoolDepth))
	s.integer("spool_bytes", h.SpoolBytes)
	s.integer("dropped", h.Dropped)
	s.integer("rejected", h.Rejected)
	s.integer("corrupt", h.Corrupt)
	s.integer("pruned", h.Pruned)
	s.float("clock_offset_ms", h.ClockOffsetMS)
	s.str("sync_error", h.SyncError)
	if h.UplinkError != "" {
		s.str("uplink_error", h.UplinkError)
	}
	if h.ControlBusy != 0 || h.ControlFailed != 0 {
		s.integer("control_busy", h.ControlBusy)
		s.integer("control_failed", h.ControlFailed)
	}
	s.integer("src_asn", int64(it.Geo.ASN))
	for _, sc := range h.Schedules {
		st := tags
		if sc.Name != "" {
			st = append(tags[:len(tags):len(tags)], tag{"schedule", sc.Name})
		}
		s.point(ProbeSchedule, ts, st)
		s.integer("last_start_ms", unixMS(sc.LastStart))
		s.integer("last_end_ms", unixMS(sc.LastEnd))
		s.integer("measurements", int64(sc.Measurements))
		s.integer("next_ms", unixMS(sc.Next))
	}
	return nil
}

// unixMS is t in Unix milliseconds, 0 for the zero time (never ran).
func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
