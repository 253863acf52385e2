package web

import (
	"reflect"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/timeline"
)

var h0 = time.Date(2017, 7, 14, 0, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return h0.Add(time.Duration(h * float64(time.Hour))) }

func period(s timeline.State, method string, from, until float64) timeline.Period {
	return timeline.Period{State: s, Method: method, Since: at(from), Until: at(until)}
}

func gap(from, to float64) timeline.Gap {
	return timeline.Gap{From: at(from), To: at(to), Reason: timeline.GapNoHeartbeat}
}

func TestCellOf(t *testing.T) {
	tl := timeline.Timeline{Network: "Telkomsel", From: at(0), To: at(48),
		Periods: []timeline.Period{
			period(timeline.Accessible, "", 2, 10),
			period(timeline.Blocked, "dns", 10, 14),
			period(timeline.Blocked, "http", 14, 15),
			period(timeline.Down, "", 15, 48),
		},
		Gaps: []timeline.Gap{gap(20, 26), gap(24, 30), gap(40, 41)},
	}
	tests := []struct {
		name            string
		from, to        float64
		state, method   string
		partial         bool
		parts           []Part
		label           string
		outsideOfWindow bool
	}{
		{name: "one state", from: 4, to: 10, state: "accessible",
			parts: []Part{{"accessible", 6 * time.Hour}}},
		{name: "before the first period is unknown", from: 0, to: 6, state: "accessible",
			parts: []Part{{"accessible", 4 * time.Hour}, {"unknown", 2 * time.Hour}}},
		{name: "most time wins; the main method", from: 8, to: 16, state: "blocked", method: "dns",
			parts: []Part{{"blocked", 5 * time.Hour}, {"accessible", 2 * time.Hour}, {"down", time.Hour}}},
		{name: "a tie goes to the more notable state", from: 9, to: 11, state: "blocked", method: "dns",
			parts: []Part{{"blocked", time.Hour}, {"accessible", time.Hour}}},
		{name: "overlapping gaps covering the cell make a gap", from: 24, to: 30, state: "gap",
			parts: []Part{{"gap", 6 * time.Hour}}},
		{name: "a gap is never counted as a state", from: 18, to: 24, state: "down", partial: true,
			parts: []Part{{"gap", 4 * time.Hour}, {"down", 2 * time.Hour}}},
		{name: "a short gap inside", from: 36, to: 42, state: "down", partial: true,
			parts: []Part{{"down", 5 * time.Hour}, {"gap", time.Hour}}},
		{name: "outside the timeline's window is a gap", from: 48, to: 54, state: "gap",
			parts: []Part{{"gap", 6 * time.Hour}}},
		{name: "half outside the window", from: 45, to: 51, state: "down", partial: true,
			parts: []Part{{"down", 3 * time.Hour}, {"gap", 3 * time.Hour}}},
	}
	gaps := mergeGaps(tl.Gaps)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cellOf(tl, gaps, interval{at(tt.from), at(tt.to)})
			if c.State != tt.state || c.Method != tt.method || c.Partial != tt.partial {
				t.Errorf("state %q method %q partial %v; want %q %q %v", c.State, c.Method, c.Partial, tt.state, tt.method, tt.partial)
			}
			if !reflect.DeepEqual(c.Parts, tt.parts) {
				t.Errorf("parts %v; want %v", c.Parts, tt.parts)
			}
		})
	}
}

func TestCellLabel(t *testing.T) {
	tests := []struct {
		c    Cell
		want string
	}{
		{Cell{From: at(0), To: at(6), State: "blocked", Method: "dns", Parts: []Part{{"blocked", 5*time.Hour + 30*time.Minute}, {"gap", 30 * time.Minute}}},
			"Indosat Ooredoo 2017-07-14 00:00–06:00 UTC: blocked (dns) 5h30m, no coverage 30m"},
		{Cell{From: at(0), To: at(24), State: "accessible", Parts: []Part{{"accessible", 24 * time.Hour}}},
			"Indosat Ooredoo 2017-07-14 00:00–24:00 UTC: accessible 1d"},
		{Cell{From: at(18), To: at(30), State: "gap", Parts: []Part{{"gap", 12 * time.Hour}}},
			"Indosat Ooredoo 2017-07-14 18:00–2017-07-15 06:00 UTC: no coverage 12h"},
		{Cell{From: at(0), To: at(0.01), State: "unknown", Parts: []Part{{"unknown", 36 * time.Second}}},
			"Indosat Ooredoo 2017-07-14 00:00–00:00 UTC: unknown 1m"},
		{Cell{From: at(0), To: at(24), State: "blocked", Method: "dns", Parts: []Part{{"blocked", 24*time.Hour - time.Millisecond}, {"accessible", time.Millisecond}}},
			"Indosat Ooredoo 2017-07-14 00:00–24:00 UTC: blocked (dns) 1d"},
		{Cell{From: at(0), To: at(0), State: "gap"},
			"Indosat Ooredoo 2017-07-14 00:00–00:00 UTC: gap"},
	}
	for _, tt := range tests {
		if got := tt.c.Label("Indosat Ooredoo"); got != tt.want {
			t.Errorf("Label = %q; want %q", got, tt.want)
		}
	}
}

