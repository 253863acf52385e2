package timeline

import (
	"slices"
	"testing"
)

func TestBuild(t *testing.T) {
	// the defaults: K=3, M=2, MaxSilence=1h
	tests := []struct {
		name   string
		spec   string
		beats  []Beat
		from   int // minutes after t0
		to     int
		want   string // summary: periods "state since>confirmed", gaps "# reason from-to"
		counts string // optional: per period "agree/disagree/inconclusive pProbes [first,last] until U"
	}{
		// steady state and confirmation
		{name: "steady state, two probes",
			spec: every(0, 240, 15, "A", "a") + every(5, 240, 15, "B", "a"), to: 240,
			want: "accessible 0>15", counts: "32/0/0 p2 [0,230] until 240"},
		{name: "one probe confirms after K (M capped at the probes taking part)",
			spec: every(0, 60, 15, "A", "b/dns"), to: 60,
			want: "blocked/dns 0>30", counts: "4/0/0 p1 [0,45] until 60"},
		{name: "fewer than K measurements confirm nothing",
			spec: "0:A:b 15:A:b", to: 30, want: "-"},
		{name: "M: a change waits for the second probe while it is taking part",
			spec: "0:A:a 5:B:a 15:A:a 20:B:a 30:A:a 45:A:b 60:A:b 75:A:b 80:B:b 95:A:b", to: 120,
			want:   "accessible 0>15 | blocked 45>80",
			counts: "5/0/0 p2 [0,30] until 45 | 5/0/0 p2 [45,95] until 120"},
		{name: "M: a probe silent for MaxSilence no longer holds a change back",
			spec: "0:A:a 5:B:a 15:A:a 20:B:a 30:A:a 45:A:b 60:A:b 75:A:b 90:A:b 105:A:b", to: 120,
			want: "accessible 0>15 | blocked 45>90"},

		// noise and flapping
		{name: "one odd measurement does not flip the state",
			spec: every(0, 180, 15, "A", "a") + every(5, 90, 15, "B", "a") + "95:B:b/dns " + every(110, 180, 15, "B", "a"), to: 180,
			want: "accessible 0>15", counts: "23/1/0 p2 [0,170] until 180"},
		{name: "a run shorter than K does not flip the state",
			spec: "0:A:a 15:A:a 30:A:a 45:A:b 60:A:b 75:A:a 90:A:a", to: 105,
			want: "accessible 0>30", counts: "5/2/0 p1 [0,90] until 105"},
		{name: "flapping faster than K is never confirmed",
			spec: "0:A:a 15:A:a 30:A:a 45:A:b 60:A:a 75:A:b 90:A:b 105:A:a 120:A:b", to: 135,
			want: "accessible 0>30", counts: "5/4/0 p1 [0,105] until 135"},
		{name: "flapping at K is reported, each change",
			spec: every(0, 45, 15, "A", "a") + every(45, 90, 15, "A", "b") + every(90, 135, 15, "A", "a"), to: 135,
			want: "accessible 0>30 | blocked 45>75 | accessible 90>120"},

		// probes that disagree
		{name: "two probes disagreeing from the start: nothing confirmed",
			spec: every(0, 120, 15, "A", "b") + every(5, 120, 15, "B", "a"), to: 120, want: "-"},
		{name: "one of two probes sees a block: a tie is no change",
			spec: every(0, 60, 15, "A", "a") + every(60, 180, 15, "A", "b/dns") + every(5, 180, 15, "B", "a"), to: 180,
			want: "accessible 0>15", counts: "16/8/0 p2 [0,170] until 180"},
		{name: "two of three probes see a block: the third (another resolver) does not hold it back",
			spec: every(0, 60, 15, "A", "a") + every(60, 180, 15, "A", "b/dns") +
				every(5, 60, 15, "B", "a") + every(65, 180, 15, "B", "b/dns") + every(10, 180, 15, "C", "a"), to: 180,
			want:   "accessible 0>10 | blocked/dns 60>75",
			counts: "12/0/0 p3 [0,55] until 60 | 16/8/0 p2 [60,170] until 180"},
		{name: "a lone dissenter plus one odd measurement does not flip the state",
			spec: every(0, 90, 15, "A", "b") + "90:A:a " + every(105, 180, 15, "A", "b") +
				every(5, 180, 15, "B", "b") + every(10, 180, 15, "C", "a"), to: 180,
			want: "blocked 0>15", counts: "23/13/0 p2 [0,170] until 180"},

		{name: "two of five probes see a block: the network's state holds, with the dissent counted",
			spec: every(0, 180, 15, "A", "b") + every(3, 180, 15, "B", "b") + every(6, 180, 15, "C", "a") +
				every(9, 180, 15, "D", "a") + every(12, 180, 15, "E", "a"), to: 180,
			want: "accessible 6>12", counts: "36/22/0 p3 [6,177] until 180"},

		// inconclusive and down
		{name: "a probe that only reports inconclusive does not hold a change back",
			spec: "0:A:a 5:B:i 15:A:a 20:B:i 30:A:a 35:B:i", to: 45,
			want: "accessible 0>30", counts: "3/0/3 p1 [0,30] until 45"},
		{name: "inconclusive measurements neither confirm nor break a run",
			spec: "0:A:b 15:A:i 30:A:b 45:A:i 60:A:b", to: 75,
			want: "blocked 0>60", counts: "3/0/2 p1 [0,60] until 75"},
		{name: "inconclusive measurements do not end a confirmed state",
			spec: every(0, 45, 15, "A", "a") + every(45, 150, 15, "A", "i") + "150:A:a", to: 165,
			want: "accessible 0>30", counts: "4/0/7 p1 [0,150] until 165"},
		{name: "only inconclusive: confirmed as inconclusive",
			spec: every(0, 60, 15, "A", "i") + every(5, 60, 15, "B", "i"), to: 60,
			want: "inconclusive 0>15", counts: "8/0/0 p2 [0,50] until 60"},
		{name: "inconclusive until something decisive is confirmed",
			spec: "0:A:a 15:A:i 30:A:i 45:A:i 60:A:a 75:A:a 90:A:a", to: 105,
			want: "inconclusive 15>45 | accessible 60>90", counts: "3/0/0 p1 [15,45] until 60 | 3/0/0 p1 [60,90] until 105"},
		{name: "unknown statuses count as inconclusive, not dropped",
			spec: "0:A:a 15:A:weird 30:A:a 45:A:a", to: 60,
			want: "accessible 0>45", counts: "3/0/1 p1 [0,45] until 60"},
		{name: "down for everyone is confirmed like any state",
			spec: every(0, 45, 15, "A", "a") + every(45, 105, 15, "A", "d"), to: 105,
			want: "accessible 0>30 | down 45>75"},

		// methods
		{name: "method: the most common",
			spec: "0:A:b/http 15:A:b/dns 30:A:b/http 45:A:b/dns 60:A:b/tcp 75:A:b/http", to: 90,
			want: "blocked/http 0>30"},
		{name: "method: a tie goes to the earliest step of the chain",
			spec: "0:A:b/http 15:A:b/dns 30:A:b/tls 45:A:b/http 60:A:b/dns", to: 75,
			want: "blocked/dns 0>30"},

		// gaps
		{name: "a gap without heartbeats is no transition",
			spec: every(0, 45, 15, "A", "a") + every(300, 360, 15, "A", "a"), to: 360,
			want: "accessible 0>30 # nh 30-300", counts: "7/0/0 p1 [0,345] until 360"},
		{name: "heartbeats but no measurements: a no_measurement gap",
			spec: every(0, 45, 15, "A", "a") + every(300, 360, 15, "A", "a"), to: 360,
			beats: beats("telkomsel", "A", 0, 360, 5),
			want:  "accessible 0>30 # nm 30-300"},
		{name: "heartbeats stop during the silence: both reasons, tiling it",
			spec: every(0, 45, 15, "A", "a") + every(300, 360, 15, "A", "a"), to: 360,
			beats: beats("telkomsel", "A", 0, 100, 5),
			want:  "accessible 0>30 # nm 30-95 # nh 95-300"},
		{name: "a rest shorter than MaxSilence joins the no_heartbeat gap",
			spec: every(0, 45, 15, "A", "a") + every(300, 360, 15, "A", "a"), to: 360,
			beats: beats("telkomsel", "A", 0, 60, 5),
			want:  "accessible 0>30 # nh 30-300"},
		{name: "heartbeats missing inside a no_measurement stretch",
			spec: every(0, 45, 15, "A", "a") + every(300, 360, 15, "A", "a"), to: 360,
			beats: append(beats("telkomsel", "A", 0, 100, 5), beats("telkomsel", "A", 200, 360, 5)...),
			want:  "accessible 0>30 # nm 30-95 # nh 95-200 # nm 200-300"},
		{name: "heartbeats of other networks and of probes not measuring the pair do not count",
			spec: every(0, 45, 15, "A", "a") + every(300, 360, 15, "A", "a"), to: 360,
			beats: append(beats("indosat", "A", 0, 360, 5), beats("telkomsel", "Z", 0, 360, 5)...),
			want:  "accessible 0>30 # nh 30-300"},
		{name: "heartbeats of any of the pair's probes count",
			spec: every(0, 45, 15, "A", "a") + every(300, 360, 15, "A", "a") + "0:B:a", to: 360,
			beats: beats("telkomsel", "B", 0, 360, 5),
			want:  "accessible 0>15 # nm 30-300"},
		{name: "a different state after a gap: the transition is at the first measurement after it",
			spec: every(0, 45, 15, "A", "a") + every(300, 360, 15, "A", "b"), to: 360,
			want: "accessible 0>30 | blocked 300>330 # nh 30-300"},
		{name: "a run does not span a gap",
			spec: every(0, 45, 15, "A", "a") + "45:A:b " + every(300, 345, 15, "A", "b"), to: 345,
			want: "accessible 0>30 | blocked 300>330 # nh 45-300", counts: "3/1/0 p1 [0,30] until 300 | 3/0/0 p1 [300,330] until 345"},
		{name: "window edges: silences at the start and the end are gaps; outside is ignored",
			spec: "-30:A:b " + every(90, 200, 15, "A", "a") + "300:A:b", to: 300,
			want: "accessible 90>120 # nh 0-90 # nh 195-300", counts: "8/0/0 p1 [90,195] until 300"},
		{name: "window start with heartbeats",
			spec: every(90, 200, 15, "A", "a"), from: 0, to: 240, beats: beats("telkomsel", "A", 0, 240, 5),
			want: "accessible 90>120 # nm 0-90"},
		{name: "a window with no measurement at all",
			spec: "", to: 120, beats: beats("telkomsel", "A", 0, 240, 5), want: "- # nm 0-120"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := mk(t, "t.me", "telkomsel", tt.spec)
			tl := Build("t.me", "telkomsel", obs, tt.beats, at(tt.from), at(tt.to), Params{})
			if got := summary(tl); got != tt.want {
				t.Errorf("periods and gaps:\n got %s\nwant %s", got, tt.want)
			}
			if tt.counts != "" {
				if got := counts(tl); got != tt.counts {
					t.Errorf("counts:\n got %s\nwant %s", got, tt.counts)
				}
			}
			checkInvariants(t, tl, obs)
		})
	}
}

