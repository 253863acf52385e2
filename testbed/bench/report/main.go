// Command benchreport measures the collector's timeline and compliance reports on a
// generated data set: by default 30 days of 50 probes on 10 networks measuring the 11
// Telegram web names of schedules/lists/id-telegram-web-2017.txt every 15 minutes (about
// 1.58 million reach measurements) plus a heartbeat of every probe every 5 minutes, with a
// story: networks that block by DNS or TLS at different speeds, one that lifts the block
// partially, one that never blocks, one that blocks late, probe outages and a network-wide
// one, and a name down for everyone for two hours (world.go).
//
// Run it through scripts/with-influxdb (`make bench-report` does). It
//
//  1. writes the data set straight to InfluxDB's v2 write API as line protocol (exactly the
//     points the collector's store writes for these measurements and heartbeats), in
//     5,000-point requests from several writers, and reports the write rate;
//  2. serves the real report API (report.New on a store.Store of that database, with a
//     block order of the names over the fleet) on 127.0.0.1:0, or uses --collector;
//  3. requests timelines of random (domain, network) pairs over the whole data set
//     (goal: p95 ≤ 300 ms) and the block order's compliance report (goal: ≤ 2 s each run),
//     checking every answer against what the generator made the networks do.
//
// With --check it exits 1 when a goal is missed. --keep and --reuse (with --db and the same
// --start) skip the write on later runs, but only against a long-lived InfluxDB named by
// PANTAU_TEST_INFLUX_URL: scripts/with-influxdb removes its own. See docs/scaling.md.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/internal/influxql"
)

func main() { os.Exit(run()) }

type config struct {
	influx, db, collector, list, cpuProfile string
	start                                   time.Time
	days, perNet, batch, writers, gens      int
	requests, runs                          int
	maxP95, maxCompliance                   time.Duration
	cadence, beat                           time.Duration
	keep, reuse, check, noCache             bool
}

func run() int {
	var c config
	var start string
	flag.StringVar(&start, "start", "", "first day of the data set, YYYY-MM-DD (default: 30 days before today, UTC)")
	flag.IntVar(&c.days, "days", 30, "days of data")
	flag.IntVar(&c.perNet, "probes-per-network", 5, "probes on each of the 10 networks")
	flag.DurationVar(&c.cadence, "cadence", 15*time.Minute, "between two measurements of a domain by a probe")
	flag.DurationVar(&c.beat, "beat", 5*time.Minute, "between two heartbeats of a probe (must divide --cadence)")
	flag.StringVar(&c.list, "list", "schedules/lists/id-telegram-web-2017.txt", "the domains (host names of the list)")
	flag.IntVar(&c.batch, "batch", 5000, "points per write request")
	flag.IntVar(&c.writers, "writers", 4, "concurrent writers")
	flag.IntVar(&c.gens, "generators", 2, "concurrent line protocol generators")
	flag.StringVar(&c.db, "db", "", "database to write to (default: a fresh one, dropped at the end)")
	flag.BoolVar(&c.reuse, "reuse", false, "the database already holds the data set (from --keep): do not write it")
	flag.BoolVar(&c.keep, "keep", false, "keep the database at the end")
	flag.StringVar(&c.collector, "collector", "", "measure this running collector (its store must read the database) instead of one in this process")
	flag.BoolVar(&c.noCache, "no-cache", false, "disable the report's cache of observations and heartbeats (every request reads InfluxDB)")
	flag.IntVar(&c.requests, "timelines", 100, "timeline requests")
	flag.IntVar(&c.runs, "compliance-runs", 5, "compliance report requests")
	flag.DurationVar(&c.maxP95, "max-timeline-p95", 300*time.Millisecond, "goal: p95 timeline latency at most this")
	flag.DurationVar(&c.maxCompliance, "max-compliance", 2*time.Second, "goal: every compliance report within this")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the measuring phase to this file")
	flag.BoolVar(&c.check, "check", false, "exit 1 when a goal is missed")
	flag.Parse()
	c.influx = strings.TrimRight(os.Getenv("PANTAU_TEST_INFLUX_URL"), "/")
	c.start = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -c.days)
	if start != "" {
		t, err := time.Parse(time.DateOnly, start)
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchreport: --start: %q is not a date (YYYY-MM-DD)\n", start)
			return 2
		}
		c.start = t
	}
	switch {
	case c.influx == "":
		fmt.Fprintln(os.Stderr, "benchreport: PANTAU_TEST_INFLUX_URL is not set: run it through scripts/with-influxdb (make bench-report)")
		return 2
	case c.days < 10 || c.perNet < 2 || c.batch < 1 || c.writers < 1 || c.gens < 1 || c.requests < 1 || c.runs < 1:
		fmt.Fprintln(os.Stderr, "benchreport: want --days ≥ 10, --probes-per-network ≥ 2 and --batch, --writers, --generators, --timelines, --compliance-runs ≥ 1")
		return 2
	case c.beat <= 0 || c.cadence < c.beat || c.cadence%c.beat != 0 || c.cadence > time.Hour:
		fmt.Fprintln(os.Stderr, "benchreport: want --beat > 0 dividing --cadence, and --cadence ≤ 1h")
		return 2
	case c.reuse && c.db == "":
		fmt.Fprintln(os.Stderr, "benchreport: --reuse needs --db")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	missed, err := bench(ctx, c, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport: FAILED:", err)
		return 1
	}
	for _, m := range missed {
		fmt.Fprintln(os.Stderr, "benchreport: goal missed:", m)
	}
	if len(missed) > 0 && c.check {
		return 1
	}
	return 0
}

