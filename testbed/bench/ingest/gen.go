package main

import (
	"math/rand/v2"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/testbed/bench/benchgen"
)

// domains are the 11 Telegram names Kominfo ordered blocked in 2017, then other names the
// bundled schedules measure.
var domains = append(append([]string(nil), benchgen.Telegram...), benchgen.Social...)

// generator makes realistic web measurements with distinct start times: the i-th one
// starts 100 ms after the (i-1)-th, so no two points of one series share a timestamp.
type generator struct {
	rng  *rand.Rand
	base time.Time
	next int
}

func newGenerator(seed uint64, base time.Time) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), base: base}
}

// measurement returns the next measurement (benchgen.Full): 2 DNS questions, 2 TCP
// connects, 1–2 TLS handshakes, 1–2 HTTP requests, a control with the same shape and a
// verdict. About a quarter are DNS-blocked.
func (g *generator) measurement() *measurement.Measurement {
	i := g.next
	g.next++
	n := g.rng.IntN(len(domains))
	schedule := "telegram"
	if n >= len(benchgen.Telegram) {
		schedule = "social"
	}
	return benchgen.Web(g.rng, domains[n], g.base.Add(time.Duration(i)*100*time.Millisecond), schedule, benchgen.Full)
}
