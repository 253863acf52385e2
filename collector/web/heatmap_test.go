package web

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
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

// testLoc is the locale of a request with ?lang=lang&tz=tz.
func testLoc(t *testing.T, lang, tz string) *loc {
	t.Helper()
	h := &dash{bundle: newBundle()}
	l, err := h.locale(httptest.NewRequest("GET", "/?"+url.Values{"lang": {lang}, "tz": {tz}}.Encode(), nil))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestCellLabel(t *testing.T) {
	en, id, wib := testLoc(t, "en", "UTC"), testLoc(t, "id", "UTC"), testLoc(t, "id", "Asia/Jakarta")
	tests := []struct {
		l    *loc
		c    Cell
		want string
	}{
		{en, Cell{From: at(0), To: at(6), State: "blocked", Method: "dns", Parts: []Part{{"blocked", 5*time.Hour + 30*time.Minute}, {"gap", 30 * time.Minute}}},
			"Indosat Ooredoo 14 Jul 2017 00:00–06:00 UTC: blocked (dns) 5h 30m, no coverage 30m"},
		{en, Cell{From: at(0), To: at(24), State: "accessible", Parts: []Part{{"accessible", 24 * time.Hour}}},
			"Indosat Ooredoo 14 Jul 2017 00:00–24:00 UTC: accessible 1d"},
		{en, Cell{From: at(18), To: at(30), State: "gap", Parts: []Part{{"gap", 12 * time.Hour}}},
			"Indosat Ooredoo 14 Jul 2017 18:00–15 Jul 2017 06:00 UTC: no coverage 12h"},
		{en, Cell{From: at(0), To: at(0.01), State: "unknown", Parts: []Part{{"unknown", 36 * time.Second}}},
			"Indosat Ooredoo 14 Jul 2017 00:00–00:00 UTC: unknown 1m"},
		{en, Cell{From: at(0), To: at(24), State: "blocked", Method: "dns", Parts: []Part{{"blocked", 24*time.Hour - time.Millisecond}, {"accessible", time.Millisecond}}},
			"Indosat Ooredoo 14 Jul 2017 00:00–24:00 UTC: blocked (dns) 1d"},
		{en, Cell{From: at(0), To: at(0), State: "gap"},
			"Indosat Ooredoo 14 Jul 2017 00:00–00:00 UTC: no coverage"},
		{id, Cell{From: at(0), To: at(6), State: "blocked", Method: "dns", Parts: []Part{{"blocked", 5*time.Hour + 30*time.Minute}, {"gap", 30 * time.Minute}}},
			"Indosat Ooredoo 14 Jul 2017 00.00–06.00 UTC: diblokir (dns) 5 jam 30 menit, tanpa cakupan 30 menit"},
		{wib, Cell{From: at(-7), To: at(17), State: "accessible", Parts: []Part{{"accessible", 24 * time.Hour}}},
			"Indosat Ooredoo 14 Jul 2017 00.00–24.00 WIB: dapat diakses 1 hari"},
		{id, Cell{From: at(24 * 30), To: at(24 * 37), State: "inconclusive", Parts: []Part{{"inconclusive", 7 * 24 * time.Hour}}},
			"Indosat Ooredoo 13 Agu 2017 00.00–20 Agu 2017 00.00 UTC: tidak pasti 7 hari"},
	}
	for _, tt := range tests {
		if got := tt.l.CellLabel(tt.c, "Indosat Ooredoo"); got != tt.want {
			t.Errorf("CellLabel = %q; want %q", got, tt.want)
		}
	}
}

func TestGrid(t *testing.T) {
	jkt, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		from, to time.Time
		step     time.Duration
		zone     *time.Location
		n        int
		first    time.Time
		err      string
	}{
		{name: "aligned to the step", from: at(7), to: at(24), step: 6 * time.Hour, n: 3, first: at(6)},
		{name: "days start at midnight UTC", from: at(30), to: at(24 * 30), step: 24 * time.Hour, n: 29, first: at(24)},
		{name: "days start at midnight WIB", from: at(30), to: at(24 * 30), step: 24 * time.Hour, zone: jkt, n: 30, first: at(24 - 7)},
		{name: "6-hour cells start at 00, 06, 12, 18 WIB", from: at(7), to: at(24), step: 6 * time.Hour, zone: jkt, n: 4, first: at(5)},
		{name: "weeks start on Monday", from: at(0), to: at(24 * 14), step: 7 * 24 * time.Hour, n: 3, first: at(-24 * 4)},
		{name: "the end is rounded up", from: at(0), to: at(1), step: 24 * time.Hour, n: 1, first: at(0)},
		{name: "empty range", from: at(5), to: at(5), step: time.Hour,
			err: "from: 2017-07-14T05:00:00Z is not before to: 2017-07-14T05:00:00Z"},
		{name: "too many cells", from: at(0), to: at(24 * 40), step: time.Hour,
			err: "step: 1h over 960h0m0s makes 960 cells (at most 800): choose a longer step or a shorter range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := tt.zone
			if z == nil {
				z = time.UTC
			}
			g, err := grid(tt.from, tt.to, tt.step, z)
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

// heads writes column heads as "label/span", with "|" before a month boundary.
func headsText(hs []colHead) string {
	var out []string
	for _, h := range hs {
		s := fmt.Sprintf("%s/%d", h.Label, h.Span)
		if h.Start {
			s = "|" + s
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// TestAxes: month and day labels at 7-day, 60-day and 365-day ranges, in both languages.
func TestAxes(t *testing.T) {
	d1 := time.Date(2017, 7, 28, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name         string
		lang         string
		days         int
		step         time.Duration
		months, dayz string
	}{
		{"7 days in 6-hour cells", "en", 7, 6 * time.Hour, "July 2017/16 |August 2017/12",
			"28/4 29/4 30/4 31/4 |1/4 2/4 3/4"},
		{"7 days, Indonesian", "id", 7, 6 * time.Hour, "Juli 2017/16 |Agustus 2017/12",
			"28/4 29/4 30/4 31/4 |1/4 2/4 3/4"},
		{"60 days in day cells", "id", 60, 24 * time.Hour, "Juli 2017/4 |Agustus 2017/31 |September 2017/25",
			"28/1 29/1 30/1 31/1 |1/1 2/1 3/1 4/1 5/1 6/1 7/1 8/1 9/1 10/1 11/1 12/1 13/1 14/1 15/1 16/1 17/1 18/1 19/1 20/1 21/1 22/1 23/1 24/1 25/1 26/1 27/1 28/1 29/1 30/1 31/1 |1/1 2/1 3/1 4/1 5/1 6/1 7/1 8/1 9/1 10/1 11/1 12/1 13/1 14/1 15/1 16/1 17/1 18/1 19/1 20/1 21/1 22/1 23/1 24/1 25/1"},
		{"365 days in day cells", "en", 365, 24 * time.Hour,
			"Jul 2017/4 |Aug/31 |Sep/30 |Oct/31 |Nov/30 |Dec/31 |Jan 2018/31 |Feb/28 |Mar/31 |Apr/30 |May/31 |Jun/30 |Jul/27",
			"28/4 |1/14 15/17 |1/14 15/16 |1/14 15/17 |1/14 15/16 |1/14 15/17 |1/14 15/17 |1/14 15/14 |1/14 15/17 |1/14 15/16 |1/14 15/17 |1/14 15/16 |1/14 15/13"},
		{"90 days in day cells", "en", 90, 24 * time.Hour, "Jul 2017/4 |Aug/31 |Sep/30 |Oct/25",
			"28/1 29/3 |1/7 8/7 15/7 22/7 29/3 |1/7 8/7 15/7 22/7 29/2 |1/7 8/7 15/7 22/4"},
		{"365 days in week cells", "id", 365, 7 * 24 * time.Hour,
			"Juli 2017/2 |Agustus 2017/4 |September 2017/4 |Oktober 2017/5 |November 2017/4 |Desember 2017/4 |Januari 2018/5 |Februari 2018/4 |Maret 2018/4 |April 2018/5 |Mei 2018/4 |Juni 2018/4 |Juli 2018/4",
			"24/1 31/1 7/1 14/1 21/1 28/1 4/1 11/1 18/1 25/1 2/1 9/1 16/1 23/1 30/1 6/1 13/1 20/1 27/1 4/1 11/1 18/1 25/1 |1/1 8/1 15/1 22/1 29/1 5/1 12/1 19/1 26/1 5/1 12/1 19/1 26/1 2/1 9/1 16/1 23/1 30/1 7/1 14/1 21/1 28/1 4/1 11/1 18/1 25/1 2/1 9/1 16/1 23/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cells, err := grid(d1, d1.AddDate(0, 0, tt.days), tt.step, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			months, days := axes(cells, tt.step, testLoc(t, tt.lang, "UTC"))
			if got := headsText(months); got != tt.months {
				t.Errorf("months:\n%s\nwant\n%s", got, tt.months)
			}
			if got := headsText(days); got != tt.dayz {
				t.Errorf("days:\n%s\nwant\n%s", got, tt.dayz)
			}
		})
	}
}

func TestRowsSortedByNetwork(t *testing.T) {
	cells, _ := grid(at(0), at(12), 6*time.Hour, time.UTC)
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
