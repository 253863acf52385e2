package timeline

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// t0 is the start of every test window: the day the 2017 Telegram block took effect.
var t0 = time.Date(2017, 7, 14, 0, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

var letters = map[string]State{"a": Accessible, "b": Blocked, "d": Down, "i": Inconclusive}

// mk parses "MIN:PROBE:STATUS[/METHOD] ..." (status a, b, d, i) into observations of the
// pair (domain, network); IDs are "DOMAIN-N" in order of appearance.
func mk(t *testing.T, domain, network, spec string) []Obs {
	t.Helper()
	var obs []Obs
	for n, f := range strings.Fields(spec) {
		parts := strings.Split(f, ":")
		if len(parts) != 3 {
			t.Fatalf("bad spec %q", f)
		}
		min, err := strconv.Atoi(parts[0])
		if err != nil {
			t.Fatalf("bad spec %q: %v", f, err)
		}
		st, method, _ := strings.Cut(parts[2], "/")
		s, ok := letters[st]
		if !ok {
			s = State(st)
		}
		obs = append(obs, Obs{At: at(min), ID: fmt.Sprintf("%s-%03d", domain, n), Probe: parts[1],
			Network: network, Domain: domain, Status: s, Method: method})
	}
	return obs
}

// every returns "MIN:PROBE:STATUS" tokens from start to end (exclusive) every step minutes.
func every(start, end, step int, probe, status string) string {
	var b strings.Builder
	for m := start; m < end; m += step {
		fmt.Fprintf(&b, "%d:%s:%s ", m, probe, status)
	}
	return b.String()
}

// beats returns heartbeats of probe on network from start to end (exclusive) every step minutes.
func beats(network, probe string, start, end, step int) []Beat {
	var bs []Beat
	for m := start; m < end; m += step {
		bs = append(bs, Beat{At: at(m), Probe: probe, Network: network})
	}
	return bs
}

func mins(ts time.Time) int { return int(ts.Sub(t0) / time.Minute) }

// summary renders periods and gaps compactly: "accessible 0>30 | blocked/dns 60>90 # nh 120-300".
func summary(tl Timeline) string {
	var ps []string
	for _, p := range tl.Periods {
		s := string(p.State)
		if p.Method != "" {
			s += "/" + p.Method
		}
		ps = append(ps, fmt.Sprintf("%s %d>%d", s, mins(p.Since), mins(p.Confirmed)))
	}
	out := strings.Join(ps, " | ")
	if out == "" {
		out = "-"
	}
	for _, g := range tl.Gaps {
		r := map[string]string{GapNoHeartbeat: "nh", GapNoMeasurement: "nm"}[g.Reason]
		out += fmt.Sprintf(" # %s %d-%d", r, mins(g.From), mins(g.To))
	}
	return out
}

// counts renders each period's Measurements/Disagreeing/Inconclusive/Probes and first/last seen.
func counts(tl Timeline) string {
	var ps []string
	for _, p := range tl.Periods {
		ps = append(ps, fmt.Sprintf("%d/%d/%d p%d [%d,%d] until %d", p.Measurements, p.Disagreeing,
			p.Inconclusive, p.Probes, mins(p.FirstSeen), mins(p.LastSeen), mins(p.Until)))
	}
	return strings.Join(ps, " | ")
}
