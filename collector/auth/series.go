package auth

import (
	"container/list"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Defaults of the series caps (collector.yaml, limits).
const (
	// DefaultNewDomainsPerHour is how many domains a probe may measure for the first time
	// in an hour: the Citizen Lab global list (about 1,400 names) and a country list fit.
	DefaultNewDomainsPerHour = 2000
	// DefaultNewSchedulesPerHour is how many schedule names a probe's heartbeats may bring
	// for the first time in an hour.
	DefaultNewSchedulesPerHour = 100
	// SeriesMemory bounds the (probe, tag, value) triples a SeriesCap remembers, about
	// 150 bytes each.
	SeriesMemory = 200_000
)

// Fields the SeriesCap caps: the tags a request body gives values to.
const (
	FieldDomain   = "domain"   // a measurement's domain (tag of every point)
	FieldSchedule = "schedule" // a heartbeat's schedule names (tag of probe_schedule)
)

// SeriesCap bounds how many new values one probe may give the tags whose values come from
// request bodies. Every new value is a new series (and a new tag value) in InfluxDB, and
// once InfluxDB's series or values-per-tag limit is reached it refuses the writes of every
// probe that need a new series: without a cap, one token could make up names until honest
// probes are refused.
//
// A value the cap has seen from a probe is free; a new one takes one from the probe's
// allowance for that field, which holds perHour and refills at perHour an hour. The cap
// remembers the last SeriesMemory (probe, field, value) triples it admitted or saw again;
// a forgotten one costs an allowance again when it comes back, which an honest probe's
// allowance covers as long as it measures fewer new names an hour than its allowance
// (its repeats of the hour are remembered). After a restart every value is new once.
// Safe for concurrent use; a nil *SeriesCap admits everything.
type SeriesCap struct {
	perHour map[string]float64 // per field; absent or 0: not capped
	setting map[string]string  // per field: the configuration key, for errors
	memory  int

	mu      sync.Mutex
	known   map[seriesKey]*list.Element // of seriesKey; front: most recently seen
	lru     list.List
	bucket  map[probeField]*allowance
	refused map[string]int64 // per field
}

type probeField struct{ probe, field string }

type seriesKey struct{ probe, field, value string }

type allowance struct {
	left float64
	last time.Time
}

// NewSeriesCap returns a cap admitting domainsPerHour new domains and schedulesPerHour
// new schedule names per probe an hour; 0 leaves that field uncapped.
func NewSeriesCap(domainsPerHour, schedulesPerHour int) *SeriesCap {
	return &SeriesCap{
		perHour: map[string]float64{FieldDomain: float64(max(domainsPerHour, 0)), FieldSchedule: float64(max(schedulesPerHour, 0))},
		setting: map[string]string{FieldDomain: "limits.new_domains_per_hour", FieldSchedule: "limits.new_schedules_per_hour"},
		memory:  SeriesMemory, known: map[seriesKey]*list.Element{}, bucket: map[probeField]*allowance{},
		refused: map[string]int64{},
	}
}

// CapError says a value was refused because its probe's allowance of new values for the
// field was used up.
type CapError struct {
	Field, Value, Probe string
	PerHour             int
	Setting             string // the configuration key of the cap
}

func (e *CapError) Error() string {
	return fmt.Sprintf("%s: %q would be a new %s of probe %s beyond its allowance of %d new %ss an hour (%s)",
		e.Field, clip(e.Value), e.Field, e.Probe, e.PerHour, e.Field, e.Setting)
}

// Admit admits values of field from probe at now: nil when every value is known or the
// probe's allowance covers the new ones, which it then takes, all or none; otherwise a
// *CapError naming the first new value refused, and nothing is taken.
func (c *SeriesCap) Admit(probe, field string, values []string, now time.Time) error {
	if c == nil || c.perHour[field] == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var fresh []seriesKey
	for _, v := range values {
		k := seriesKey{probe, field, v}
		if e, ok := c.known[k]; ok {
			c.lru.MoveToFront(e)
		} else if !slices.Contains(fresh, k) {
			fresh = append(fresh, k)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	a := c.allowance(probe, field, now)
	if a.left < float64(len(fresh)) {
		c.refused[field] += int64(len(fresh))
		return &CapError{Field: field, Value: fresh[0].value, Probe: probe, PerHour: int(c.perHour[field]), Setting: c.setting[field]}
	}
	a.left -= float64(len(fresh))
	for _, k := range fresh {
		c.known[k] = c.lru.PushFront(k)
	}
	for c.lru.Len() > c.memory {
		delete(c.known, c.lru.Remove(c.lru.Back()).(seriesKey))
	}
	return nil
}

// allowance returns probe's allowance for field, refilled to now. Full allowances are
// forgotten when there are more than there are triples to remember: a forgotten
// allowance starts full again, which is what it was.
func (c *SeriesCap) allowance(probe, field string, now time.Time) *allowance {
	per := c.perHour[field]
	refill := func(a *allowance) {
		if d := now.Sub(a.last); d > 0 {
			a.left = math.Min(per, a.left+d.Hours()*per)
			a.last = now
		}
	}
	key := probeField{probe, field}
	if a, ok := c.bucket[key]; ok {
		refill(a)
		return a
	}
	if len(c.bucket) >= c.memory {
		for k, a := range c.bucket {
			if refill(a); a.left >= c.perHour[k.field] {
				delete(c.bucket, k)
			}
		}
	}
	a := &allowance{left: per, last: now}
	c.bucket[key] = a
	return a
}

// Refused returns how many values of field were refused since the cap was made.
func (c *SeriesCap) Refused(field string) int64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused[field]
}

// Remembered returns how many (probe, field, value) triples the cap remembers.
func (c *SeriesCap) Remembered() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
