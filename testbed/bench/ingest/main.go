// Command benchingest measures the collector's ingest against the InfluxDB it writes to.
// Run it through scripts/with-influxdb (`make bench-ingest` does). In one process it
// serves the real collector API (api.New with a real store.Store, token verifier and rate
// limiter) on 127.0.0.1:0 and runs N simulated probes posting gzip'd JSON batches:
//
//  1. raw: the line protocol of the same points the probes will post, straight to
//     InfluxDB's write API by 4 writers in 5,000-point batches into a fresh database
//     (after a raw phase that only warms InfluxDB up);
//  2. full load: every probe posts its next batch as soon as the previous one was
//     acknowledged; measurements/s, points/s, p50/p99 acknowledgement latency;
//  3. raw again: the acknowledged points, into another fresh database. Steps 2 and 3
//     repeat --rounds times (default 5), so each full-load phase sits between two raw
//     phases; a round's ratio is its ingest ÷ the mean of the raw rates on either side,
//     and the run's ratio is the mean of the rounds' (goal ≥ 0.7). The raw ceiling of
//     this machine moves by up to a third within minutes; interleaving several short
//     phases keeps that drift from deciding the ratio. Each raw and full-load phase
//     lasts at most --duration (6 s): InfluxDB 1.8 snapshots its cache at most once a
//     second and starts a level-1 compaction at the eighth snapshot file, so a phase
//     under 8 s never contains one, whoever writes. A longer phase would hold it in the
//     slower ingest phase only, not in the raw phase of the same points, and so charge
//     it to one side (docs/scaling.md);
//  4. half load: the probes pace themselves at half the full-load rate; p99
//     acknowledgement latency (goal ≤ 200 ms).
//
// Both sides send prepared bodies (gzip'd JSON, line protocol) from this process: the
// load generators' CPU is only their HTTP requests, on each side.
// After each ingest phase it checks that every measurement was acknowledged and that
// InfluxDB holds exactly the points acknowledged. Every database, raw or ingest, is
// dropped once counted, so each phase finds InfluxDB as the first did. See docs/scaling.md.
package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
)

func main() { os.Exit(run()) }

type config struct {
	influx       string
	probes       int
	batch        int
	max          int
	duration     time.Duration
	halfDuration time.Duration
	halfRate     float64
	rawBatch     int
	writers      int
	minRatio     float64
	maxP99       time.Duration
	settle       time.Duration
	rounds       int
	check        bool
	cpuProfile   string
	writes       int           // store.Config.Writes
	linger       time.Duration // store.Config.Linger
}

func run() int {
	var c config
	flag.IntVar(&c.probes, "probes", 20, "concurrent simulated probes")
	flag.IntVar(&c.batch, "batch", 100, "measurements per request")
	flag.IntVar(&c.max, "measurements", 50000, "at most this many measurements at full load")
	flag.DurationVar(&c.duration, "duration", 6*time.Second, "at most this long at full load, and each raw phase (under 8s: see docs/scaling.md)")
	flag.DurationVar(&c.halfDuration, "half-duration", 20*time.Second, "how long at half load")
	flag.Float64Var(&c.halfRate, "half-rate", 0, "offered load of the half-load phase in measurements/s (0: half the full-load rate)")
	flag.IntVar(&c.rawBatch, "raw-batch", 5000, "points per raw write request")
	flag.IntVar(&c.writers, "raw-writers", 4, "concurrent raw writers")
	flag.Float64Var(&c.minRatio, "min-ratio", 0.7, "goal: ingest points/s ÷ raw points/s at least this")
	flag.DurationVar(&c.maxP99, "max-p99", 200*time.Millisecond, "goal: p99 acknowledgement latency at half load at most this")
	flag.DurationVar(&c.settle, "settle", 60*time.Second, "before each phase, wait at most this long for InfluxDB to finish compacting the last one (0: don't)")
	flag.IntVar(&c.rounds, "rounds", 5, "full-load phases, each between two raw phases")
	flag.BoolVar(&c.check, "check", false, "exit 1 when a goal is missed")
	flag.IntVar(&c.writes, "writes", 0, "the collector's concurrent write requests to InfluxDB (store.Config.Writes; 0: its default)")
	flag.DurationVar(&c.linger, "linger", 0, "the collector's group-commit linger (store.Config.Linger; 0: its default, negative: none)")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the full-load phase to this file (labels: role=collector, role=probes)")
	flag.Parse()
	c.influx = os.Getenv("PANTAU_TEST_INFLUX_URL")
	switch {
	case c.influx == "":
		fmt.Fprintln(os.Stderr, "benchingest: PANTAU_TEST_INFLUX_URL is not set: run it through scripts/with-influxdb (make bench-ingest)")
		return 2
	case c.probes < 1 || c.batch < 1 || c.max < c.probes*c.batch || c.rawBatch < 1 || c.writers < 1 || c.rounds < 1:
		fmt.Fprintln(os.Stderr, "benchingest: want --probes, --batch, --raw-batch, --raw-writers, --rounds ≥ 1 and --measurements ≥ probes × batch")
		return 2
	}
	missed, err := bench(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchingest: FAILED:", err)
		return 1
	}
	if len(missed) > 0 {
		for _, m := range missed {
			fmt.Fprintln(os.Stderr, "benchingest: goal missed:", m)
		}
		if c.check {
			return 1
		}
	}
	return 0
}

