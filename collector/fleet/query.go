package fleet

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Query filters and sorts a List (the query parameters of GET /api/v1/probes and of the
// Probes page): every filter given must match; Sort names a column, Desc reverses it.
type Query struct {
	State, Network, Country string
	ASN                     uint32
	Sort                    string
	Desc                    bool
}

// sortKeys are the columns a List sorts by; ties go by probe.
var sortKeys = map[string]func(a, b Probe) int{
	"probe":          func(a, b Probe) int { return 0 },
	"network":        func(a, b Probe) int { return strings.Compare(a.Network, b.Network) },
	"country":        func(a, b Probe) int { return strings.Compare(a.Country, b.Country) },
	"asn":            func(a, b Probe) int { return cmp.Compare(a.ASN, b.ASN) },
	"version":        func(a, b Probe) int { return strings.Compare(a.Version, b.Version) },
	"last_heartbeat": func(a, b Probe) int { return a.LastHeartbeat.Compare(b.LastHeartbeat) },
	"spool_depth":    func(a, b Probe) int { return cmp.Compare(a.SpoolDepth, b.SpoolDepth) },
	"dropped":        func(a, b Probe) int { return cmp.Compare(a.Dropped, b.Dropped) },
	"clock_offset":   func(a, b Probe) int { return cmp.Compare(abs(a.ClockOffsetMS), abs(b.ClockOffsetMS)) },
	"state":          func(a, b Probe) int { return cmp.Compare(stateRank[a.State], stateRank[b.State]) },
}

// stateRank orders states from worst to best, so that sort=state lists trouble first.
var stateRank = map[string]int{Silent: 0, Late: 1, Outdated: 2, OK: 3}

func abs(f float64) float64 { return max(f, -f) }

// SortKeys lists the accepted sort columns, sorted.
func SortKeys() []string {
	ks := make([]string, 0, len(sortKeys))
	for k := range sortKeys {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// queryParams are the parameters ParseQuery takes.
var queryParams = []string{"state", "network", "country", "asn", "sort", "order"}

// ParseQuery reads state, network, country, asn, sort and order from v; a bad value, an
// unknown parameter or one given twice is an error naming the parameter.
func ParseQuery(v url.Values) (Query, error) {
	for _, k := range slices.Sorted(maps.Keys(v)) {
		vs := v[k]
		if !slices.Contains(queryParams, k) {
			return Query{}, fmt.Errorf("%s: unknown parameter (want %s)", k, strings.Join(queryParams, ", "))
		}
		if len(vs) > 1 {
			return Query{}, fmt.Errorf("%s: given %d times", k, len(vs))
		}
	}
	q := Query{State: v.Get("state"), Network: v.Get("network"), Country: v.Get("country"), Sort: v.Get("sort")}
	switch q.State {
	case "", OK, Late, Silent, Outdated:
	default:
		return q, fmt.Errorf("state %q: want %s, %s, %s or %s", q.State, OK, Late, Silent, Outdated)
	}
	if len(q.Network) > 253 || len(q.Country) > 2 {
		return q, fmt.Errorf("network or country: too long")
	}
	if s := v.Get("asn"); s != "" {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return q, fmt.Errorf("asn %q: want a number", s)
		}
		q.ASN = uint32(n)
	}
	if q.Sort == "" {
		q.Sort = "state"
	}
	if _, ok := sortKeys[q.Sort]; !ok {
		return q, fmt.Errorf("sort %q: want one of %s", q.Sort, strings.Join(SortKeys(), ", "))
	}
	switch o := v.Get("order"); o {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		return q, fmt.Errorf("order %q: want asc or desc", o)
	}
	return q, nil
}

// Apply returns the probes of ps that match q, sorted as q says.
func (q Query) Apply(ps []Probe) []Probe {
	out := make([]Probe, 0, len(ps))
	for _, p := range ps {
		if (q.State == "" || p.State == q.State) && (q.Network == "" || p.Network == q.Network) &&
			(q.Country == "" || p.Country == q.Country) && (q.ASN == 0 || p.ASN == q.ASN) {
			out = append(out, p)
		}
	}
	by := sortKeys[cmp.Or(q.Sort, "state")]
	slices.SortStableFunc(out, func(a, b Probe) int {
		c := cmp.Or(by(a, b), strings.Compare(a.Probe, b.Probe))
		if q.Desc {
			return -c
		}
		return c
	})
	return out
}
