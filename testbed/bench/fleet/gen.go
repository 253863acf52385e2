package main

import (
	"encoding/json"
	"math/rand/v2"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/testbed/bench/benchgen"
)

// schedule is what every simulated probe measures each round: the 11 Telegram names of
// the 2017 order (the bundled id-telegram-web-2017 schedule).
var schedule = benchgen.Telegram

// roundBody is the JSON batch of one probe's round at at: one web measurement per name of
// the schedule, a quarter of them DNS-blocked, of benchgen's Typical shape (no
// certificate chains or redirects: a probe's typical measurement, not its largest).
func roundBody(r *rand.Rand, at time.Time) ([]byte, error) {
	ms := make([]*measurement.Measurement, len(schedule))
	for i, d := range schedule {
		ms[i] = benchgen.Web(r, d, at.Add(time.Duration(i)*1500*time.Millisecond), "id-telegram-web-2017", benchgen.Typical)
	}
	return json.Marshal(ms)
}

// heartbeatBody is a probe's heartbeat at at, after a round that started at last.
func heartbeatBody(at, last time.Time, depth int) ([]byte, error) {
	h := measurement.Heartbeat{SentAt: at, Software: measurement.Software{Name: "pantau-probe", Version: "v0.4.0"},
		SchedulesHash: "sha256:bench", SpoolDepth: depth,
		Schedules: []measurement.ScheduleStatus{{Name: "id-telegram-web-2017", LastStart: last, LastEnd: last.Add(20 * time.Second),
			Measurements: len(schedule), Next: last.Add(15 * time.Minute)}}}
	return json.Marshal(h)
}