func TestGrid(t *testing.T) {
	tests := []struct {
		name     string
		from, to time.Time
		step     time.Duration
		n        int
		first    time.Time
		err      string
	}{
		{name: "aligned to the step", from: at(7), to: at(24), step: 6 * time.Hour, n: 3, first: at(6)},
		{name: "days start at midnight UTC", from: at(30), to: at(24 * 30), step: 24 * time.Hour, n: 29, first: at(24)},
		{name: "the end is rounded up", from: at(0), to: at(1), step: 24 * time.Hour, n: 1, first: at(0)},
		{name: "empty range", from: at(5), to: at(5), step: time.Hour,
			err: "from: 2017-07-14T05:00:00Z is not before to: 2017-07-14T05:00:00Z"},
		{name: "too many cells", from: at(0), to: at(24 * 40), step: time.Hour,
			err: "step: 1h over 960h0m0s makes 960 cells (at most 800): choose a longer step or a shorter range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := grid(tt.from, tt.to, tt.step)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v; want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(g) != tt.n || !g[0].from.Equal(tt.first) || !g[len(g)-1].to.After(tt.to.Add(-time.Nanosecond)) {
				t.Errorf("grid = %d cells from %v to %v; want %d from %v covering %v", len(g), g[0].from, g[len(g)-1].to, tt.n, tt.first, tt.to)
			}
			for i := 1; i < len(g); i++ {
				if !g[i].from.Equal(g[i-1].to) {
					t.Fatalf("cell %d starts at %v, not where cell %d ends (%v)", i, g[i].from, i-1, g[i-1].to)
				}
			}
		})
	}
}

func TestHeads(t *testing.T) {
	six, _ := grid(at(0), at(48), 6*time.Hour)
	days, _ := grid(at(0), at(24*3), 24*time.Hour)
	long, _ := grid(at(0), at(24*70), 24*time.Hour)
	tests := []struct {
		name  string
		cells []interval
		step  time.Duration
		want  []colHead
	}{
		{"days over 6-hour cells", six, 6 * time.Hour, []colHead{
			{"Jul 14", "Friday 14 July 2017", 4}, {"Jul 15", "Saturday 15 July 2017", 4}}},
		{"a day per column", days, 24 * time.Hour, []colHead{
			{"14", "Friday 14 July 2017", 1}, {"15", "Saturday 15 July 2017", 1}, {"16", "Sunday 16 July 2017", 1}}},
		{"months over many days", long, 24 * time.Hour, []colHead{
			{"Jul 2017", "July 2017", 18}, {"Aug 2017", "August 2017", 31}, {"Sep 2017", "September 2017", 21}}},
	}
	for _, tt := range tests {
		if got := heads(tt.cells, tt.step); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: heads = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestRowsSortedByNetwork(t *testing.T) {
	cells, _ := grid(at(0), at(12), 6*time.Hour)
	tls := []timeline.Timeline{
		{Network: "Telkomsel", From: at(0), To: at(12), Current: timeline.Blocked, Periods: []timeline.Period{period(timeline.Blocked, "dns", 0, 12)}},
		{Network: "Indosat Ooredoo", From: at(0), To: at(12), Current: timeline.Unknown},
	}
	rs := rows(tls, cells)
	var got []string
	for _, r := range rs {
		for _, c := range r.Cells {
			got = append(got, r.Network+":"+c.State)
		}
	}
	want := []string{"Indosat Ooredoo:unknown", "Indosat Ooredoo:unknown", "Telkomsel:blocked", "Telkomsel:blocked"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %v; want %v", got, want)
	}
}
