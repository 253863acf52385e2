package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/internal/influxql"
)

// Fleet measurements: what the collector records about its probes' tokens, besides their
// heartbeats (docs/storage.md, Fleet records).
const (
	TokenIssued  = "token"         // one point per token issued (tag id)
	TokenRevoked = "token_revoked" // one point per revocation entry (tag entry)
	EnrolCode    = "enrol_code"    // one point per enrolment code used (tag code)
)

// LatestBeat is a probe's latest heartbeat (a probe_status point).
type LatestBeat struct {
	Identity
	At            time.Time // when the collector received it
	Version       string
	SchedulesHash string
	SpoolDepth    int64
	SpoolBytes    int64
	Dropped       int64
	Rejected      int64
	ClockOffsetMS float64
	SyncError     string
	UplinkError   string
	ControlBusy   int64
	ControlFailed int64
}

// statusFields are the probe_status columns read, in this order after time.
var statusFields = []string{"network", "country", "asn", "version", "schedules_hash", "spool_depth", "spool_bytes",
	"dropped", "rejected", "clock_offset_ms", "sync_error", "uplink_error", "control_busy", "control_failed"}

// ProbeStatuses returns the latest heartbeat of every probe that sent one since since,
// sorted by probe. Its network, country and ASN are those of the token it came with.
func (s *Store) ProbeStatuses(ctx context.Context, since time.Time) ([]LatestBeat, error) {
	cols := make([]string, len(statusFields))
	for i, f := range statusFields {
		cols[i] = influxql.Ident(f)
		if i < 3 {
			cols[i] += "::tag"
		}
	}
	q := fmt.Sprintf(`SELECT %s FROM %s WHERE time >= %s GROUP BY "probe" ORDER BY time DESC LIMIT 1`,
		strings.Join(cols, ", "), influxql.Ident(ProbeStatus), influxql.Time(since))
	var out []LatestBeat
	err := s.influxQL(ctx, q, func(_ int, se *influxql.Series) error {
		for _, row := range se.Values {
			p, err := probeStatusRow(se.Tags["probe"], row)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b LatestBeat) int { return strings.Compare(a.Probe, b.Probe) })
	return out, nil
}

func probeStatusRow(probe string, row []any) (LatestBeat, error) {
	at, err := rowTime(row)
	if err != nil {
		return LatestBeat{}, err
	}
	if len(row) != len(statusFields)+1 {
		return LatestBeat{}, fmt.Errorf("query result: %d columns, want %d", len(row), len(statusFields)+1)
	}
	v := row[1:]
	num := func(i int) int64 { n, _ := influxql.Int(v[i]); return n }
	asnV, _ := strconv.ParseUint(influxql.Text(v[2]), 10, 32)
	p := LatestBeat{Identity: Identity{Probe: probe, Network: influxql.Text(v[0]), Country: influxql.Text(v[1]), ASN: uint32(asnV)},
		At: at, Version: influxql.Text(v[3]), SchedulesHash: influxql.Text(v[4]), SpoolDepth: num(5), SpoolBytes: num(6),
		Dropped: num(7), Rejected: num(8), SyncError: influxql.Text(v[10]), UplinkError: influxql.Text(v[11]),
		ControlBusy: num(12), ControlFailed: num(13)}
	if n, ok := v[9].(json.Number); ok {
		p.ClockOffsetMS, _ = n.Float64()
	}
	return p, nil
}

// writeLines stores the points fill gives a line sink, as WriteHeartbeat does.
func (s *Store) writeLines(ctx context.Context, fill func(l *lineSink)) error {
	l := lineSink{buf: getLineBuf()}
	fill(&l)
	l.end()
	return s.send(ctx, l.buf, []*part{newPart(l.buf, l.points)})
}

// firstAt returns the time of the first point of measurement whose tag key is value, and
// whether there is one.
func (s *Store) firstAt(ctx context.Context, measurement, key, value, field string) (time.Time, bool, error) {
	q := fmt.Sprintf(`SELECT %s FROM %s WHERE %s::tag = %s ORDER BY time ASC LIMIT 1`,
		influxql.Ident(field), influxql.Ident(measurement), influxql.Ident(key), influxql.String(value))
	var at time.Time
	found := false
	err := s.influxQL(ctx, q, func(_ int, se *influxql.Series) error {
		for _, row := range se.Values {
			t, err := rowTime(row)
			if err != nil {
				return err
			}
			at, found = t, true
		}
		return nil
	})
	return at, found, err
}

// CodeUsed reports whether the enrolment code with id was used, and when.
func (s *Store) CodeUsed(ctx context.Context, id string) (time.Time, bool, error) {
	return s.firstAt(ctx, EnrolCode, "code", id, "probe")
}

// UseCode records that the enrolment code id was used at at by probe, which got the token
// tokenID. The record is what refuses the code a second time, on every replica and after
// restarts (CodeUsed).
func (s *Store) UseCode(ctx context.Context, id, probe, tokenID string, at time.Time) error {
	return s.writeLines(ctx, func(l *lineSink) {
		l.point(EnrolCode, at.UTC().Truncate(time.Millisecond), []tag{{"code", id}})
		l.str("probe", probe)
		l.str("token_id", tokenID)
	})
}