// bench writes the data set (or finds it), serves the report API on it (or uses
// --collector) and measures the reports; it returns the goals missed.
func bench(ctx context.Context, c config, log *slog.Logger) ([]string, error) {
	domains, err := readList(c.list)
	if err != nil {
		return nil, err
	}
	w := newWorld(c.start, c.days, c.perNet, domains)
	w.cadence, w.beat = c.cadence, c.beat
	if c.db == "" {
		c.db = fmt.Sprintf("benchreport_%d", time.Now().Unix())
	}
	fmt.Printf("benchreport: %d probes on %d networks, %d domains, %d days from %s, a measurement every %v, a heartbeat every %v; database %s\n",
		len(w.probes), len(w.networks), len(domains), c.days, c.start.Format(time.DateOnly), w.cadence, w.beat, c.db)
	if !c.reuse {
		if _, err := influxQL(ctx, c.influx, "", "CREATE DATABASE "+influxql.Ident(c.db)); err != nil {
			return nil, err
		}
	}
	if !c.keep && !c.reuse {
		defer func() { _, _ = influxQL(context.Background(), c.influx, "", "DROP DATABASE "+influxql.Ident(c.db)) }()
	}
	if err := writeSet(ctx, c, w); err != nil {
		return nil, err
	}
	base := c.collector
	var st *timedStore
	if base == "" {
		cache := report.CacheConfig{}
		if c.noCache {
			cache.MaxItems = -1
		}
		url, s, stop, err := serveCollector(ctx, c.influx, c.db+"/autogen", w, cache, log)
		if err != nil {
			return nil, err
		}
		defer stop()
		base, st = url, s
	}
	return measureReports(ctx, c, w, base, st)
}

// writeSet writes the data set (unless --reuse) and checks that InfluxDB holds it.
func writeSet(ctx context.Context, c config, w *world) error {
	if !c.reuse {
		n, took, err := load(ctx, c.influx, c.db+"/autogen", w, c.batch, c.gens, c.writers)
		if err != nil {
			return err
		}
		fmt.Printf("write: %d points (%d reach, %d probe_status, %d probe_schedule) in %.1fs: %.0f points/s (%d-point requests, %d writers, %d generators)\n",
			n.total(), n.reach.Load(), n.beats.Load(), n.schedule.Load(), took.Seconds(), float64(n.total())/took.Seconds(), c.batch, c.writers, c.gens)
	}
	fmt.Println(loadAvg())
	return verifyCounts(ctx, c.influx, c.db, w)
}

