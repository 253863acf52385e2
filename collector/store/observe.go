package store

import (
	"context"
	"fmt"
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
		if !ValidName(f.Probe) {
			return p, badFilter("probe: %q may hold only letters, digits, '.', '_' and '-' (at most %d)", f.Probe, maxName)
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
// counted and logged.
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
	slices.SortFunc(out, func(a, b timeline.Obs) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
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

// RawJSON returns the stored JSON of the reach points matching f, by measurement ID:
// `raw`, `raw_1`, … concatenated, exactly the bytes the collector wrote. Keep f's range
// short: this reads the largest field.
func (s *Store) RawJSON(ctx context.Context, f ObsFilter) (map[string]string, error) {
	p, err := newObsPlan(f, time.Now())
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf(`SELECT "id", /^raw(_[0-9]+)?$/ FROM %s WHERE %s%s%s`, influxql.Ident(Reach), p.timeRange(), p.domains, p.others)
	out := map[string]string{}
	err = s.influxQL(ctx, q, func(_ int, se *influxql.Series) error {
		cols := newRowCols(se)
		for _, row := range se.Values {
			if id := cols.text(row, "id"); id != "" {
				out[id] = cols.rawJSON(row)
			}
		}
		return nil
	})
	return out, err
}