// bench runs the four phases and prints the summary. Integrity failures (a measurement
// not acknowledged, a point count that does not match) are errors; missed goals are
// returned as messages.
func bench(c config) ([]string, error) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	v, err := auth.NewVerifier(secret, nil)
	if err != nil {
		return nil, err
	}
	probes, err := fleet(secret, c.probes)
	if err != nil {
		return nil, err
	}
	run := fmt.Sprintf("bench%d", time.Now().Unix())
	defer func() {
		_ = dropDB(c.influx, run+"_half")
		_ = dropDB(c.influx, run+"_warm")
		for i := range c.rounds + 1 {
			_ = dropDB(c.influx, fmt.Sprintf("%s_raw%d", run, i))
			_ = dropDB(c.influx, fmt.Sprintf("%s_full%d", run, i))
		}
	}()
	fmt.Printf("benchingest: %d probes, %d measurements per batch, GOMAXPROCS %d (collector, probes and InfluxDB share the machine's %d CPUs)\n",
		c.probes, c.batch, runtime.GOMAXPROCS(0), runtime.NumCPU())
	r, err := phases(c, v, probes, run)
	if err != nil {
		return nil, err
	}
	return summarize(c, r), nil
}

// results are what the phases measured.
type results struct {
	raws     []raw  // rounds+1 raw phases: before the first full load and after each
	fulls    []load // one full-load phase a round
	half     load
	halfRate float64 // offered at half load, measurements/s
}

// roundRatio is round i's ingest ÷ the mean of the raw rates before and after it, so a
// drift of the machine during the round does not bias it one way.
func (r results) roundRatio(i int) float64 {
	return r.fulls[i].pointRate() / ((r.raws[i].pointRate() + r.raws[i+1].pointRate()) / 2)
}

// ratio is the mean of the rounds' ratios.
func (r results) ratio() float64 {
	sum := 0.0
	for i := range r.fulls {
		sum += r.roundRatio(i)
	}
	return sum / float64(len(r.fulls))
}

// phases runs a raw phase, then rounds of full load and raw, then half load, each into a
// fresh database (run_raw0, run_full1, run_raw1, …, run_half).
func phases(c config, v *auth.Verifier, probes []*probe, run string) (results, error) {
	var r results
	ip := findInfluxd(c.influx)
	base := time.Now().UTC().Truncate(time.Hour).Add(-48 * time.Hour)
	perProbe := c.max / (c.probes * c.batch)
	next, err := fill(probes, perProbe, c.batch, base, 0)
	if err != nil {
		return r, err
	}
	// The ceiling is measured as carefully as the ingest: the same points, each time
	// into a fresh database after InfluxDB settled. The first phase after InfluxDB
	// starts is 10–20 % slower than the next (docs/scaling.md), so a raw phase before
	// it only warms up.
	bodies := lineProtocol(probes, c.rawBatch, false)
	if _, err := rawPhase(c, ip, run+"_warm", bodies); err != nil {
		return r, fmt.Errorf("warm-up: %w", err)
	}
	rw, err := rawPhase(c, ip, run+"_raw0", bodies)
	if err != nil {
		return r, fmt.Errorf("raw before: %w", err)
	}
	rawReport("raw line protocol, before", c, rw)
	r.raws = append(r.raws, rw)
	for i := 1; i <= c.rounds; i++ {
		full, rw, err := round(c, v, probes, run, i, ip)
		if err != nil {
			return r, err
		}
		r.fulls, r.raws = append(r.fulls, full), append(r.raws, rw)
	}
	r.halfRate = meanRate(r.fulls) / 2
	if c.halfRate > 0 {
		r.halfRate = c.halfRate
	}
	n := int(r.halfRate*c.halfDuration.Seconds())/(c.probes*c.batch) + 2
	if _, err := fill(probes, n, c.batch, base, next); err != nil {
		return r, err
	}
	quiet(ip, c.settle)
	if r.half, err = ingest(c, v, run+"_half", probes, r.halfRate, c.halfDuration, ip); err != nil {
		return r, fmt.Errorf("half load: %w", err)
	}
	report(fmt.Sprintf("half load (%.0f measurements/s offered)", r.halfRate), r.half)
	if r.half.rate() < 0.95*r.halfRate {
		fmt.Printf("(half load: only %.0f of the %.0f measurements/s offered were acknowledged: the probes fell behind)\n", r.half.rate(), r.halfRate)
	}
	return r, nil
}

