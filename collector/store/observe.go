package store

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/influxql"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// MaxObsNames bounds the names of one ObsFilter list (domains or networks).
const MaxObsNames = 1000

// ObsFilter selects observations (reach points reduced to timeline.Obs) and heartbeats.
// Empty lists and an empty Probe match everything; From (inclusive) and To (exclusive)
// default like Filter's (DefaultSpan around now).
type ObsFilter struct {
	Domains, Networks []string
	Probe             string
	From, To          time.Time
}

// obsPlan is a validated ObsFilter: the InfluxQL conditions on tags and the range.
type obsPlan struct {
	domains, others string // " AND (…)" conditions; domains apply to reach only
	from, to        time.Time
}

func newObsPlan(f ObsFilter, now time.Time) (obsPlan, error) {
	p := obsPlan{from: f.From, to: f.To}
	var err error
	if p.domains, err = anyOf("domain", f.Domains, CheckDomain); err != nil {
		return p, err
	}
	nets, err := anyOf("network", f.Networks, func(n string) error {
		if !ValidNetwork(n) {
			return badFilter("network: %q may hold only letters, digits, spaces, '.', '_' and '-' (at most %d)", n, maxName)
		}
		return nil
	})
	if err != nil {
		return p, err
	}
	p.others = nets
	if f.Probe != "" {
		if !ValidProbe(f.Probe) {
			return p, badFilter("probe: %q %s", f.Probe, ProbeRule)
		}
		p.others += ` AND "probe"::tag = ` + influxql.String(f.Probe)
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
	return p, nil
}

// ValidDomain reports whether s may be a domain filter: measurement.CheckDomain, the rule
// of domains at ingest, so that every domain stored can be asked for and nothing else
// reaches a query.
func ValidDomain(s string) bool { return measurement.CheckDomain(s) == nil }

// CheckDomain is measurement.CheckDomain as a filter error (ErrBadFilter) naming the
// field: `domain: "…" is not ASCII: …`.
func CheckDomain(s string) error {
	if err := measurement.CheckDomain(s); err != nil {
		return badFilter("domain: %v", err)
	}
	return nil
}

// anyOf validates names and returns the InfluxQL condition
// ` AND ("tag"::tag = 'a' OR "tag"::tag = 'b')`,
// or "" for no names. check gives the error of a bad name.
func anyOf(tag string, names []string, check func(string) error) (string, error) {
	if len(names) > MaxObsNames {
		return "", badFilter("%s: %d names, more than %d", tag, len(names), MaxObsNames)
	}
	var conds []string
	for _, n := range names {
		if err := check(n); err != nil {
			return "", err
		}
		conds = append(conds, influxql.Ident(tag)+"::tag = "+influxql.String(n))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " AND (" + strings.Join(conds, " OR ") + ")", nil
}

// timeRange is the InfluxQL condition on time of p: From inclusive, To exclusive.
func (p obsPlan) timeRange() string {
	return "time >= " + influxql.Time(p.from) + " AND time < " + influxql.Time(p.to)
}

// Observations returns the reach points matching f as timeline observations, sorted by
// At then ID. Points without an ID or a status cannot be observations: they are skipped,
// counted and logged. A (probe, id) stored more than once (other content, past Write's
// check, or under two identities) is observed once, as received first (firstObserved).
func (s *Store) Observations(ctx context.Context, f ObsFilter) ([]timeline.Obs, error) {
	p, err := newObsPlan(f, time.Now())
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf(`SELECT "id", "status", "method" FROM %s WHERE %s%s%s GROUP BY "probe", "network", "domain"`,
		influxql.Ident(Reach), p.timeRange(), p.domains, p.others)
	var out []timeline.Obs
	in := interner{}
	skipped := 0
	err = s.influxQL(ctx, q, func(_ int, se *influxql.Series) error {
		probe, network, domain := in.get(se.Tags["probe"]), in.get(se.Tags["network"]), in.get(se.Tags["domain"])
		id, status, method := se.Col("id"), se.Col("status"), se.Col("method")
		if id < 0 || status < 0 || method < 0 {
			return fmt.Errorf("query result: columns %v, want id, status and method", se.Columns)
		}
		for _, row := range se.Values {
			at, err := rowTime(row)
			if err != nil {
				return err
			}
			idv, st := influxql.Text(row[id]), influxql.Text(row[status])
			if idv == "" || st == "" {
				skipped++
				continue
			}
			out = append(out, timeline.Obs{At: at, ID: idv, Probe: probe, Network: network,
				Domain: domain, Status: timeline.State(in.get(st)), Method: in.get(influxql.Text(row[method]))})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if skipped > 0 {
		s.log.Warn("reach points without an id or a status skipped", "count", skipped, "from", p.from, "to", p.to)
	}
	if out, err = s.firstObserved(ctx, out); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b timeline.Obs) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// firstObserved keeps, of the observations of one (probe, id), the one received first
// (then the earliest) and logs how many it left out. Finding them must cost little beside
// reading the observations: a first pass marks a 64-bit hash of each (probe, id) in a
// bitmap, and only the hashes met twice (the repeated ones, and about one in twenty by
// chance) go into a map for the second pass; the receive times of the few repeated are
// read from InfluxDB.
func (s *Store) firstObserved(ctx context.Context, obs []timeline.Obs) ([]timeline.Obs, error) {
	seed := maphash.MakeSeed() // random: no probe can make two of its IDs collide here
	probe, probeHash := "", uint64(0)
	key := func(o *timeline.Obs) uint64 {
		if o.Probe != probe || probeHash == 0 {
			probe, probeHash = o.Probe, maphash.String(seed, o.Probe)*0x9e3779b97f4a7c15|1
		}
		return maphash.String(seed, o.ID) ^ probeHash
	}
	bits := 16
	for 1<<bits < 8*len(obs) {
		bits++
	}
	seen := make([]uint64, 1<<(bits-6))
	twice := map[uint64]int32{} // hash → first observation with it (-1: not met yet)
	for i := range obs {
		k := key(&obs[i])
		b := k >> (64 - bits)
		if seen[b>>6]&(1<<(b&63)) != 0 {
			twice[k] = -1
		}
		seen[b>>6] |= 1 << (b & 63)
	}
	groups := map[int32][]int32{} // first index → the other observations of its (probe, id)
	for i := range obs {
		k := key(&obs[i])
		j, ok := twice[k]
		switch {
		case !ok:
		case j < 0:
			twice[k] = int32(i)
		case obs[j].Probe == obs[i].Probe && obs[j].ID == obs[i].ID: // else two pairs with one hash
			groups[j] = append(groups[j], int32(i))
		}
	}
	if len(groups) == 0 {
		return obs, nil
	}
	received, err := s.receivedAt(ctx, obs, groups)
	if err != nil {
		return nil, err
	}
	drop := make([]bool, len(obs))
	for j, others := range groups {
		keep := j
		for _, i := range others {
			if before(received[i], received[keep], obs[i].At, obs[keep].At) {
				keep = i
			}
		}
		for _, i := range append(others, j) {
			drop[i] = i != keep
		}
		s.log.Warn("measurement stored more than once; observed as received first",
			"probe", obs[j].Probe, "id", obs[j].ID, "left_out", len(others), "kept_at", obs[keep].At)
	}
	n := 0
	for i, o := range obs {
		if !drop[i] {
			obs[n] = o
			n++
		}
	}
	return obs[:n], nil
}

// before orders two copies of a measurement: the first received (0: unknown, last), then
// the earliest point.
func before(recvA, recvB int64, atA, atB time.Time) bool {
	if recvA != recvB {
		return recvA != 0 && (recvB == 0 || recvA < recvB)
	}
	return atA.Before(atB)
}

// receivedAt reads received_at_ms of the observations in groups (keys and values), by
// index: one statement per point.
func (s *Store) receivedAt(ctx context.Context, obs []timeline.Obs, groups map[int32][]int32) (map[int32]int64, error) {
	var idx []int32
	var stmts []string
	for j, others := range groups {
		for _, i := range append([]int32{j}, others...) {
			o := obs[i]
			idx = append(idx, i)
			stmts = append(stmts, fmt.Sprintf(`SELECT "id", "received_at_ms" FROM %s WHERE "probe"::tag = %s AND time = %s`,
				influxql.Ident(Reach), influxql.String(o.Probe), influxql.Time(o.At)))
		}
	}
	out := make(map[int32]int64, len(idx))
	err := s.influxQL(ctx, strings.Join(stmts, "; "), func(stmt int, se *influxql.Series) error {
		id, recv := se.Col("id"), se.Col("received_at_ms")
		if stmt >= len(idx) || id < 0 || recv < 0 {
			return fmt.Errorf("query result: columns %v, want id and received_at_ms", se.Columns)
		}
		i := idx[stmt]
		for _, row := range se.Values {
			if influxql.Text(row[id]) != obs[i].ID {
				continue
			}
			if v, ok := influxql.Int(row[recv]); ok && (out[i] == 0 || v < out[i]) {
				out[i] = v
			}
		}
		return nil
	})
	return out, err
}

// Beats returns the heartbeats (probe_status points) matching f (Domains do not apply),
// sorted by At then Probe.
func (s *Store) Beats(ctx context.Context, f ObsFilter) ([]timeline.Beat, error) {
	f.Domains = nil
	p, err := newObsPlan(f, time.Now())
	if err != nil {
		return nil, err
	}
	// spool_depth is small and written with every heartbeat.
	q := fmt.Sprintf(`SELECT "spool_depth" FROM %s WHERE %s%s GROUP BY "probe", "network"`,
		influxql.Ident(ProbeStatus), p.timeRange(), p.others)
	var out []timeline.Beat
	in := interner{}
	err = s.influxQL(ctx, q, func(_ int, se *influxql.Series) error {
		probe, network := in.get(se.Tags["probe"]), in.get(se.Tags["network"])
		for _, row := range se.Values {
			at, err := rowTime(row)
			if err != nil {
				return err
			}
			out = append(out, timeline.Beat{At: at, Probe: probe, Network: network})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b timeline.Beat) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.Probe, b.Probe)
	})
	return out, nil
}

// interner shares one copy of repeated values (probe, network, domain, status, method)
// among the many observations a timeline keeps.
type interner map[string]string

func (in interner) get(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	in[s] = s
	return s
}

// Domains returns the domains with reach points matching f (Domains ignored), sorted. It
// reads one point per domain (SHOW TAG VALUES would ignore the time range on 1.8).
func (s *Store) Domains(ctx context.Context, f ObsFilter) ([]string, error) {
	f.Domains = nil
	p, err := newObsPlan(f, time.Now())
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf(`SELECT first("status") FROM %s WHERE %s%s GROUP BY "domain"`, influxql.Ident(Reach), p.timeRange(), p.others)
	seen := map[string]bool{}
	err = s.influxQL(ctx, q, func(_ int, se *influxql.Series) error {
		if len(se.Values) > 0 {
			seen[se.Tags["domain"]] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	delete(seen, "")
	out := make([]string, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	slices.Sort(out)
	return out, nil
}
