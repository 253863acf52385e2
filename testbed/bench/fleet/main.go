// Command benchfleet simulates a large probe fleet against collector replicas on one
// InfluxDB. Run it through scripts/with-influxdb (`make bench-fleet` does). In one process
// it serves --replicas collectors built the way `collector serve` builds them (a
// store.Store each, the report service's Watch wrapper with ingest marks, api.New) on
// 127.0.0.1:0, in front of one fresh database per phase, and runs --probes simulated
// probes on a --cadence schedule (15 minutes) compressed by each of --speeds: a probe
// posts its round (one measurement per name of the 11-name Telegram schedule) followed by
// a heartbeat, and two more heartbeats a third and two thirds of the way to its next
// round (the agent's 5-minute heartbeat), each request to the next replica in turn (a
// round-robin load balancer). The probes' schedules are staggered evenly over the
// interval and each joins at its first event after the start, so the rates are steady from
// the first second. A share of
// the rounds (--backlog) are yesterday's, drained late from a spool: for those the
// collectors also write ingest marks.
//
// Per phase it reports the offered and acknowledged measurements and heartbeats per
// second, the p50/p99 acknowledgement latency of each, and checks that InfluxDB holds
// every item acknowledged (acknowledged = stored) and no more than was sent: exactly the
// acknowledged ones when no request failed. The sustainable speed is the
// fastest without failures whose p99 (measurements and heartbeats) is within --max-p99;
// --check exits 1 when the slowest speed is not sustainable or a count does not match.
// See docs/scaling.md, Scale-out.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() { os.Exit(run()) }

type config struct {
	influx   string
	probes   int
	replicas int
	cadence  time.Duration
	speeds   []float64
	duration time.Duration
	maxP99   time.Duration
	backlog  float64
	check    bool
}

func run() int {
	var c config
	var speeds string
	flag.IntVar(&c.probes, "probes", 10000, "simulated probes")
	flag.IntVar(&c.replicas, "replicas", 2, "collector replicas behind the round-robin balancer")
	flag.DurationVar(&c.cadence, "cadence", 15*time.Minute, "each probe's round interval, uncompressed")
	flag.StringVar(&speeds, "speeds", "2,4,8", "time compressions to run, comma-separated: 20 runs the 15-minute cadence every 45 s")
	flag.DurationVar(&c.duration, "duration", time.Minute, "how long each phase runs")
	flag.DurationVar(&c.maxP99, "max-p99", 200*time.Millisecond, "goal: p99 acknowledgement latency at the sustainable speed")
	flag.Float64Var(&c.backlog, "backlog", 0.05, "share of rounds that are a spooled round of yesterday, sent late (ingest marks are written for them)")
	flag.BoolVar(&c.check, "check", false, "exit 1 when the slowest speed misses the goal or stored differs from acknowledged")
	flag.Parse()
	c.influx = os.Getenv("PANTAU_TEST_INFLUX_URL")
	for _, f := range strings.Split(speeds, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "benchfleet: --speeds: %q is not a positive number\n", f)
			return 2
		}
		c.speeds = append(c.speeds, v)
	}
	switch {
	case c.influx == "":
		fmt.Fprintln(os.Stderr, "benchfleet: PANTAU_TEST_INFLUX_URL is not set: run it through scripts/with-influxdb (make bench-fleet)")
		return 2
	case c.probes < 1 || c.replicas < 1 || c.cadence <= 0 || c.duration <= 0 || c.backlog < 0 || c.backlog > 1:
		fmt.Fprintln(os.Stderr, "benchfleet: want --probes, --replicas ≥ 1, a positive --cadence and --duration, and --backlog in [0, 1]")
		return 2
	}
	fmt.Printf("benchfleet: %d probes × %d measurements every %s, %d replicas, GOMAXPROCS %d (collectors, probes and InfluxDB share %d CPUs)\n",
		c.probes, len(schedule), c.cadence, c.replicas, runtime.GOMAXPROCS(0), runtime.NumCPU())
	var phases []phase
	for _, s := range c.speeds {
		p, err := runPhase(c, s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchfleet: FAILED:", err)
			return 1
		}
		p.print(c)
		phases = append(phases, p)
	}
	return summarize(c, phases)
}

// summarize prints the sustainable speed and its projection, and returns the exit code.
func summarize(c config, phases []phase) int {
	best := -1
	for i, p := range phases {
		if p.sustainable(c.maxP99) && (best < 0 || p.speed > phases[best].speed) {
			best = i
		}
	}
	realtime := float64(c.probes*len(schedule)) / c.cadence.Seconds()
	if best < 0 {
		fmt.Printf("benchfleet: no speed was sustainable (p99 ≤ %s, no failures); real time is %.0f measurements/s\n", c.maxP99, realtime)
	} else {
		p := phases[best]
		fmt.Printf("benchfleet: sustainable: ×%g = %.0f measurements/s and %.0f heartbeats/s acknowledged, p99 %s / %s;\n",
			p.speed, p.meas.rate(), p.beats.rate(), p.meas.pct(0.99).Round(time.Millisecond), p.beats.pct(0.99).Round(time.Millisecond))
		fmt.Printf("benchfleet: that is %.0f probes at a %s cadence in real time (%d replicas); 100,000 probes need %.0f measurements/s\n",
			float64(c.probes)*p.speed, c.cadence, c.replicas, realtime*100000/float64(c.probes))
	}
	if c.check && !phases[indexOfSlowest(phases)].sustainable(c.maxP99) {
		fmt.Fprintln(os.Stderr, "benchfleet: goal missed: the slowest speed is not sustainable")
		return 1
	}
	return 0
}

func indexOfSlowest(ps []phase) int {
	k := 0
	for i, p := range ps {
		if p.speed < ps[k].speed {
			k = i
		}
	}
	return k
}