// round runs full-load round i (the same batches each round, into a fresh database) and
// the raw phase after it, of the points acknowledged in it.
func round(c config, v *auth.Verifier, probes []*probe, run string, i int, ip influxProc) (load, raw, error) {
	for _, p := range probes {
		for _, b := range p.batches {
			b.acked = false
		}
	}
	quiet(ip, c.settle)
	stop, err := profile(c.cpuProfile, i)
	if err != nil {
		return load{}, raw{}, err
	}
	full, err := ingest(c, v, fmt.Sprintf("%s_full%d", run, i), probes, 0, c.duration, ip)
	stop()
	if err != nil {
		return full, raw{}, fmt.Errorf("full load, round %d: %w", i, err)
	}
	report(fmt.Sprintf("full load, round %d", i), full)
	rw, err := rawPhase(c, ip, fmt.Sprintf("%s_raw%d", run, i), lineProtocol(probes, c.rawBatch, true))
	if err != nil {
		return full, rw, fmt.Errorf("raw after round %d: %w", i, err)
	}
	rawReport(fmt.Sprintf("raw line protocol, after round %d", i), c, rw)
	return full, rw, nil
}

func meanRate(ls []load) float64 {
	sum := 0.0
	for _, l := range ls {
		sum += l.rate()
	}
	return sum / float64(len(ls))
}

// summarize prints the summary and returns the goals missed.
func summarize(c config, r results) []string {
	half := r.half
	fmt.Println()
	fmt.Println("summary")
	others, acked, points := max(half.cpu.others(), r.raws[0].cpu.others()), half.acked, half.points
	for i, full := range r.fulls {
		fmt.Printf("  round %d: ingest %8.0f measurements/s  %8.0f points/s  p50 %v  p99 %v;  raw %.0f before, %.0f after;  ratio %.2f\n",
			i+1, full.rate(), full.pointRate(), ms(full.pct(0.5)), ms(full.pct(0.99)),
			r.raws[i].pointRate(), r.raws[i+1].pointRate(), r.roundRatio(i))
		others = max(others, full.cpu.others(), r.raws[i+1].cpu.others())
		acked, points = acked+full.acked, points+full.points
	}
	fmt.Printf("  ratio ingest ÷ raw    %8.2f   (mean of %d rounds; goal ≥ %.2f)\n", r.ratio(), len(r.fulls), c.minRatio)
	fmt.Printf("  p99 at half load      %8v   (goal ≤ %v; %.0f measurements/s offered; p50 %v, max %v)\n",
		ms(half.pct(0.99)), c.maxP99, r.halfRate, ms(half.pct(0.5)), ms(half.pct(1)))
	fmt.Printf("  integrity             all %d measurements acknowledged; InfluxDB holds exactly the %d points acknowledged\n", acked, points)
	var missed []string
	if r.ratio() < c.minRatio {
		missed = append(missed, fmt.Sprintf("ingest ÷ raw = %.2f, below %.2f", r.ratio(), c.minRatio))
	}
	if p := half.pct(0.99); p > c.maxP99 {
		missed = append(missed, fmt.Sprintf("p99 acknowledgement latency at half load is %v, above %v", ms(p), c.maxP99))
	}
	if others > 0.2 {
		fmt.Printf("  WARNING               other processes or the hypervisor took up to %.2f cores during a phase: numbers are disturbed, run again on a quiet machine\n", others)
	}
	if len(missed) == 0 {
		fmt.Println("  goals met")
	}
	return missed
}

