package store_test

import (
	"encoding/base64"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

func TestMeasurementsFilters(t *testing.T) {
	s, _, _ := newStore(t)
	p1 := store.Identity{Probe: "p1", Network: "telkom", Country: "ID", ASN: 7713}
	p2 := store.Identity{Probe: "p2", Network: "indosat", Country: "ID", ASN: 4761}
	mk := func(id store.Identity, domain string, at time.Time) store.Item {
		it := item(measurementtest.Simple(domain, at))
		it.Probe = id
		return it
	}
	items := []store.Item{
		mk(p1, "a.example", t0.Add(1*time.Minute)),
		mk(p1, "b.example", t0.Add(2*time.Minute)),
		mk(p2, "a.example", t0.Add(3*time.Minute)),
		mk(p2, "b.example", t0.Add(4*time.Minute)),
		mk(p1, "a.example", t0.Add(-30*time.Hour)), // outside the default range
	}
	write(t, s, items...)
	for _, tc := range []struct {
		name string
		f    store.Filter
		want []int // indexes into items, in the expected order
	}{
		{"default range, newest first", store.Filter{}, []int{3, 2, 1, 0}},
		{"domain", store.Filter{Domain: "a.example"}, []int{2, 0}},
		{"network", store.Filter{Network: "telkom"}, []int{1, 0}},
		{"probe", store.Filter{Probe: "p2"}, []int{3, 2}},
		{"domain and probe", store.Filter{Domain: "a.example", Probe: "p1"}, []int{0}},
		{"network and other probe", store.Filter{Network: "telkom", Probe: "p2"}, nil},
		{"unknown domain", store.Filter{Domain: "c.example"}, nil},
		{"from inclusive, to exclusive", store.Filter{From: t0.Add(2 * time.Minute), To: t0.Add(4 * time.Minute)}, []int{2, 1}},
		// To at the exact nanosecond of a point: InfluxDB 1.8's range() would include it.
		{"to exclusive at the point's time", store.Filter{From: t0, To: store.PointTime(items[3])}, []int{2, 1, 0}},
		{"from inclusive at the point's time", store.Filter{From: store.PointTime(items[1]), To: store.PointTime(items[3])}, []int{2, 1}},
		{"explicit old range", store.Filter{From: t0.Add(-31 * time.Hour), To: t0}, []int{4}},
		{"only from", store.Filter{From: t0.Add(-31 * time.Hour), Domain: "a.example"}, []int{2, 0, 4}},
		{"limit", store.Filter{Limit: 3}, []int{3, 2, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := s.Measurements(ctx(t), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range tc.want {
				want = append(want, items[i].M.ID)
			}
			var ids []string
			for _, g := range got {
				ids = append(ids, g.Measurement.ID)
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("got %v, want %v", ids, want)
			}
			for i, g := range got {
				if it := items[tc.want[i]]; g.Probe != it.Probe {
					t.Errorf("%s: probe %+v, want %+v", g.Measurement.ID, g.Probe, it.Probe)
				}
			}
		})
	}
}

func TestMeasurementsPagination(t *testing.T) {
	s, _, _ := newStore(t)
	var items []store.Item
	for i := range 25 {
		// Every fifth starts in the same millisecond as the previous ones: ties are
		// broken by the sub-millisecond offset and the ID.
		at := t0.Add(time.Duration(i/5) * time.Second)
		items = append(items, item(measurementtest.Simple("page.example", at)))
		items = append(items, item(measurementtest.Simple("other.example", at.Add(time.Millisecond))))
	}
	write(t, s, items...)
	var want []string
	for _, it := range items {
		if it.M.Domain == "page.example" {
			want = append(want, it.M.ID)
		}
	}
	// Newest first: by point time, then by ID, both descending.
	sort.Slice(want, func(i, j int) bool {
		ti, tj := pointTimeOf(items, want[i]), pointTimeOf(items, want[j])
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return want[i] > want[j]
	})

	for _, limit := range []int{1, 7, 24, 25, 1000} {
		var got []string
		var extra store.Item
		cursor := ""
		pages := 0
		for {
			page, next, err := s.Measurements(ctx(t), store.Filter{Domain: "page.example", Limit: limit, After: cursor})
			if err != nil {
				t.Fatalf("limit %d, page %d: %v", limit, pages, err)
			}
			pages++
			if len(page) > limit || (next != "" && len(page) != limit) {
				t.Fatalf("limit %d, page %d: %d items, next %q", limit, pages, len(page), next)
			}
			for _, m := range page {
				got = append(got, m.Measurement.ID)
			}
			if pages == 1 {
				// New data arriving between pages does not disturb the pages that follow.
				extra = item(measurementtest.Simple("page.example", t0.Add(time.Hour+time.Duration(limit)*time.Second)))
				write(t, s, extra)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: %d pages gave %d IDs, want %d in order (no duplicates, no gaps)\n got %v\nwant %v", limit, pages, len(got), len(want), got, want)
		}
		if wantPages := (len(want) + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
		want = append([]string{extra.M.ID}, want...) // the newest from now on
	}
}

func pointTimeOf(items []store.Item, id string) time.Time {
	for _, it := range items {
		if it.M.ID == id {
			return store.PointTime(it)
		}
	}
	return time.Time{}
}

func TestFilterValidation(t *testing.T) {
	// Validation comes first: nothing listens on this port, so a filter that got as far
	// as a query would fail with "storage unavailable" instead.
	s, err := store.New(store.Config{URL: "http://127.0.0.1:1", Bucket: "pantau/autogen"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cursor := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	const names = `may hold only letters, digits, '.', '_' and '-' (at most 253)`
	const domains = names + ", or be an IP address"
	for _, tc := range []struct {
		f    store.Filter
		want string
	}{
		{store.Filter{Domain: `x") |> drop()`}, `domain: "x\") |> drop()" ` + domains},
		{store.Filter{Domain: `x" or r._measurement =~ /.*/ or r.domain == "`}, `domain: "x\" or r._measurement =~ /.*/ or r.domain == \"" ` + domains},
		{store.Filter{Domain: `a"b`}, `domain: "a\"b" ` + domains},
		{store.Filter{Network: `\`}, `network: "\\" may hold only letters, digits, spaces, '.', '_' and '-' (at most 253)`},
		{store.Filter{Network: " Telkomsel"}, `network: " Telkomsel" may hold only letters, digits, spaces, '.', '_' and '-' (at most 253)`},
		{store.Filter{Probe: "a\nb"}, `probe: "a\nb" ` + store.ProbeRule},
		{store.Filter{Probe: "${x}"}, `probe: "${x}" ` + store.ProbeRule},
		{store.Filter{Probe: "ooni/"}, `probe: "ooni/" ` + store.ProbeRule},
		{store.Filter{Probe: "/AS1"}, `probe: "/AS1" ` + store.ProbeRule},
		{store.Filter{Probe: "ooni/AS1/x"}, `probe: "ooni/AS1/x" ` + store.ProbeRule},
		{store.Filter{Domain: "ex ample.com"}, `domain: "ex ample.com" ` + domains},
		{store.Filter{Domain: strings.Repeat("a", 254)}, `domain: "` + strings.Repeat("a", 64) + `…" is longer than 253 bytes`},
		{store.Filter{Domain: "bücher.example"}, `domain: "bücher.example" is not ASCII: give an internationalised name in its A-label form (xn--…)`},
		{store.Filter{Limit: 1001}, "limit: 1001 is not from 1 to 1000"},
		{store.Filter{Limit: -1}, "limit: -1 is not from 1 to 1000"},
		{store.Filter{From: t0, To: t0}, "from: " + t0.Format(time.RFC3339Nano) + " is not before to: " + t0.Format(time.RFC3339Nano)},
		{store.Filter{From: t0.Add(time.Second), To: t0}, "from: " + t0.Add(time.Second).Format(time.RFC3339Nano) + " is not before to: " + t0.Format(time.RFC3339Nano)},
		{store.Filter{After: "not a cursor!"}, `cursor: "not a cursor!" is not a cursor from a previous page`},
		{store.Filter{After: cursor("v1 12 a\"b")}, `cursor: "` + cursor("v1 12 a\"b") + `" is not a cursor from a previous page`},
		{store.Filter{After: cursor("v1 x 00ff")}, `cursor: "` + cursor("v1 x 00ff") + `" is not a cursor from a previous page`},
		{store.Filter{After: cursor("v2 12 00ff")}, `cursor: "` + cursor("v2 12 00ff") + `" is not a cursor from a previous page`},
		{store.Filter{After: cursor("v1 12 00ff x")}, `cursor: "` + cursor("v1 12 00ff x") + `" is not a cursor from a previous page`},
	} {
		_, _, err := s.Measurements(ctx(t), tc.f)
		if err == nil || err.Error() != tc.want || !errors.Is(err, store.ErrBadFilter) || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Measurements(%+v) = %v, want bad filter %q", tc.f, err, tc.want)
		}
	}
	// A valid filter does reach the (absent) database.
	if _, _, err := s.Measurements(ctx(t), store.Filter{Domain: "example.com", After: cursor("v1 " + strconv.FormatInt(t0.UnixNano(), 10) + " 00ff")}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("valid filter: %v, want unavailable", err)
	}
}

func TestValidName(t *testing.T) {
	for s, want := range map[string]bool{
		"example.com": true, "a-b_c.D9": true, strings.Repeat("a", 253): true,
		"": false, strings.Repeat("a", 254): false, "a b": false, "a/b": false, "é": false, "a\x00": false,
	} {
		if got := store.ValidName(s); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", s, got, want)
		}
	}
}
