package store_test

import (
	"github.com/pantau-dev/pantau/internal/measurement"

	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// TestMeasurementsPaginationTies: measurements of different probes stored at exactly the
// same nanosecond (InfluxQL orders by time only) are ordered by ID, then probe,
// descending, and pages of every size neither repeat nor skip them; an ID submitted by
// two probes is listed once for each (a measurement is its probe's and ID).
func TestMeasurementsPaginationTies(t *testing.T) {
	s, url, bucket := newStore(t)
	db, _, _ := strings.Cut(bucket, "/")
	tie := t0.Add(time.Minute)
	var lines []string
	var want []string // newest first
	add := func(probeName string, m *measurementRef, at time.Time) {
		it := item(m.m)
		it.Probe.Probe = probeName
		lp, _, err := store.LineProtocol(it)
		if err != nil {
			t.Fatal(err)
		}
		// Every point of the measurement moves to at.
		for _, l := range strings.Split(strings.TrimSpace(lp), "\n") {
			lines = append(lines, l[:strings.LastIndexByte(l, ' ')+1]+strconv.FormatInt(at.UnixNano(), 10))
		}
	}
	newer := &measurementRef{measurementtest.Simple("tie.example", tie)}
	add("probe-n", newer, tie.Add(time.Nanosecond))
	var tied []string
	for i := range 7 {
		m := &measurementRef{measurementtest.Simple("tie.example", tie)}
		add("probe-"+strconv.Itoa(i), m, tie)
		tied = append(tied, m.m.ID)
		if i == 3 { // the same measurement submitted by a second probe
			add("probe-x", m, tie)
			tied = append(tied, m.m.ID)
		}
	}
	slices.Sort(tied)
	slices.Reverse(tied)
	older := &measurementRef{measurementtest.Simple("tie.example", tie)}
	add("probe-o", older, tie.Add(-time.Nanosecond))
	want = append(append([]string{newer.m.ID}, tied...), older.m.ID)
	if err := writeLine(url, db, strings.Join(lines, "\n")); err != nil {
		t.Fatal(err)
	}
	for limit := 1; limit <= len(want)+1; limit++ {
		var got []string
		cursor := ""
		for pages := 1; ; pages++ {
			page, next, err := s.Measurements(ctx(t), store.Filter{Domain: "tie.example", Limit: limit, After: cursor})
			if err != nil {
				t.Fatalf("limit %d, page %d: %v", limit, pages, err)
			}
			if len(page) > limit || (next != "" && len(page) != limit) || pages > len(want)+1 {
				t.Fatalf("limit %d, page %d: %d items, next %q", limit, pages, len(page), next)
			}
			for _, m := range page {
				got = append(got, m.Measurement.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d:\n got %v\nwant %v", limit, got, want)
		}
	}
}

type measurementRef struct{ m *measurement.Measurement }