// ingest runs one ingest phase into a fresh database and checks it lost nothing.
func ingest(c config, v *auth.Verifier, db string, probes []*probe, rate float64, d time.Duration, ip influxProc) (load, error) {
	if err := createDB(c.influx, db); err != nil {
		return load{}, err
	}
	col, err := startCollector(c, db+"/autogen", v)
	if err != nil {
		return load{}, err
	}
	res := drive(col.url, probes, c.batch, rate, d, ip)
	res.writes, res.writePoints = col.store.WriteStats()
	res.lookUps = col.store.LookUps()
	col.close()
	if res.failures > 0 {
		return res, fmt.Errorf("%d of %d requests not acknowledged (%d of %d measurements); first: %w",
			res.failures, res.requests, res.sent-res.acked, res.sent, res.firstErr)
	}
	n, err := countPoints(c.influx, db)
	if err != nil {
		return res, err
	}
	if n != res.points {
		return res, fmt.Errorf("InfluxDB holds %d points, %d were acknowledged", n, res.points)
	}
	// Dropped once counted, as the raw phases' are: every phase, raw or ingest, finds
	// InfluxDB as the first one did, not holding the rounds before it (a fuller InfluxDB
	// wrote each later round more slowly, raw and ingest alike).
	return res, dropDB(c.influx, db)
}

// rawPhase writes the line protocol bodies (for at most --duration, as an ingest phase)
// into a fresh database db after InfluxDB settled, checks that it holds every point
// written and drops it.
func rawPhase(c config, ip influxProc, db string, bodies [][]byte) (raw, error) {
	if err := createDB(c.influx, db); err != nil {
		return raw{}, err
	}
	quiet(ip, c.settle)
	rw, err := writeRaw(c.influx, db+"/autogen", bodies, c.writers, c.duration, ip)
	if err != nil {
		return rw, err
	}
	if n, err := countPoints(c.influx, db); err != nil || n != rw.points {
		return rw, fmt.Errorf("InfluxDB holds %d points, %d were written (%v)", n, rw.points, err)
	}
	// Dropped once counted: the phases after it find InfluxDB holding what they did
	// before there were two raw phases.
	return rw, dropDB(c.influx, db)
}

func rawReport(name string, c config, rw raw) {
	fmt.Printf("%s: %d points (%d-point requests, %d writers) in %.2fs: %.0f points/s; %s\n",
		name, rw.points, c.rawBatch, c.writers, rw.elapsed.Seconds(), rw.pointRate(), rw.cpu)
}

// quiet waits for InfluxDB to settle before a phase.
func quiet(ip influxProc, max time.Duration) {
	if max > 0 {
		if d := ip.settle(max); d > time.Second {
			fmt.Printf("(waited %v for InfluxDB to finish compacting)\n", d)
		}
	}
}

func report(name string, l load) {
	fmt.Printf("%s: %d measurements (%d points, %d requests; %d writes to InfluxDB, %.0f points each; %d look-ups) in %.2fs: %.0f measurements/s, %.0f points/s; ack latency p50 %v, p99 %v, max %v; %s\n",
		name, l.acked, l.points, l.requests, l.writes, float64(l.writePoints)/float64(max(l.writes, 1)), l.lookUps,
		l.elapsed.Seconds(), l.rate(), l.pointRate(), ms(l.pct(0.5)), ms(l.pct(0.99)), ms(l.pct(1)), l.cpu)
}

// fleet makes n probes on a few Indonesian networks, each with its own token.
func fleet(secret []byte, n int) ([]*probe, error) {
	nets := []struct {
		name string
		asn  uint32
	}{{"Telkomsel", 23693}, {"Indosat Ooredoo", 4761}, {"XL Axiata", 24203}, {"Telkom Indonesia", 7713}, {"Biznet", 17451}}
	probes := make([]*probe, n)
	for i := range probes {
		nw := nets[i%len(nets)]
		c := auth.Claims{Probe: fmt.Sprintf("bench-%03d", i), Network: nw.name, Country: "ID", ASN: nw.asn}
		tok, err := auth.Issue(secret, c)
		if err != nil {
			return nil, err
		}
		probes[i] = &probe{claims: c, token: tok}
	}
	return probes, nil
}

// profile starts a CPU profile of full-load round i into path (round 1) or path.N.
func profile(path string, i int) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	if i > 1 {
		path = fmt.Sprintf("%s.%d", path, i)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, errors.Join(err, os.Remove(path))
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func ms(d time.Duration) time.Duration {
	if d > 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}
