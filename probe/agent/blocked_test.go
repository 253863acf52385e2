package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/probe/agent"
	"github.com/pantau-dev/pantau/probe/spool"
	"github.com/pantau-dev/pantau/probe/uplink"
)

// logBuffer collects a logger's output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// collectorClock is the collector's clock; a test moves it forward to expire a token.
type collectorClock struct{ ahead atomic.Int64 }

func (c *collectorClock) now() time.Time { return time.Now().Add(time.Duration(c.ahead.Load())) }

// expireAfter makes the collector's clock jump 2 hours ahead once it has answered n
// submissions, so that a token valid for an hour expires in the middle of a backlog.
func expireAfter(c *collectorFixture, clk *collectorClock, n int32) *atomic.Int32 {
	var posts atomic.Int32
	inner := c.srv.Config.Handler
	c.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r)
		if r.URL.Path == "/api/v1/measurements" && posts.Add(1) == n {
			clk.ahead.Store(int64(2 * time.Hour))
		}
	})
	return &posts
}

// backlog runs a 50-target lab schedule runs times into the spool in dir, with no
// collector, and returns how many measurements were spooled.
func backlog(t *testing.T, dir string, runs int) int {
	t.Helper()
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(dir, "spool")})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	sched := filepath.Join(t.TempDir(), "schedules")
	writeSchedule(t, sched, "lab", labSite(t, nil), 50)
	a, err := agent.New(agent.Options{
		Engine: engine.Config{LabCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Software: measurement.Software{Name: "pantau-probe", Version: "test"},
			Timeouts: engine.Timeouts{TCP: 2 * time.Second, HTTP: 10 * time.Second}},
		Spool: sp, SchedulesDir: sched, StateDir: filepath.Join(t.TempDir(), "state"),
	})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for range runs {
		n, err := a.RunSchedule(context.Background(), a.Schedules().Get("lab"))
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

func client(t *testing.T, url, token string) *uplink.Client {
	t.Helper()
	up, err := uplink.New(uplink.Options{Collector: url, Token: token, Retries: 1, MinWait: 10 * time.Millisecond, MaxWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return up
}

// TestExpiredTokenKeepsBacklog: a token that expires in the middle of a backlog blocks
// the uplink: nothing is moved to rejected/, the cause is logged once, kept in the state
// (`probe status`) and in the heartbeat, tries back off; a new token (Reload) resumes the
// drain, and every measurement reaches InfluxDB exactly once.
func TestExpiredTokenKeepsBacklog(t *testing.T) {
	url, _ := influxtest.Server(t)
	var clk collectorClock
	c := startCollectorAt(t, url, influxtest.NewBucket(t), "", func(o *api.Options) { o.Now = clk.now })
	posts := expireAfter(c, &clk, 3)
	exp := time.Now().Add(time.Hour).Truncate(time.Second).UTC()
	dir := t.TempDir()
	const want = 100
	if n := backlog(t, dir, 2); n != want {
		t.Fatalf("%d measurements spooled, want %d", n, want)
	}
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(dir, "spool")})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	var log logBuffer
	fresh := c.issue(t, time.Time{})
	state := filepath.Join(dir, "state")
	a, err := agent.New(agent.Options{
		Spool: sp, Uplink: client(t, c.url, c.issue(t, exp)), StateDir: state, DrainRate: 100, BatchSize: 10,
		RetryMin: 300 * time.Millisecond, RetryMax: time.Hour, Log: log.logger(),
		Reconnect: func() (*uplink.Client, error) { return client(t, c.url, fresh), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a.Drain(ctx)
	cause := "401 Unauthorized: token expired at " + exp.Format(time.RFC3339)
	st := sp.Stats()
	if st.Depth != want-30 || st.Rejected != 0 || posts.Load() != 4 {
		t.Fatalf("after the token expired: %d requests, stats %+v; want 3 batches stored and %d kept, none rejected", posts.Load(), st, want-30)
	}
	if rej, _ := os.ReadDir(filepath.Join(dir, "spool", "rejected")); len(rej) != 0 {
		t.Errorf("%d files in rejected/", len(rej))
	}
	if hb := a.Heartbeat(""); !strings.HasPrefix(hb.UplinkError, "blocked since ") || !strings.HasSuffix(hb.UplinkError, ": "+cause) {
		t.Errorf("heartbeat uplink_error = %q, want blocked since …: %s", hb.UplinkError, cause)
	}
	saved, err := agent.ReadState(state)
	if err != nil || saved.Blocked == nil || saved.Blocked.Cause != cause || saved.Blocked.Attempts != 1 {
		t.Fatalf("state = %+v (%v), want blocked by %q", saved.Blocked, err, cause)
	}

	// Tries back off; the cause is logged once, not at every try.
	a.Drain(ctx)
	if n := posts.Load(); n != 4 {
		t.Errorf("a drain during the back-off sent %d requests", n-4)
	}
	time.Sleep(350 * time.Millisecond)
	a.Drain(ctx)
	if saved, _ = agent.ReadState(state); posts.Load() != 5 || saved.Blocked == nil || saved.Blocked.Attempts != 2 {
		t.Errorf("after the back-off: %d requests, state %+v; want one more refused try", posts.Load(), saved.Blocked)
	}
	msg := `level=ERROR msg="collector refuses the probe's submissions; the backlog stays spooled and is retried" cause="` + cause + `"`
	if n := strings.Count(log.String(), msg); n != 1 {
		t.Errorf("%d errors logged for the refusal, want 1:\n%s", n, log.String())
	}

	// A new token: everything arrives, exactly once.
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	a.Drain(ctx)
	if st := sp.Stats(); st.Depth != 0 || st.Rejected != 0 || st.Dropped != 0 {
		t.Errorf("after the new token: stats %+v, want the backlog drained", st)
	}
	stored := c.storedIDs(t)
	for id, n := range stored {
		if n != 1 {
			t.Errorf("measurement %s stored %d times", id, n)
		}
	}
	if len(stored) != want {
		t.Errorf("%d measurements stored, want %d", len(stored), want)
	}
	if saved, _ = agent.ReadState(state); saved.Blocked != nil || a.Heartbeat("").UplinkError != "" {
		t.Errorf("still blocked after the drain: %+v", saved.Blocked)
	}
	if !strings.Contains(log.String(), `level=INFO msg="collector accepts the probe's submissions again"`) {
		t.Errorf("the end of the refusal is not logged:\n%s", log.String())
	}
}

// TestSmallBodyLimitSplits: a collector whose body limit holds two measurements, and
// four items a request at most, gets every batch split; all arrive, exactly once, and one
// measurement too large on its own is rejected with the collector's reason.
func TestSmallBodyLimitSplits(t *testing.T) {
	dir := t.TempDir()
	n := backlog(t, dir, 1)
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(dir, "spool")})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	ms, err := sp.Batch(n, 0)
	if err != nil {
		t.Fatal(err)
	}
	largest := 0
	for _, m := range ms {
		b, _ := json.Marshal(m)
		largest = max(largest, len(b))
	}
	limit := int64(2*largest + 64)
	huge := *ms[0]
	huge.ID = measurement.NewID()
	huge.Verdict.Reason = strings.Repeat("r", int(limit))
	if err := sp.Put(&huge); err != nil {
		t.Fatal(err)
	}
	url, _ := influxtest.Server(t)
	c := startCollectorAt(t, url, influxtest.NewBucket(t), "", func(o *api.Options) { o.BodyBytes, o.BatchItems = limit, 4 })
	a, err := agent.New(agent.Options{Spool: sp, Uplink: client(t, c.url, c.token), StateDir: filepath.Join(dir, "state"), DrainRate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	a.Drain(context.Background())
	if st := sp.Stats(); st.Depth != 0 || st.Rejected != 1 {
		t.Errorf("stats %+v, want everything sent and the one huge measurement rejected", st)
	}
	reason, _ := filepath.Glob(filepath.Join(dir, "spool", "rejected", "*-"+huge.ID+".entry.reason"))
	if len(reason) != 1 {
		t.Fatalf("no reason file for the huge measurement: %v", reason)
	}
	want := fmt.Sprintf("too large for the collector: 413 Request Entity Too Large: body: larger than %d bytes\n", limit)
	if b, _ := os.ReadFile(reason[0]); string(b) != want {
		t.Errorf("reason = %q, want %q", b, want)
	}
	stored := c.storedIDs(t)
	for _, m := range ms {
		if stored[m.ID] != 1 {
			t.Errorf("measurement %s stored %d times, want once", m.ID, stored[m.ID])
		}
	}
	if len(stored) != n {
		t.Errorf("%d measurements stored, want %d", len(stored), n)
	}
}

// buildProbe builds the probe binary into dir.
func buildProbe(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "probe")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/pantau-dev/pantau/probe").CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	return bin
}

// waitFor polls ok until it holds, or fails the test after d.
func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

// TestProbeRunBlockedByExpiredToken runs `probe run` on a backlog whose token expires
// after the first batch: `probe status` shows the refusal and the undelivered heartbeat,
// nothing is rejected; a new token in token_file and a SIGHUP resume the drain, and every
// measurement is stored exactly once.
func TestProbeRunBlockedByExpiredToken(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real probe binary")
	}
	url, _ := influxtest.Server(t)
	var clk collectorClock
	c := startCollectorAt(t, url, influxtest.NewBucket(t), "", func(o *api.Options) { o.Now = clk.now })
	expireAfter(c, &clk, 1)
	dir := t.TempDir()
	bin := buildProbe(t, dir)
	state := filepath.Join(dir, "state")
	const want = 250 // three batches of at most 100
	if n := backlog(t, state, 5); n != want {
		t.Fatalf("%d measurements spooled, want %d", n, want)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second).UTC()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(c.issue(t, exp)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sched := filepath.Join(dir, "schedules")
	writeSchedule(t, sched, "idle", "9", 1) // runs hourly: not during the test
	cfg := filepath.Join(dir, "probe.yaml")
	err := os.WriteFile(cfg, fmt.Appendf(nil, "system_resolvers: [\"127.0.0.1:9\"]\nlab_cidrs: [127.0.0.0/8]\nwhoami: \"-\"\n"+
		"agent:\n  collector: %s\n  token_file: %s\n  state_dir: %s\n  schedules_dir: %s\n  heartbeat: 1s\n  sync: 1h\n  drain_rate: 50\n",
		c.url, tokenFile, state, sched), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "run", "--config", cfg, "--log-level", "info")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	}
	defer stop()
	cause := "401 Unauthorized: token expired at " + exp.Format(time.RFC3339)
	waitFor(t, 30*time.Second, "the refusal and a refused heartbeat in the state", func() bool {
		st, _ := agent.ReadState(state)
		return st.Blocked != nil && st.HeartbeatError != ""
	})
	out, err := exec.Command(bin, "status", "--config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("probe status: %v\n%s", err, out)
	}
	t.Logf("probe status while blocked:\n%s", out)
	for _, w := range []string{
		`depth 150 \(\d+ bytes\); dropped 0, rejected 0,`,
		`\nuplink +blocked since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: ` + regexp.QuoteMeta(cause) + `; 1 refused tries, next try \S+; the backlog stays spooled`,
		`\nheartbeat +not delivered: POST ` + regexp.QuoteMeta(c.url+"/api/v1/heartbeats: "+cause) + "\n",
	} {
		if !regexp.MustCompile(w).Match(out) {
			t.Errorf("probe status does not match %s:\n%s", w, out)
		}
	}

	// The operator installs a new token and sends SIGHUP.
	if err := os.WriteFile(tokenFile, []byte(c.issue(t, time.Time{})+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the backlog to drain", func() bool {
		st, err := spool.ReadStats(filepath.Join(state, "spool"))
		return err == nil && st.Depth == 0
	})
	waitFor(t, 10*time.Second, "the state to be unblocked", func() bool {
		st, _ := agent.ReadState(state)
		return st.Blocked == nil && st.HeartbeatError == ""
	})
	stop()
	stored := c.storedIDs(t)
	for id, n := range stored {
		if n != 1 {
			t.Errorf("measurement %s stored %d times", id, n)
		}
	}
	if len(stored) != want {
		t.Errorf("%d measurements stored, want %d", len(stored), want)
	}
	if st, _ := spool.ReadStats(filepath.Join(state, "spool")); st.Rejected != 0 || st.Dropped != 0 {
		t.Errorf("spool %+v: nothing may be rejected or dropped", st)
	}
	out, _ = exec.Command(bin, "status", "--config", cfg).CombinedOutput()
	if strings.Contains(string(out), "uplink") || strings.Contains(string(out), "heartbeat ") {
		t.Errorf("probe status still shows a refusal:\n%s", out)
	}
	logs := stderr.String()
	if n := strings.Count(logs, `msg="collector refuses the probe's submissions; the backlog stays spooled and is retried"`); n != 1 {
		t.Errorf("%d refusals logged, want 1:\n%s", n, logs)
	}
	for _, w := range []string{`msg="uplink reconfigured"`, `msg="collector accepts the probe's submissions again"`} {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %s:\n%s", w, logs)
		}
	}
}
