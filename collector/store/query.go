package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/query"

	"github.com/pantau-dev/pantau/measurement"
)

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	// DefaultSpan is how far back From defaults; To defaults to as far ahead, since
	// probe clocks may run up to a day fast.
	DefaultSpan = 24 * time.Hour
	maxName     = 253
)

// ErrBadFilter marks errors about the filter itself (a bad name, range, limit or cursor):
// the caller should answer 400.
var ErrBadFilter = errors.New("bad filter")

type filterError string

func (e filterError) Error() string        { return string(e) }
func (e filterError) Is(target error) bool { return target == ErrBadFilter }

func badFilter(format string, a ...any) error { return filterError(fmt.Sprintf(format, a...)) }

// Filter selects stored measurements. Empty names match everything. The time range
// applies to started_at: From inclusive, To exclusive; From defaults to DefaultSpan ago
// and To to DefaultSpan ahead.
type Filter struct {
	Domain, Network, Probe string
	From, To               time.Time
	Limit                  int    // 1..MaxLimit; 0 means DefaultLimit
	After                  string // the cursor returned with the previous page
}

// StoredMeasurement is a measurement as stored, with who submitted it and from where.
type StoredMeasurement struct {
	Measurement measurement.Measurement
	Probe       Identity
	Geo         Geo
	ReceivedAt  time.Time
}

// pageKey identifies one stored measurement: its point time and ID.
type pageKey struct {
	t  time.Time
	id string
}

// plan is a validated Filter.
type plan struct {
	tags     string // Flux conditions on tags, each starting with " and "
	from, to time.Time
	limit    int
	after    *pageKey
}

// Measurements returns stored measurements matching f, newest first (by started_at, then
// by ID), at most f.Limit of them, and the cursor of the next page ("" on the last).
// Every value of f is validated before it reaches Flux, and quoted there anyway.
func (s *Store) Measurements(ctx context.Context, f Filter) ([]StoredMeasurement, string, error) {
	p, err := newPlan(f, time.Now())
	if err != nil {
		return nil, "", err
	}
	keys, err := s.pageKeys(ctx, p)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(keys) > p.limit {
		keys = keys[:p.limit]
		next = encodeCursor(keys[len(keys)-1])
	}
	items, err := s.fetch(ctx, p, keys)
	if err != nil {
		return nil, "", err
	}
	return items, next, nil
}

func newPlan(f Filter, now time.Time) (plan, error) {
	p := plan{from: f.From, to: f.To, limit: f.Limit}
	for _, n := range []struct{ name, v string }{{"domain", f.Domain}, {"network", f.Network}, {"probe", f.Probe}} {
		if n.v == "" {
			continue
		}
		if n.name == "network" && !ValidNetwork(n.v) {
			return p, badFilter("network: %q may hold only letters, digits, spaces, '.', '_' and '-' (at most %d)", n.v, maxName)
		}
		if n.name != "network" && !ValidName(n.v) {
			return p, badFilter("%s: %q may hold only letters, digits, '.', '_' and '-' (at most %d)", n.name, n.v, maxName)
		}
		p.tags += fmt.Sprintf(" and r.%s == %s", n.name, fluxString(n.v))
	}
	if p.to.IsZero() {
		p.to = now.Add(DefaultSpan)
	}
	if p.from.IsZero() {
		p.from = now.Add(-DefaultSpan)
	}
	p.from, p.to = clampTime(p.from), clampTime(p.to)
	if !p.from.Before(p.to) {
		return p, badFilter("from: %s is not before to: %s", fluxTime(p.from), fluxTime(p.to))
	}
	switch {
	case p.limit == 0:
		p.limit = DefaultLimit
	case p.limit < 0 || p.limit > MaxLimit:
		return p, badFilter("limit: %d is not from 1 to %d", p.limit, MaxLimit)
	}
	if f.After != "" {
		k, err := decodeCursor(f.After)
		if err != nil {
			return p, err
		}
		p.after = &k
	}
	return p, nil
}

// ValidNetwork reports whether s may be a network filter: as ValidName, plus inner
// spaces, since networks are named as people call them ("Indosat Ooredoo").
func ValidNetwork(s string) bool {
	return s == strings.TrimSpace(s) && !strings.Contains(s, "  ") && ValidName(strings.ReplaceAll(s, " ", "-"))
}

