package store

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/pantau-dev/pantau/timeline"
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

// obsPlan is a validated ObsFilter: the Flux conditions on tags and the range.
type obsPlan struct {
	domains, others string // " and (…)" conditions; domains apply to reach only
	from, to        time.Time
}

func newObsPlan(f ObsFilter, now time.Time) (obsPlan, error) {
	p := obsPlan{from: f.From, to: f.To}
	var err error
	if p.domains, err = anyOf("domain", f.Domains, ValidName, "letters, digits, '.', '_' and '-'"); err != nil {
		return p, err
	}
	nets, err := anyOf("network", f.Networks, ValidNetwork, "letters, digits, spaces, '.', '_' and '-'")
	if err != nil {
		return p, err
	}
	p.others = nets
	if f.Probe != "" {
		if !ValidName(f.Probe) {
			return p, badFilter("probe: %q may hold only letters, digits, '.', '_' and '-' (at most %d)", f.Probe, maxName)
		}
		p.others += " and r.probe == " + fluxString(f.Probe)
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
	return p, nil
}

// anyOf validates names and returns the Flux condition " and (r.tag == a or r.tag == b)",
// or "" for no names.
func anyOf(tag string, names []string, valid func(string) bool, allowed string) (string, error) {
	if len(names) > MaxObsNames {
		return "", badFilter("%s: %d names, more than %d", tag, len(names), MaxObsNames)
	}
	var conds []string
	for _, n := range names {
		if !valid(n) {
			return "", badFilter("%s: %q may hold only %s (at most %d)", tag, n, allowed, maxName)
		}
		conds = append(conds, "r."+tag+" == "+fluxString(n))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " and (" + strings.Join(conds, " or ") + ")", nil
}

// Observations returns the reach points matching f as timeline observations, sorted by
// At then ID. Points without an ID or a status cannot be observations: they are skipped,
// counted and logged.
func (s *Store) Observations(ctx context.Context, f ObsFilter) ([]timeline.Obs, error) {
	p, err := newObsPlan(f, time.Now())
	if err != nil {
		return nil, err
	}
	// One row per point: pivot joins the three fields of each series at each time.
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %q%s%s and (r._field == "id" or r._field == "status" or r._field == "method"))
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> keep(columns: ["_time", "probe", "network", "domain", "id", "status", "method"])`,
		fluxString(s.cfg.Bucket), fluxTime(p.from), fluxTime(p.to), Reach, p.domains, p.others)
	var out []timeline.Obs
	in := interner{}
	skipped := 0
	err = s.stream(ctx, flux, []string{"_time", "probe", "network", "domain", "id", "status", "method"}, func(v []string) error {
		at, err := parseFluxTime(v[0])
		if err != nil || !at.Before(p.to) { // InfluxDB 1.8 includes range's stop
			return err
		}
		if v[4] == "" || v[5] == "" {
			skipped++
			return nil
		}
		out = append(out, timeline.Obs{At: at, ID: strings.Clone(v[4]), Probe: in.get(v[1]), Network: in.get(v[2]),
			Domain: in.get(v[3]), Status: timeline.State(in.get(v[5])), Method: in.get(v[6])})
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
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %q%s and r._field == "spool_depth")
  |> keep(columns: ["_time", "probe", "network"])`,
		fluxString(s.cfg.Bucket), fluxTime(p.from), fluxTime(p.to), ProbeStatus, p.others)
	var out []timeline.Beat
	in := interner{}
	err = s.stream(ctx, flux, []string{"_time", "probe", "network"}, func(v []string) error {
		at, err := parseFluxTime(v[0])
		if err != nil || !at.Before(p.to) { // InfluxDB 1.8 includes range's stop
			return err
		}
		out = append(out, timeline.Beat{At: at, Probe: in.get(v[1]), Network: in.get(v[2])})
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

// interner shares one copy of repeated values (probe, network, domain, status, method):
// fields of a CSV record are slices of one string per line, which must not be retained.
type interner map[string]string

func (in interner) get(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	v := strings.Clone(s)
	in[v] = v
	return v
}

// stream runs a Flux query through the v2 query API and calls f with the values of cols
// (in that order; a missing column reads as "") for each row of the annotated CSV answer.
// It reads the CSV itself: the client library's record maps cost several times more than
// the query for the large reads timelines make (see docs/api.md, Performance).
func (s *Store) stream(ctx context.Context, flux string, cols []string, f func([]string) error) error {
	what := "querying " + s.cfg.Bucket
	body, _ := json.Marshal(map[string]any{"query": flux, "type": "flux",
		"dialect": map[string]any{"header": true, "annotations": []string{"datatype", "group", "default"}}})
	u := strings.TrimRight(s.cfg.URL, "/") + "/api/v2/query?org=" + url.QueryEscape(s.cfg.Org)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/csv")
	req.Header.Set("Accept-Encoding", "identity")
	if s.cfg.Token != "" {
		req.Header.Set("Authorization", "Token "+s.cfg.Token)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return s.classify(ctx, what, &ihttp.Error{Err: err})
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		msg := strings.Join(strings.Fields(string(b)), " ")
		return s.classify(ctx, what, &ihttp.Error{StatusCode: resp.StatusCode, Message: msg,
			Err: fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)})
	}
	what = "reading query results from " + s.cfg.Bucket
	r := csv.NewReader(resp.Body)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	idx := make([]int, len(cols))
	vals := make([]string, len(cols))
	header, errCol := true, -1
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return s.classify(ctx, what, &ihttp.Error{Err: err})
		}
		switch {
		case strings.HasPrefix(rec[0], "#"):
			header = true
		case header:
			header, errCol = false, slices.Index(rec, "error")
			for i, c := range cols {
				idx[i] = slices.Index(rec, c)
			}
		case errCol >= 0 && errCol < len(rec):
			return fmt.Errorf("%s: flux error: %s", what, rec[errCol])
		default:
			for i, j := range idx {
				vals[i] = ""
				if j >= 0 && j < len(rec) {
					vals[i] = rec[j]
				}
			}
			if err := f(vals); err != nil {
				return err
			}
		}
	}
}

