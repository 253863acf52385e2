package main

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
)

// world is the generated fleet and what each network does over the data set's days. It is
// deterministic: the same world gives the same measurements, byte for byte.
//
// The story (E = the block order's effective time, start + 7 days; grace 2 days):
//   - net01–net05 block every name by DNS within hours of E (each probe switches at its own
//     time in the network's rollout), with noise: a few inconclusive measurements and a few
//     leaks (accessible while blocked);
//   - net06 blocks by TLS (SNI) within hours;
//   - net07 blocks by DNS, then on day 20 lifts the block partially: t.me and the four
//     *.web.telegram.org hosts stay blocked, the other six names come back;
//   - net08 never blocks;
//   - net09 blocks four days after E, long after the grace period (compliant in the end,
//     with a time to effect of four days);
//   - net10 blocks by DNS but its probes are often offline, and all of them on day 16;
//   - everywhere, telegram.org is down for two hours on day 12 (down for everyone);
//   - a few probes elsewhere go offline for hours (no measurements, no heartbeats).
//
// The block order (orderYAML) covers the names and net01–net10 plus net11, which has no
// probes: compliant are net01–net06, net09 and net10; net07 (six names accessible again) and
// net08 are not; net11 is unknown.
type world struct {
	start    time.Time
	days     int
	cadence  time.Duration // between two measurements of a domain by a probe
	beat     time.Duration // between two heartbeats of a probe
	domains  []string
	networks []network
	probes   []probe
	// effective and grace of the block order.
	effective time.Time
	grace     time.Duration
	downFrom  time.Time // telegram.org down for everyone in [downFrom, downTo)
	downTo    time.Time
	downName  string
}

// network is one network's behaviour.
type network struct {
	name    string
	asn     uint32
	blockAt time.Duration // after effective; negative: never blocks
	method  string        // dns or tls
	liftAt  time.Duration // after effective; 0: no lift
	keep    []string      // names still blocked after the lift
	expect  orders.Status // what the block order's compliance report must say
}

// probe is one probe and its outages.
type probe struct {
	name     string
	net      int           // index into world.networks
	offset   time.Duration // of its schedule within the cadence
	rollout  time.Duration // when the block reaches this probe, after the network's blockAt
	outages  []span
	asn      uint32
	ordinal  int
	hbOffset time.Duration
}

type span struct{ from, to time.Time }

func (s span) has(t time.Time) bool { return !t.Before(s.from) && t.Before(s.to) }

// liftKept are the names the press found still unreachable after the 2017 lift.
var liftKept = []string{"t.me", "venus.web.telegram.org", "pluto.web.telegram.org", "flora.web.telegram.org", "flora-1.web.telegram.org"}

// newWorld builds the world over days from start with probesPerNet probes on each of the
// ten networks.
func newWorld(start time.Time, days, probesPerNet int, domains []string) *world {
	w := &world{start: start, days: days, cadence: 15 * time.Minute, beat: 5 * time.Minute, domains: domains,
		effective: start.Add(7 * 24 * time.Hour), grace: 48 * time.Hour, downName: "telegram.org"}
	w.downFrom = start.Add(12*24*time.Hour + 10*time.Hour)
	w.downTo = w.downFrom.Add(2 * time.Hour)
	h := time.Hour
	w.networks = []network{
		{name: "net01", blockAt: 2 * h, method: "dns", expect: orders.Compliant},
		{name: "net02", blockAt: 6 * h, method: "dns", expect: orders.Compliant},
		{name: "net03", blockAt: 12 * h, method: "dns", expect: orders.Compliant},
		{name: "net04", blockAt: 20 * h, method: "dns", expect: orders.Compliant},
		{name: "net05", blockAt: 30 * h, method: "dns", expect: orders.Compliant},
		{name: "net06", blockAt: 10 * h, method: "tls", expect: orders.Compliant},
		{name: "net07", blockAt: 4 * h, method: "dns", liftAt: 13 * 24 * h, keep: liftKept, expect: orders.NonCompliant},
		{name: "net08", blockAt: -1, expect: orders.NonCompliant},
		{name: "net09", blockAt: 4 * 24 * h, method: "dns", expect: orders.Compliant}, // late: see its time to effect
		{name: "net10", blockAt: 8 * h, method: "dns", expect: orders.Compliant},
	}
	for i := range w.networks {
		w.networks[i].asn = uint32(64501 + i)
	}
	end := w.end()
	for n := range w.networks {
		for k := range probesPerNet {
			i := len(w.probes)
			p := probe{name: fmt.Sprintf("%s-p%d", w.networks[n].name, k+1), net: n, asn: w.networks[n].asn, ordinal: i,
				offset:   time.Duration(i*17) * time.Second % w.cadence,
				hbOffset: time.Duration(i*7) * time.Second % w.beat,
				rollout:  time.Duration(hash64(fmt.Sprint("rollout", i))%uint64(3*time.Hour/time.Minute)) * time.Minute}
			switch {
			case w.networks[n].name == "net10" && k < 3: // flaky: a day and a half off, staggered
				from := start.Add(time.Duration(10+k) * 24 * time.Hour)
				p.outages = append(p.outages, span{from, from.Add(36 * time.Hour)})
			case i%9 == 4: // a few others: offline for 5 to 30 hours
				from := start.Add(time.Duration(hash64(fmt.Sprint("outage", i))%uint64(w.days*24-30)) * time.Hour)
				p.outages = append(p.outages, span{from, from.Add(time.Duration(5+i%26) * time.Hour)})
			}
			if w.networks[n].name == "net10" { // the whole network off on day 16
				from := start.Add(16 * 24 * time.Hour)
				p.outages = append(p.outages, span{from, from.Add(24 * time.Hour)})
			}
			for j := range p.outages { // clip to the data set
				p.outages[j].to = minTime(p.outages[j].to, end)
			}
			w.probes = append(w.probes, p)
		}
	}
	return w
}