// checkInvariants checks what must hold for every timeline: accounting, order, the
// transitions matching the periods, gaps never holding a transition.
func checkInvariants(t *testing.T, tl Timeline, obs []Obs) {
	t.Helper()
	inWindow := 0
	for _, o := range obs {
		if !o.At.Before(tl.From) && o.At.Before(tl.To) && (tl.Probe == "" || o.Probe == tl.Probe) {
			inWindow++
		}
	}
	if tl.Measurements != inWindow {
		t.Errorf("Measurements = %d, want %d in the window", tl.Measurements, inWindow)
	}
	sum := tl.Unconfirmed
	for _, p := range tl.Periods {
		sum += p.Measurements + p.Disagreeing + p.Inconclusive
	}
	if sum != tl.Measurements {
		t.Errorf("periods hold %d measurements, want %d", sum, tl.Measurements)
	}
	if len(tl.Transitions) != len(tl.Periods) {
		t.Fatalf("%d transitions for %d periods", len(tl.Transitions), len(tl.Periods))
	}
	want := Unknown
	for k, p := range tl.Periods {
		tr := tl.Transitions[k]
		if tr.From != want || tr.To != p.State || !tr.At.Equal(p.Since) || !tr.Confirmed.Equal(p.Confirmed) {
			t.Errorf("transition %d = %+v does not match period %+v", k, tr, p)
		}
		if k > 0 && (!p.Since.After(tl.Periods[k-1].Since) || !tl.Periods[k-1].Until.Equal(p.Since)) {
			t.Errorf("period %d does not follow period %d", k, k-1)
		}
		if p.Confirmed.Before(p.Since) || p.LastSeen.Before(p.FirstSeen) || !p.Until.After(p.LastSeen) {
			t.Errorf("period %d out of order: %+v", k, p)
		}
		if g, ok := tl.InGap(tr.At); ok {
			t.Errorf("transition %d at %v inside gap %+v", k, tr.At, g)
		}
		want = p.State
	}
	if tl.Current != want {
		t.Errorf("Current = %s, want %s", tl.Current, want)
	}
	if !slices.IsSortedFunc(tl.Gaps, func(a, b Gap) int { return a.From.Compare(b.From) }) {
		t.Errorf("gaps out of order: %+v", tl.Gaps)
	}
	for _, g := range tl.Gaps {
		if !g.To.After(g.From) || g.From.Before(tl.From) || g.To.After(tl.To) {
			t.Errorf("bad gap %+v", g)
		}
	}
}