// measureReports requests timelines and compliance reports from the collector at base
// (st times its store's reads; nil for --collector), prints what they took and returns
// the goals missed.
func measureReports(ctx context.Context, c config, w *world, base string, st *timedStore) ([]string, error) {
	stopProfile, err := profile(c.cpuProfile)
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	client := &http.Client{Timeout: 5 * time.Minute}
	reads := func(what string) {
		if st != nil {
			obs, beats := st.take()
			fmt.Printf("  %s: store reads: observations %v; heartbeats %v\n", what, obs, beats)
		}
	}
	// Cold: the first request of each domain, which fills the report's cache (or, with
	// --no-cache, what every request costs).
	cold, err := timelines(ctx, client, base, w, w.randomPairs(0, true, 0))
	if err != nil {
		return nil, err
	}
	fmt.Printf("timeline, cold: the first request of each of the %d domains: %v\n", len(cold), msList(cold))
	reads("cold timelines")
	lat, err := timelines(ctx, client, base, w, w.randomPairs(c.requests, false, 1))
	if err != nil {
		return nil, err
	}
	p50, p95 := pct(lat, 0.5), pct(lat, 0.95)
	fmt.Printf("timeline: %d requests (random domain × network, %d days each): p50 %v, p95 %v, max %v (goal p95 ≤ %v)\n",
		len(lat), c.days, ms(p50), ms(p95), ms(pct(lat, 1)), c.maxP95)
	reads(fmt.Sprintf("%d timelines", c.requests))
	clat, rep, err := compliance(ctx, client, base, w, orderID, c.runs)
	if err != nil {
		return nil, err
	}
	reads(fmt.Sprintf("%d compliance reports", c.runs))
	stopProfile()
	fmt.Println(loadAvg())

	fmt.Printf("compliance of %s (%d domains × %d networks, %d days): %v (goal ≤ %v each)\n",
		orderID, len(w.domains), len(w.networks)+1, c.days, msList(clat), c.maxCompliance)
	printReport(rep)
	var missed []string
	if p95 > c.maxP95 {
		missed = append(missed, fmt.Sprintf("timeline p95 is %v, above %v", ms(p95), c.maxP95))
	}
	if m := slices.Max(clat); m > c.maxCompliance {
		missed = append(missed, fmt.Sprintf("compliance report took up to %v, above %v", ms(m), c.maxCompliance))
	}
	if len(missed) == 0 {
		fmt.Println("goals met; every answer matched the generated story")
	}
	return missed, nil
}

// verifyCounts checks InfluxDB holds exactly the data set's points.
func verifyCounts(ctx context.Context, base, db string, w *world) error {
	want := w.size()
	for _, m := range []struct {
		name, field string
		want        int64
	}{{"reach", "id", want.reach}, {"probe_status", "sent_at_ms", want.beats}, {"probe_schedule", "next_ms", want.beats}} {
		n, err := count(ctx, base, db, m.name, m.field)
		if err != nil {
			return err
		}
		if n != m.want {
			return fmt.Errorf("InfluxDB holds %d %s points, the data set has %d", n, m.name, m.want)
		}
	}
	fmt.Printf("InfluxDB holds the data set: %d reach points, %d heartbeats\n", want.reach, want.beats)
	return nil
}

// readList returns the host names of a target list (plain lines; comments and tcp://
// targets skipped).
func readList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--list: %w (run from the repository's root)", err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.Contains(line, "://") {
			continue
		}
		out = append(out, line)
	}
	if len(out) == 0 && s.Err() == nil {
		return nil, fmt.Errorf("--list: %s holds no host names", path)
	}
	return out, s.Err()
}

// loadAvg describes the machine's load: numbers taken on a busy machine are disturbed.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 3 {
		return "(load average unknown)"
	}
	return fmt.Sprintf("(load average %s %s %s on %d CPUs: other work on the machine disturbs the numbers)", f[0], f[1], f[2], runtime.NumCPU())
}

func pct(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func msList(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, ms(d).String())
	}
	return strings.Join(parts, ", ")
}
