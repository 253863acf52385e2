package auth

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSeriesCapSteps(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		probe, field string
		values       []string
		at           time.Duration // since t0
		want         string        // the error, "" to admit
	}
	const over = " beyond its allowance of 3 new domains an hour (limits.new_domains_per_hour)"
	tests := []struct {
		name  string
		steps []step
	}{
		{"allowance, then refusal, known values stay free", []step{
			{"a", FieldDomain, []string{"d1"}, 0, ""},
			{"a", FieldDomain, []string{"d2", "d3"}, 0, ""},
			{"a", FieldDomain, []string{"d4"}, 0, `domain: "d4" would be a new domain of probe a` + over},
			{"a", FieldDomain, []string{"d1", "d2", "d3", "d1"}, 0, ""},
			{"a", FieldDomain, []string{"d4"}, 19 * time.Minute, `domain: "d4" would be a new domain of probe a` + over},
			{"a", FieldDomain, []string{"d4"}, 20 * time.Minute, ""}, // one an hour / 3
			{"a", FieldDomain, []string{"d5"}, 20 * time.Minute, `domain: "d5" would be a new domain of probe a` + over},
			{"a", FieldDomain, []string{"d5", "d6", "d7"}, 10 * time.Hour, ""}, // refilled to 3, not beyond
			{"a", FieldDomain, []string{"d8"}, 10 * time.Hour, `domain: "d8" would be a new domain of probe a` + over},
		}},
		{"all or none: a refused set takes nothing", []step{
			{"a", FieldDomain, []string{"d1", "d2"}, 0, ""},
			{"a", FieldDomain, []string{"d3", "d4"}, 0, `domain: "d3" would be a new domain of probe a` + over},
			{"a", FieldDomain, []string{"d3"}, 0, ""},
			{"a", FieldDomain, []string{"d1", "d4", "d4"}, 0, `domain: "d4" would be a new domain of probe a` + over},
		}},
		{"repeats within one call count once", []step{
			{"a", FieldDomain, []string{"d1", "d1", "d1", "d2", "d2", "d3"}, 0, ""},
		}},
		{"probes and fields are independent", []step{
			{"flood", FieldDomain, []string{"x1", "x2", "x3"}, 0, ""},
			{"flood", FieldDomain, []string{"x4"}, 0, `domain: "x4" would be a new domain of probe flood` + over},
			{"honest", FieldDomain, []string{"t.me", "x1", "x2"}, 0, ""}, // x1 is new for honest: its own series
			{"flood", FieldSchedule, []string{"s1", "s2"}, 0, ""},
			{"flood", FieldSchedule, []string{"s3"}, 0, `schedule: "s3" would be a new schedule of probe flood beyond its allowance of 2 new schedules an hour (limits.new_schedules_per_hour)`},
		}},
		{"a clock going back adds nothing", []step{
			{"a", FieldDomain, []string{"d1", "d2", "d3"}, time.Hour, ""},
			{"a", FieldDomain, []string{"d4"}, 0, `domain: "d4" would be a new domain of probe a` + over},
			{"a", FieldDomain, []string{"d4"}, time.Hour, `domain: "d4" would be a new domain of probe a` + over},
		}},
		{"hostile values are only values", []step{
			{"a", FieldDomain, []string{"a\nb", `"; DROP`, ""}, 0, ""},
			{"a", FieldDomain, []string{strings.Repeat("\x00", 100)}, 0, `domain: "` + strings.Repeat(`\x00`, 64) + `…" would be a new domain of probe a` + over},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewSeriesCap(3, 2)
			refused := 0
			for i, s := range tc.steps {
				err := c.Admit(s.probe, s.field, s.values, t0.Add(s.at))
				got := ""
				if err != nil {
					got = err.Error()
					refused++
				}
				if got != s.want {
					t.Errorf("step %d: Admit(%s, %s, %q) = %q, want %q", i, s.probe, s.field, s.values, got, s.want)
				}
			}
			if n := c.Refused(FieldDomain) + c.Refused(FieldSchedule); refused > 0 && n < int64(refused) {
				t.Errorf("refused %d values, counted %d", refused, n)
			}
		})
	}
}

func TestSeriesCapOff(t *testing.T) {
	now := time.Now()
	var nilCap *SeriesCap
	if err := nilCap.Admit("a", FieldDomain, []string{"x"}, now); err != nil || nilCap.Refused(FieldDomain) != 0 || nilCap.Remembered() != 0 {
		t.Errorf("nil cap: %v", err)
	}
	c := NewSeriesCap(0, 1) // domains uncapped
	for i := range 1000 {
		if err := c.Admit("a", FieldDomain, []string{fmt.Sprint(i)}, now); err != nil {
			t.Fatal(err)
		}
	}
	if c.Remembered() != 0 {
		t.Errorf("an uncapped field remembers %d values", c.Remembered())
	}
	if err := c.Admit("a", "other", []string{"x"}, now); err != nil {
		t.Errorf("a field without a cap: %v", err)
	}
}

// TestSeriesCapMemory: the cap remembers at most memory triples, forgetting the least
// recently seen; a forgotten value costs an allowance again.
func TestSeriesCapMemory(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c := NewSeriesCap(100, 1)
	c.memory = 4
	for _, v := range []string{"d1", "d2", "d3", "d4"} {
		if err := c.Admit("a", FieldDomain, []string{v}, now); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.Admit("a", FieldDomain, []string{"d1"}, now) // d1 is recent again: d2 goes first
	_ = c.Admit("b", FieldDomain, []string{"x"}, now)
	if c.Remembered() != 4 {
		t.Fatalf("remembers %d, want 4", c.Remembered())
	}
	left := c.bucket[probeField{"a", FieldDomain}].left
	_ = c.Admit("a", FieldDomain, []string{"d1", "d3", "d4"}, now)
	if got := c.bucket[probeField{"a", FieldDomain}].left; got != left {
		t.Errorf("known values took allowance: %v → %v", left, got)
	}
	_ = c.Admit("a", FieldDomain, []string{"d2"}, now)
	if got := c.bucket[probeField{"a", FieldDomain}].left; got != left-1 {
		t.Errorf("a forgotten value took %v, want 1", left-got)
	}
	// Allowances: full ones are forgotten when there are too many.
	for i := range 10 {
		_ = c.Admit(fmt.Sprint("p", i), FieldSchedule, nil, now)
		_ = c.Admit(fmt.Sprint("p", i), FieldSchedule, []string{"s"}, now.Add(time.Duration(i)*time.Hour))
	}
	if len(c.bucket) > c.memory+1 {
		t.Errorf("%d allowances kept, want at most %d", len(c.bucket), c.memory+1)
	}
}

func TestSeriesCapConcurrent(t *testing.T) {
	c := NewSeriesCap(500, 1)
	now := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if c.Admit("a", FieldDomain, []string{fmt.Sprint(g, ".", i)}, now) == nil {
					mu.Lock()
					admitted++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if admitted != 500 || c.Refused(FieldDomain) != 8*200-500 {
		t.Errorf("admitted %d, refused %d; want 500 and %d", admitted, c.Refused(FieldDomain), 8*200-500)
	}
}
