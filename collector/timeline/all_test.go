package timeline

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fleet: two networks, two domains; t.me is blocked on telkomsel from minute 60 (two of its
// three probes see it), accessible on indosat; example.org accessible everywhere.
func fleet(t *testing.T) []Obs {
	var obs []Obs
	obs = append(obs, mk(t, "t.me", "telkomsel",
		every(0, 60, 15, "T1", "a")+every(60, 180, 15, "T1", "b/dns")+
			every(5, 60, 15, "T2", "a")+every(65, 180, 15, "T2", "b/dns")+every(10, 180, 15, "T3", "a"))...)
	obs = append(obs, mk(t, "t.me", "indosat", every(0, 180, 15, "I1", "a")+every(7, 180, 15, "I2", "a"))...)
	obs = append(obs, mk(t, "example.org", "telkomsel", every(1, 180, 15, "T1", "a")+every(6, 180, 15, "T2", "a"))...)
	return obs
}

func TestBuildAll(t *testing.T) {
	obs := fleet(t)
	got := BuildAll(obs, nil, at(0), at(180), Params{})
	var lines []string
	for _, tl := range got {
		lines = append(lines, tl.Domain+"@"+tl.Network+": "+summary(tl))
		checkInvariants(t, tl, filterPair(obs, tl.Domain, tl.Network))
	}
	want := "example.org@telkomsel: accessible 1>16\n" +
		"t.me@indosat: accessible 0>15\n" +
		"t.me@telkomsel: accessible 0>10 | blocked/dns 60>75"
	if s := strings.Join(lines, "\n"); s != want {
		t.Errorf("got\n%s\nwant\n%s", s, want)
	}
	// any order of the input gives the same timelines, equal to Build's
	shuffled := append([]Obs(nil), obs...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if again := BuildAll(shuffled, nil, at(0), at(180), Params{}); !reflect.DeepEqual(again, got) {
		t.Errorf("shuffled input gives other timelines")
	}
	for _, tl := range got {
		if one := Build(tl.Domain, tl.Network, shuffled, nil, at(0), at(180), Params{}); !reflect.DeepEqual(one, tl) {
			t.Errorf("Build(%s, %s) differs from BuildAll's", tl.Domain, tl.Network)
		}
	}
	if got := BuildAll(nil, nil, at(0), at(180), Params{}); got == nil || len(got) != 0 {
		t.Errorf("BuildAll(nil) = %#v, want an empty slice", got)
	}
}

func filterPair(obs []Obs, domain, network string) []Obs {
	var out []Obs
	for _, o := range obs {
		if o.Domain == domain && o.Network == network {
			out = append(out, o)
		}
	}
	return out
}

func TestBuildProbes(t *testing.T) {
	obs := fleet(t)
	bs := append(beats("telkomsel", "T3", 0, 180, 5), beats("telkomsel", "T1", 0, 180, 5)...)
	// T3 stops measuring t.me at 100 but keeps sending heartbeats
	var cut []Obs
	for _, o := range obs {
		if !(o.Probe == "T3" && o.At.After(at(100))) {
			cut = append(cut, o)
		}
	}
	got := BuildProbes(cut, bs, at(0), at(180), Params{K: 3, M: 3})
	var lines []string
	for _, tl := range got {
		lines = append(lines, tl.Domain+"@"+tl.Network+"/"+tl.Probe+": "+summary(tl))
		checkInvariants(t, tl, filterPair(cut, tl.Domain, tl.Network))
		for _, tr := range tl.Transitions {
			if tr.Probe != tl.Probe || tr.Domain != tl.Domain || tr.Network != tl.Network {
				t.Errorf("transition %+v not labelled with its timeline", tr)
			}
		}
	}
	want := "example.org@telkomsel/T1: accessible 1>31\n" +
		"example.org@telkomsel/T2: accessible 6>36\n" +
		"t.me@indosat/I1: accessible 0>30\n" +
		"t.me@indosat/I2: accessible 7>37\n" +
		"t.me@telkomsel/T1: accessible 0>30 | blocked/dns 60>90\n" +
		"t.me@telkomsel/T2: accessible 5>35 | blocked/dns 65>95\n" +
		"t.me@telkomsel/T3: accessible 10>40 # nm 100-180"
	if s := strings.Join(lines, "\n"); s != want {
		t.Errorf("got\n%s\nwant\n%s", s, want)
	}
}

func TestStateAtInGap(t *testing.T) {
	obs := mk(t, "t.me", "telkomsel", every(0, 45, 15, "A", "a")+every(300, 360, 15, "A", "b/dns"))
	tl := Build("t.me", "telkomsel", obs, beats("telkomsel", "A", 0, 100, 5), at(0), at(420), Params{})
	if got, want := summary(tl), "accessible 0>30 | blocked/dns 300>330 # nm 30-95 # nh 95-300 # nh 345-420"; got != want {
		t.Fatalf("timeline: got %s, want %s", got, want)
	}
	tests := []struct {
		at    time.Time
		state State  // "" = StateAt false
		gap   string // "" = InGap false
	}{
		{at(0).Add(-time.Second), "", ""},
		{at(0), Accessible, ""},
		{at(10), Accessible, ""},
		{at(30), Accessible, ""}, // the last measurement before the gap
		{at(31), "", GapNoMeasurement},
		{at(95), "", GapNoHeartbeat}, // where two gaps meet
		{at(299), "", GapNoHeartbeat},
		{at(300), Blocked, ""}, // the first measurement after the gap
		{at(345), Blocked, ""},
		{at(346), "", GapNoHeartbeat}, // the end of the window without coverage
		{at(419), "", GapNoHeartbeat},
		{at(420), "", ""},
	}
	for _, tt := range tests {
		p, ok := tl.StateAt(tt.at)
		if ok != (tt.state != "") || p.State != tt.state {
			t.Errorf("StateAt(%d min) = %s, %v; want %q", mins(tt.at), p.State, ok, tt.state)
		}
		g, ok := tl.InGap(tt.at)
		if ok != (tt.gap != "") || g.Reason != tt.gap {
			t.Errorf("InGap(%d min) = %+v, %v; want %q", mins(tt.at), g, ok, tt.gap)
		}
	}
}

func TestChanges(t *testing.T) {
	tls := BuildAll(fleet(t), nil, at(0), at(180), Params{})
	render := func(trs []Transition) string {
		var s []string
		for _, tr := range trs {
			s = append(s, tr.Domain+"@"+tr.Network+" "+string(tr.From)+">"+string(tr.To)+"/"+tr.Method+" "+
				tr.At.Sub(t0).String()+" "+tr.Confirmed.Sub(t0).String())
		}
		return strings.Join(s, "; ")
	}
	tests := []struct {
		since time.Time
		want  string
	}{
		{at(0), "t.me@telkomsel unknown>accessible/ 0s 10m0s; t.me@indosat unknown>accessible/ 0s 15m0s; " +
			"example.org@telkomsel unknown>accessible/ 1m0s 16m0s; t.me@telkomsel accessible>blocked/dns 1h0m0s 1h15m0s"},
		{at(16), "example.org@telkomsel unknown>accessible/ 1m0s 16m0s; t.me@telkomsel accessible>blocked/dns 1h0m0s 1h15m0s"},
		// confirmed at or after since, even though it started before
		{at(70), "t.me@telkomsel accessible>blocked/dns 1h0m0s 1h15m0s"},
		{at(76), ""},
	}
	for _, tt := range tests {
		if got := render(Changes(tls, tt.since)); got != tt.want {
			t.Errorf("Changes(since %d min):\n got %s\nwant %s", mins(tt.since), got, tt.want)
		}
	}
	if got := Changes(nil, at(0)); got == nil {
		t.Error("Changes(nil) = nil, want an empty slice")
	}
}

func TestParams(t *testing.T) {
	if got, want := DefaultParams(), (Params{K: 3, M: 2, MaxSilence: time.Hour}); got != want {
		t.Errorf("DefaultParams() = %+v, want %+v", got, want)
	}
	if got, want := (Params{M: 1}).WithDefaults(), (Params{K: 3, M: 1, MaxSilence: time.Hour}); got != want {
		t.Errorf("WithDefaults() = %+v, want %+v", got, want)
	}
	tests := []struct {
		p    Params
		want string
	}{
		{Params{}, ""},
		{DefaultParams(), ""},
		{Params{K: 1, M: 1, MaxSilence: time.Minute}, ""},
		{Params{K: -1}, "k: must be at least 1, got -1"},
		{Params{M: -2}, "m: must be at least 1, got -2"},
		{Params{MaxSilence: 30 * time.Second}, "max_silence: must be at least 1m, got 30s"},
		{Params{K: -1, M: -1, MaxSilence: -time.Hour},
			"k: must be at least 1, got -1\nm: must be at least 1, got -1\nmax_silence: must be at least 1m, got -1h0m0s"},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%+v.Validate() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestParamsChangeConfirmation(t *testing.T) {
	// K=1: every decisive change of a lone probe is confirmed at once
	obs := mk(t, "t.me", "telkomsel", "0:A:a 15:A:b 30:A:a 45:A:b")
	tl := Build("t.me", "telkomsel", obs, nil, at(0), at(60), Params{K: 1, M: 1})
	if got, want := summary(tl), "accessible 0>0 | blocked 15>15 | accessible 30>30 | blocked 45>45"; got != want {
		t.Errorf("K=1 M=1: got %s, want %s", got, want)
	}
	// but two probes that disagree are a tie, whatever K and M
	obs = mk(t, "t.me", "telkomsel", "0:A:a 5:B:b 15:A:a 20:B:b")
	tl = Build("t.me", "telkomsel", obs, nil, at(0), at(30), Params{K: 1, M: 1})
	if got, want := summary(tl), "accessible 0>0"; got != want {
		t.Errorf("K=1 M=1, two probes: got %s, want %s", got, want)
	}
	// a longer MaxSilence bridges what the default calls a gap
	obs = mk(t, "t.me", "telkomsel", every(0, 45, 15, "A", "a")+every(120, 180, 15, "A", "a"))
	tl = Build("t.me", "telkomsel", obs, nil, at(0), at(180), Params{MaxSilence: 2 * time.Hour})
	if got, want := summary(tl), "accessible 0>30"; got != want {
		t.Errorf("MaxSilence=2h: got %s, want %s", got, want)
	}
}

func TestWindowBounds(t *testing.T) {
	obs := mk(t, "t.me", "telkomsel", every(0, 60, 15, "A", "a"))
	// an empty window holds nothing
	tl := Build("t.me", "telkomsel", obs, nil, at(60), at(60), Params{})
	if got := summary(tl); got != "-" || tl.Measurements != 0 || tl.Current != Unknown {
		t.Errorf("empty window: %s, %d measurements, current %s", got, tl.Measurements, tl.Current)
	}
	// an unset start reads as a silence from the zero time: a gap, not a crash
	tl = Build("t.me", "telkomsel", obs, nil, time.Time{}, at(60), Params{})
	if len(tl.Gaps) != 1 || !tl.Gaps[0].From.IsZero() || !tl.Gaps[0].To.Equal(at(0)) || tl.Current != Accessible {
		t.Errorf("zero from: gaps %+v, current %s", tl.Gaps, tl.Current)
	}
}