func (w *world) end() time.Time { return w.start.Add(time.Duration(w.days) * 24 * time.Hour) }

// measured is when p measures domain in its slot-th run.
func (w *world) measured(p *probe, domain string, slot int) time.Time {
	return w.start.Add(time.Duration(slot)*w.cadence + p.offset + time.Duration(domainIndex(w.domains, domain))*3*time.Second)
}

// walk calls beat for each heartbeat of p and measure for each of its measurements, in
// time order, skipping those while p is offline.
func (w *world) walk(p *probe, beat func(t time.Time) error, measure func(domain string, slot int) error) error {
	steps := int(w.end().Sub(w.start) / w.beat)
	per := int(w.cadence / w.beat)
	for k := range steps {
		if t := w.start.Add(time.Duration(k)*w.beat + p.hbOffset); w.online(p, t) {
			if err := beat(t); err != nil {
				return err
			}
		}
		if k%per != 0 {
			continue
		}
		for _, d := range w.domains {
			if w.online(p, w.measured(p, d, k/per)) {
				if err := measure(d, k/per); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// size counts the data set's measurements and heartbeats.
func (w *world) size() struct{ reach, beats int64 } {
	var n struct{ reach, beats int64 }
	for i := range w.probes {
		_ = w.walk(&w.probes[i], func(time.Time) error { n.beats++; return nil },
			func(string, int) error { n.reach++; return nil })
	}
	return n
}

// online says whether p measures and reports at t.
func (w *world) online(p *probe, t time.Time) bool {
	for _, o := range p.outages {
		if o.has(t) {
			return false
		}
	}
	return true
}

// verdict is what p sees of domain at t, the measurement's seq-th of its series (for noise):
// status and method.
func (w *world) verdict(p *probe, domain string, t time.Time, seq uint64) (status, method string) {
	n := &w.networks[p.net]
	if domain == w.downName && !t.Before(w.downFrom) && t.Before(w.downTo) {
		return "down", ""
	}
	blocked := false
	if n.blockAt >= 0 && !t.Before(w.effective.Add(n.blockAt+p.rollout)) {
		blocked = true
		if n.liftAt > 0 && !t.Before(w.effective.Add(n.liftAt+p.rollout)) && !slices.Contains(n.keep, domain) {
			blocked = false
		}
	}
	r := hash64(p.name+"\x00"+domain) ^ seq*0x9e3779b97f4a7c15
	r = mix(r) % 1000
	switch {
	case r < 15: // 1.5 %: a timeout, no decision
		return "inconclusive", ""
	case blocked && r < 30: // 1.5 % of blocked measurements leak
		return "accessible", ""
	case blocked:
		return "blocked", n.method
	}
	return "accessible", ""
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// The block order's ID, and the network in its scope without probes.
const (
	orderID   = "bench-telegram-block"
	uncovered = "net11"
)

// orderYAML is the block order of the data set, as an orders/ file.
func (w *world) orderYAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "id: %s\ntitle: Benchmark block of the Telegram web names\nauthority: testbed/benchreport\nreference: generated\n", orderID)
	b.WriteString("domains:\n")
	for _, d := range w.domains {
		fmt.Fprintf(&b, "  - %s\n", d)
	}
	fmt.Fprintf(&b, "expect: blocked\neffective: %s\ngrace: %s\nnetworks:\n", w.effective.Format(time.RFC3339), w.grace)
	for _, n := range w.networks {
		fmt.Fprintf(&b, "  - %s\n", n.name)
	}
	fmt.Fprintf(&b, "  - %s\n", uncovered)
	return b.String()
}