// parseFluxTime parses an RFC 3339 UTC time as Flux writes it (2017-07-14T01:02:03.456Z),
// without time.Parse's generality on the fast path.
func parseFluxTime(s string) (time.Time, error) {
	if len(s) >= 20 && s[len(s)-1] == 'Z' && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' {
		num := func(a, b int) int {
			n := 0
			for _, c := range []byte(s[a:b]) {
				if c < '0' || c > '9' {
					return -1
				}
				n = n*10 + int(c-'0')
			}
			return n
		}
		y, mo, d, h, mi, se := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
		ns, ok := 0, y >= 0 && mo >= 1 && d >= 1 && h >= 0 && mi >= 0 && se >= 0
		if frac := s[19 : len(s)-1]; ok && frac != "" {
			digits := frac[1:]
			ok = frac[0] == '.' && len(digits) >= 1 && len(digits) <= 9
			if ok {
				ns = num(20, 20+len(digits))
				for range 9 - len(digits) {
					ns *= 10
				}
				ok = ns >= 0
			}
		}
		if ok {
			return time.Date(y, time.Month(mo), d, h, mi, se, ns, time.UTC), nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("query result: _time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// Domains returns the domains with reach points matching f (Domains ignored), sorted. It
// reads one point per series.
func (s *Store) Domains(ctx context.Context, f ObsFilter) ([]string, error) {
	f.Domains = nil
	p, err := newObsPlan(f, time.Now())
	if err != nil {
		return nil, err
	}
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %q%s and r._field == "status")
  |> first()
  |> keep(columns: ["domain"])
  |> group()
  |> distinct(column: "domain")`,
		fluxString(s.cfg.Bucket), fluxTime(p.from), fluxTime(p.to), Reach, p.others)
	seen := map[string]bool{}
	err = s.stream(ctx, flux, []string{"_value"}, func(v []string) error {
		seen[strings.Clone(v[0])] = true
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
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %q%s%s and (r._field == "id" or r._field =~ /^raw(_[0-9]+)?$/))
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
		fluxString(s.cfg.Bucket), fluxTime(p.from), fluxTime(p.to), Reach, p.domains, p.others)
	cols := []string{"_time", "id"}
	for i := range maxRawChunks {
		cols = append(cols, rawField(i))
	}
	out := map[string]string{}
	err = s.stream(ctx, flux, cols, func(v []string) error {
		at, err := parseFluxTime(v[0])
		if err != nil || !at.Before(p.to) || v[1] == "" {
			return err
		}
		out[strings.Clone(v[1])] = strings.Join(v[2:], "")
		return nil
	})
	return out, err
}