// ValidName reports whether s may be a domain, network or probe filter: 1 to 253 of
// letters, digits, '.', '_' and '-'.
func ValidName(s string) bool {
	if s == "" || len(s) > maxName {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// pageKeys finds the keys of the page (plus one, to know whether another page follows)
// reading only the small `id` field. The stop of range() is exclusive on InfluxDB 2.x but
// inclusive on 1.8: the filter on _time makes To exclusive on both.
func (s *Store) pageKeys(ctx context.Context, p plan) ([]pageKey, error) {
	stop := p.to
	cursor := ""
	if a := p.after; a != nil {
		if a.t.Before(stop) {
			stop = a.t.Add(time.Nanosecond)
		}
		cursor = fmt.Sprintf("\n  |> filter(fn: (r) => r._time < %s or (r._time == %s and r._value < %s))",
			fluxTime(a.t), fluxTime(a.t), fluxString(a.id))
	}
	if !p.from.Before(stop) {
		return nil, nil
	}
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %q and r._field == "id" and r._time < %s%s)%s
  |> keep(columns: ["_time", "_value"])
  |> group()
  |> sort(columns: ["_time", "_value"], desc: true)
  |> limit(n: %d)`, fluxString(s.cfg.Bucket), fluxTime(p.from), fluxTime(stop), Reach, fluxTime(stop), p.tags, cursor, p.limit+1)
	var keys []pageKey
	err := s.run(ctx, flux, func(r *query.FluxRecord) error {
		id, ok := r.Value().(string)
		if !ok {
			return fmt.Errorf("id is %T, not a string", r.Value())
		}
		keys = append(keys, pageKey{t: r.Time(), id: id})
		return nil
	})
	return keys, err
}

// fetch reads the stored measurements of keys (sorted newest first), scanning only the
// page's time span.
func (s *Store) fetch(ctx context.Context, p plan, keys []pageKey) ([]StoredMeasurement, error) {
	out := make([]StoredMeasurement, 0, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %q%s)
  |> filter(fn: (r) => r._field == "id" or r._field == "received_at_ms" or r._field == "src_asn" or r._field == "src_org" or r._field =~ /^raw(_[0-9]+)?$/)
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
		fluxString(s.cfg.Bucket), fluxTime(keys[len(keys)-1].t), fluxTime(keys[0].t.Add(time.Nanosecond)), Reach, p.tags)
	found := map[pageKey]*StoredMeasurement{}
	for _, k := range keys {
		found[k] = nil
	}
	err := s.run(ctx, flux, func(r *query.FluxRecord) error {
		id, _ := r.ValueByKey("id").(string)
		k := pageKey{t: r.Time(), id: id}
		if prev, ok := found[k]; !ok || prev != nil {
			return nil // outside the page, or the same ID stored under a second identity
		}
		sm, err := decodeRecord(r)
		if err != nil {
			return fmt.Errorf("measurement %s: %w", id, err)
		}
		found[k] = sm
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		sm := found[k]
		if sm == nil { // deleted between the two queries
			s.log.Debug("measurement vanished while reading a page", "id", k.id)
			continue
		}
		out = append(out, *sm)
	}
	return out, nil
}

// decodeRecord rebuilds a stored measurement from a pivoted reach row.
func decodeRecord(r *query.FluxRecord) (*StoredMeasurement, error) {
	var raw strings.Builder
	for i := 0; ; i++ {
		part, ok := r.ValueByKey(rawField(i)).(string)
		if !ok {
			break
		}
		raw.WriteString(part)
	}
	sm := &StoredMeasurement{}
	if err := json.Unmarshal([]byte(raw.String()), &sm.Measurement); err != nil {
		return nil, fmt.Errorf("decoding the stored JSON: %w", err)
	}
	text := func(k string) string { v, _ := r.ValueByKey(k).(string); return v }
	sm.Probe = Identity{Probe: text("probe"), Network: text("network"), Country: text("country")}
	if v, err := strconv.ParseUint(text("asn"), 10, 32); err == nil {
		sm.Probe.ASN = uint32(v)
	}
	if v, ok := r.ValueByKey("src_asn").(int64); ok {
		sm.Geo.ASN = uint32(v)
	}
	sm.Geo.Org = text("src_org")
	if v, ok := r.ValueByKey("received_at_ms").(int64); ok && v != 0 {
		sm.ReceivedAt = time.UnixMilli(v).UTC()
	}
	return sm, nil
}

// run executes a Flux query and calls f for each record.
func (s *Store) run(ctx context.Context, flux string, f func(*query.FluxRecord) error) error {
	res, err := s.query.Query(ctx, flux)
	if err != nil {
		return s.classify(ctx, "querying "+s.cfg.Bucket, err)
	}
	defer res.Close()
	for res.Next() {
		if err := f(res.Record()); err != nil {
			return err
		}
	}
	if err := res.Err(); err != nil {
		return s.classify(ctx, "reading query results from "+s.cfg.Bucket, err)
	}
	return nil
}

// fluxEscaper escapes what is special in a Flux string literal: the quote, the backslash
// and "$" (interpolation). "$" becomes the byte escape \x24: Flux's scanner reads "$" and
// the character after it as one unit, so "\${" cannot follow a "$".
var fluxEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\x24`, "\n", `\n`, "\r", `\r`, "\t", `\t`)

// fluxString quotes s as a Flux string literal.
func fluxString(s string) string {
	return `"` + fluxEscaper.Replace(s) + `"`
}

// fluxTime writes t as a Flux date-time literal.
func fluxTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// clampTime keeps t within what InfluxDB's nanosecond timestamps can hold.
func clampTime(t time.Time) time.Time {
	lo, hi := time.Unix(0, 0), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	switch {
	case t.Before(lo):
		return lo
	case t.After(hi):
		return hi
	}
	return t
}

// Cursors are opaque to clients: base64url of "v1 UNIXNANO ID".
func encodeCursor(k pageKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1 " + strconv.FormatInt(k.t.UnixNano(), 10) + " " + k.id))
}

func decodeCursor(c string) (pageKey, error) {
	bad := badFilter("cursor: %q is not a cursor from a previous page", c)
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return pageKey{}, bad
	}
	parts := strings.Split(string(b), " ")
	if len(parts) != 3 || parts[0] != "v1" || !ValidName(parts[2]) {
		return pageKey{}, bad
	}
	ns, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || ns < 0 {
		return pageKey{}, bad
	}
	return pageKey{t: time.Unix(0, ns).UTC(), id: parts[2]}, nil
}
