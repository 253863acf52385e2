package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/internal/influxql"
	"github.com/pantau-dev/pantau/internal/measurement"
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
	// Raw is the measurement's JSON exactly as the probe submitted it.
	Raw        []byte
	Probe      Identity
	Geo        Geo
	ReceivedAt time.Time
	// At is the time of its points: started_at to the millisecond and an offset
	// (docs/storage.md, Timestamps).
	At time.Time
	// Conflicts counts points with other content for the same (probe, id) that the read
	// found and left out: this one was received first. Normally 0.
	Conflicts int
}

// pageKey identifies one stored point: its time, ID and probe.
type pageKey struct {
	t         time.Time
	id, probe string
}

// compareKeys orders keys newest first, then by ID and probe, descending.
func compareKeys(a, b pageKey) int {
	if c := b.t.Compare(a.t); c != 0 {
		return c
	}
	if c := strings.Compare(b.id, a.id); c != 0 {
		return c
	}
	return strings.Compare(b.probe, a.probe)
}

// plan is a validated Filter.
type plan struct {
	tags     string // InfluxQL conditions on tags, each starting with " AND "
	from, to time.Time
	limit    int
	after    *pageKey
}

// Measurements returns stored measurements matching f, newest first (by started_at, then
// by ID and probe), at most f.Limit of them, and the cursor of the next page ("" on the
// last). A (probe, id) is listed once per page, with its first received content.
// Every value of f is validated before it reaches InfluxQL, and quoted there anyway.
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
		if n.name == "domain" {
			if err := CheckDomain(n.v); err != nil {
				return p, err
			}
		} else if n.name == "probe" && !ValidProbe(n.v) {
			return p, badFilter("%s: %q %s", n.name, n.v, ProbeRule)
		}
		p.tags += fmt.Sprintf(" AND %s::tag = %s", influxql.Ident(n.name), influxql.String(n.v))
	}
	if p.to.IsZero() {
		p.to = now.Add(DefaultSpan)
	}
	if p.from.IsZero() {
		p.from = now.Add(-DefaultSpan)
	}
	p.from, p.to = clampTime(p.from), clampTime(p.to)
	if !p.from.Before(p.to) {
		return p, badFilter("from: %s is not before to: %s", timeText(p.from), timeText(p.to))
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

// ValidNetwork reports whether s may be a network filter: the rule of network names at
// token issue and ingest (auth.ValidNetwork), so that every network stored can be asked
// for and nothing else reaches a query.
func ValidNetwork(s string) bool { return auth.ValidNetwork(s) }

// ProbeRule says what ValidProbe accepts, for error messages.
const ProbeRule = "may hold only letters, digits, '.', '_' and '-', and one '/' after an import's source as in ooni/AS7713 (at most 253)"

// ValidProbe reports whether s can name a probe: a token's probe name (ValidName), or an
// imported probe's SOURCE/NAME (`collector import ooni` stores ooni/AS7713), which no
// token can name.
func ValidProbe(s string) bool {
	src, name, ok := strings.Cut(s, "/")
	if !ok {
		return ValidName(s)
	}
	return len(s) <= maxName && ValidName(src) && ValidName(name)
}

// ValidName reports whether s may be a probe filter or a name of the same rule (order IDs,
// bucket parts): 1 to 253 of letters, digits, '.', '_' and '-'. Domains follow measurement.CheckDomain.
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

// pageKeys finds the keys of the page (plus one, to know whether another page follows),
// newest first, reading only the small `id` field. InfluxQL orders by time only: the keys
// at the two boundary timestamps (the cursor's, and the oldest of the page) are read in
// full and sorted by ID here, so ties never repeat or skip a measurement across pages.
func (s *Store) pageKeys(ctx context.Context, p plan) ([]pageKey, error) {
	stop := p.to
	var keys []pageKey
	if a := p.after; a != nil && a.t.Before(stop) {
		stop = a.t // what follows at a.t itself: the IDs below the cursor's
		if !a.t.Before(p.from) {
			ties, err := s.keysAt(ctx, p, a.t)
			if err != nil {
				return nil, err
			}
			for _, k := range ties {
				if compareKeys(*a, k) < 0 { // after the cursor
					keys = append(keys, k)
				}
			}
		}
	}
	sortKeys := func() {
		slices.SortFunc(keys, compareKeys)
		// A point stored under two identities of one probe (a token reissued with
		// another network) is listed once.
		keys = slices.Compact(keys)
	}
	sortKeys()
	// Normally one round; another only when points stored twice left fewer than limit+1.
	for p.from.Before(stop) && len(keys) <= p.limit {
		var got []pageKey
		n := p.limit + 1 - len(keys)
		q := fmt.Sprintf(`SELECT "id", "probe"::tag FROM %s WHERE time >= %s AND time < %s%s ORDER BY time DESC LIMIT %d`,
			influxql.Ident(Reach), influxql.Time(p.from), influxql.Time(stop), p.tags, n)
		if err := s.influxQL(ctx, q, keysOf(&got)); err != nil {
			return nil, err
		}
		if len(got) < n { // everything left
			keys = append(keys, got...)
			sortKeys()
			break
		}
		// The limit may have cut the oldest timestamp's keys: read them all.
		last := got[len(got)-1].t
		for len(got) > 0 && got[len(got)-1].t.Equal(last) {
			got = got[:len(got)-1]
		}
		ties, err := s.keysAt(ctx, p, last)
		if err != nil {
			return nil, err
		}
		keys = append(append(keys, got...), ties...)
		sortKeys()
		stop = last
	}
	if len(keys) > p.limit+1 {
		keys = keys[:p.limit+1]
	}
	return keys, nil
}

// keysAt reads the keys of every measurement matching p at exactly t.
func (s *Store) keysAt(ctx context.Context, p plan, t time.Time) ([]pageKey, error) {
	var keys []pageKey
	q := fmt.Sprintf(`SELECT "id", "probe"::tag FROM %s WHERE time = %s%s`, influxql.Ident(Reach), influxql.Time(t), p.tags)
	err := s.influxQL(ctx, q, keysOf(&keys))
	return keys, err
}

// keysOf collects the keys of an answer with the columns time, id and probe.
func keysOf(keys *[]pageKey) func(int, *influxql.Series) error {
	return func(_ int, se *influxql.Series) error {
		id, probe := se.Col("id"), se.Col("probe")
		for _, row := range se.Values {
			t, err := rowTime(row)
			if err != nil {
				return err
			}
			if id < 0 || probe < 0 || influxql.Text(row[id]) == "" {
				return fmt.Errorf("query result: id is %v, not a string", row)
			}
			*keys = append(*keys, pageKey{t: t, id: influxql.Text(row[id]), probe: influxql.Text(row[probe])})
		}
		return nil
	}
}

// fetch reads the stored measurements of keys (sorted newest first), scanning only the
// page's time span. A (probe, id) with points of other content in the page keeps the one
// received first (firstReceived).
func (s *Store) fetch(ctx context.Context, p plan, keys []pageKey) ([]StoredMeasurement, error) {
	out := make([]StoredMeasurement, 0, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	q := fmt.Sprintf(`SELECT "id", "received_at_ms", "src_asn", "src_org", /^raw(_[0-9]+)?$/ FROM %s WHERE time >= %s AND time < %s%s GROUP BY "probe", "network", "country", "asn"`,
		influxql.Ident(Reach), influxql.Time(keys[len(keys)-1].t), influxql.Time(keys[0].t.Add(time.Nanosecond)), p.tags)
	found := map[pageKey]*StoredMeasurement{}
	for _, k := range keys {
		found[k] = nil
	}
	err := s.influxQL(ctx, q, func(_ int, se *influxql.Series) error {
		cols := newRowCols(se)
		for _, row := range se.Values {
			t, err := rowTime(row)
			if err != nil {
				return err
			}
			id := cols.text(row, "id")
			k := pageKey{t: t, id: id, probe: se.Tags["probe"]}
			if prev, ok := found[k]; !ok || prev != nil && !receivedBefore(cols, row, prev) {
				continue // outside the page, or the same point under another identity
			}
			sm, err := decodeRow(se, cols, row)
			if err != nil {
				return fmt.Errorf("measurement %s: %w", id, err)
			}
			sm.At = t
			found[k] = sm
		}
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
	return s.firstReceived(out), nil
}

// receivedBefore says whether row was received before prev: of two points of one
// measurement under two identities, the first received is kept.
func receivedBefore(cols rowCols, row []any, prev *StoredMeasurement) bool {
	ms := int64(0)
	if i, ok := cols.byName["received_at_ms"]; ok {
		ms, _ = influxql.Int(row[i])
	}
	return ms != 0 && (prev.ReceivedAt.IsZero() || ms < prev.ReceivedAt.UnixMilli())
}

// firstReceived keeps, of the measurements of one (probe, id) with different content (a
// probe that reused an ID, past Write's check), the one received first (then the
// earliest), counting the others in its Conflicts, and logs them.
func (s *Store) firstReceived(ms []StoredMeasurement) []StoredMeasurement {
	type pid struct{ probe, id string }
	first := make(map[pid]int, len(ms))
	drop := false
	for i := range ms {
		k := pid{ms[i].Probe.Probe, ms[i].Measurement.ID}
		j, ok := first[k]
		if !ok {
			first[k] = i
			continue
		}
		drop = true
		keep, lose := j, i
		if earlier(ms[i], ms[j]) {
			keep, lose = i, j
			first[k] = i
		}
		ms[keep].Conflicts += 1 + ms[lose].Conflicts
		ms[lose].Conflicts = -1
		s.log.Warn("measurement stored twice with different content; the later received is left out",
			"probe", k.probe, "id", k.id, "kept_at", ms[keep].At, "left_out_at", ms[lose].At)
	}
	if !drop {
		return ms
	}
	return slices.DeleteFunc(ms, func(m StoredMeasurement) bool { return m.Conflicts < 0 })
}

// earlier orders two stored copies of one (probe, id): first received, then first stored.
func earlier(a, b StoredMeasurement) bool {
	if !a.ReceivedAt.Equal(b.ReceivedAt) {
		return !a.ReceivedAt.IsZero() && (b.ReceivedAt.IsZero() || a.ReceivedAt.Before(b.ReceivedAt))
	}
	return a.At.Before(b.At)
}

// decodeRow rebuilds a stored measurement from a reach row of a series grouped by the
// identity tags. The measurement is normalised as ingest normalises it (empty lists).
func decodeRow(se *influxql.Series, cols rowCols, row []any) (*StoredMeasurement, error) {
	sm := &StoredMeasurement{Raw: []byte(cols.rawJSON(row))}
	if err := json.Unmarshal(sm.Raw, &sm.Measurement); err != nil {
		return nil, fmt.Errorf("decoding the stored JSON: %w", err)
	}
	sm.Measurement.Normalise()
	tag := func(k string) string { return se.Tags[k] }
	sm.Probe = Identity{Probe: tag("probe"), Network: tag("network"), Country: tag("country")}
	if v, err := strconv.ParseUint(tag("asn"), 10, 32); err == nil {
		sm.Probe.ASN = uint32(v)
	}
	if i, ok := cols.byName["src_asn"]; ok {
		if v, ok := influxql.Int(row[i]); ok {
			sm.Geo.ASN = uint32(v)
		}
	}
	sm.Geo.Org = cols.text(row, "src_org")
	if i, ok := cols.byName["received_at_ms"]; ok {
		if v, ok := influxql.Int(row[i]); ok && v != 0 {
			sm.ReceivedAt = time.UnixMilli(v).UTC()
		}
	}
	return sm, nil
}

// timeText writes t for messages (RFC 3339, UTC).
func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

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

// Cursors are opaque to clients: base64url of "v2 UNIXNANO ID PROBE". A "v1 UNIXNANO ID"
// cursor (before probes were part of the key) continues after every probe's ID.
func encodeCursor(k pageKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v2 " + strconv.FormatInt(k.t.UnixNano(), 10) + " " + k.id + " " + k.probe))
}

func decodeCursor(c string) (pageKey, error) {
	bad := badFilter("cursor: %q is not a cursor from a previous page", c)
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return pageKey{}, bad
	}
	parts := strings.Split(string(b), " ")
	switch {
	case len(parts) == 3 && parts[0] == "v1":
		parts = append(parts, "")
	case len(parts) == 4 && parts[0] == "v2" && (parts[3] == "" || ValidProbe(parts[3])):
	default:
		return pageKey{}, bad
	}
	if !ValidName(parts[2]) {
		return pageKey{}, bad
	}
	ns, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || ns < 0 {
		return pageKey{}, bad
	}
	return pageKey{t: time.Unix(0, ns).UTC(), id: parts[2], probe: parts[3]}, nil
}
