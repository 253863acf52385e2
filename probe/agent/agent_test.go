package agent_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/probe/agent"
	"github.com/pantau-dev/pantau/probe/spool"
	"github.com/pantau-dev/pantau/probe/uplink"
)

// labSite serves a page on loopback; hold, when set, delays every answer until closed.
func labSite(t *testing.T, hold chan struct{}) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if hold != nil {
			<-hold
		}
		fmt.Fprint(w, "<title>lab</title>")
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return port
}

func writeSchedule(t *testing.T, dir, name, port string, n int) {
	t.Helper()
	y := fmt.Sprintf("name: %s\ncron: \"@every 1h\"\ntargets:\n", name)
	for i := range n {
		y += fmt.Sprintf("  - http://127.0.0.1:%s/%d\n", port, i)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newAgent(t *testing.T, c *collectorFixture, schedDir string) (*agent.Agent, *spool.Spool) {
	t.Helper()
	return newAgentIn(t, t.TempDir(), c, schedDir)
}

// newAgentIn is newAgent with its spool and state in dir.
func newAgentIn(t *testing.T, dir string, c *collectorFixture, schedDir string) (*agent.Agent, *spool.Spool) {
	t.Helper()
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(dir, "spool")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	var up *uplink.Client
	if c != nil {
		if up, err = uplink.New(uplink.Options{Collector: c.url, Token: c.token, Retries: 1, MinWait: 10 * time.Millisecond, MaxWait: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	a, err := agent.New(agent.Options{
		Engine: engine.Config{LabCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Software: measurement.Software{Name: "pantau-probe", Version: "test"},
			Timeouts: engine.Timeouts{TCP: 2 * time.Second, HTTP: 10 * time.Second}},
		Spool: sp, Uplink: up, SchedulesDir: schedDir, StateDir: filepath.Join(dir, "state"), DrainRate: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, sp
}

// TestBacklogDrainsAfterOutage: with InfluxDB (and so the collector) unavailable,
// measurements stay spooled; once it is back, the whole backlog drains and is stored.
func TestBacklogDrainsAfterOutage(t *testing.T) {
	in := influxtest.Start(t)
	c := startCollectorAt(t, in.URL(), in.NewBucket(t), "")
	sched := filepath.Join(t.TempDir(), "schedules")
	writeSchedule(t, sched, "lab", labSite(t, nil), 30)
	a, sp := newAgent(t, c, sched)
	in.Stop()
	ctx := context.Background()
	for range 5 {
		if _, err := a.RunSchedule(ctx, a.Schedules().Get("lab")); err != nil {
			t.Fatal(err)
		}
	}
	a.Drain(ctx)
	if d := sp.Stats().Depth; d != 150 {
		t.Fatalf("spool depth %d during the outage, want all 150 kept", d)
	}
	in.Restart()
	a.Drain(ctx)
	if st := sp.Stats(); st.Depth != 0 || st.Dropped != 0 || st.Rejected != 0 {
		t.Fatalf("after the outage: %+v, want the backlog drained", st)
	}
	if n := len(c.storedIDs(t)); n != 150 {
		t.Errorf("%d measurements stored, want 150", n)
	}
}

// TestOverlappingRunsAreSkipped: a run of a schedule still going makes the next one skip.
func TestOverlappingRunsAreSkipped(t *testing.T) {
	hold, arrived := make(chan struct{}), make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		arrived <- struct{}{}
		<-hold
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	sched := filepath.Join(t.TempDir(), "schedules")
	writeSchedule(t, sched, "slow", port, 1)
	a, sp := newAgent(t, nil, sched)
	s := a.Schedules().Get("slow")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := a.RunSchedule(context.Background(), s); err != nil {
			t.Error(err)
		}
	}()
	<-arrived // the first run is measuring
	_, err := a.RunSchedule(context.Background(), s)
	close(hold)
	wg.Wait()
	if !errors.Is(err, agent.ErrStillRunning) {
		t.Fatalf("second run: %v, want ErrStillRunning", err)
	}
	if sp.Stats().Depth < 1 {
		t.Errorf("the first run's measurement was not spooled")
	}
}

// TestScheduleSync: a good set on the collector replaces the local one; a bad set is
// refused, reported, and the last good set keeps running.
func TestScheduleSync(t *testing.T) {
	port := labSite(t, nil)
	central := filepath.Join(t.TempDir(), "central")
	writeSchedule(t, central, "central", port, 2)
	c := startCollector(t, central)
	local := filepath.Join(t.TempDir(), "local")
	writeSchedule(t, local, "local", port, 1)
	a, _ := newAgent(t, c, local)
	ctx := context.Background()
	if err := a.SyncSchedules(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Schedules().Get("central") == nil || a.Schedules().Get("local") != nil {
		t.Fatalf("synced set not applied: %+v", a.Schedules().Schedules)
	}
	if a.Schedules().Get("central").Targets[0].Port == 0 {
		t.Error("synced targets not parsed")
	}
}

// TestScheduleSyncRefusesBadSet: a set that does not load at the probe (a collector of
// another version, a damaged answer) is refused and reported; the last good set runs on.
func TestScheduleSyncRefusesBadSet(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("ETag", `"x"`)
		fmt.Fprint(w, `{"hash":"x","files":{"broken.yaml":"name: broken\ncron: every day\ntargets: [t.me]\n","../escape.yaml":"x"}}`)
	}))
	defer bad.Close()
	local := filepath.Join(t.TempDir(), "local")
	writeSchedule(t, local, "local", labSite(t, nil), 1)
	a, _ := newAgent(t, &collectorFixture{url: bad.URL, token: "tok"}, local)
	good := a.Schedules().Hash
	err := a.SyncSchedules(context.Background())
	if err == nil || !strings.Contains(err.Error(), "broken.yaml:2: cron") {
		t.Fatalf("sync error = %v, want the schedule's own error", err)
	}
	if a.Schedules().Hash != good || a.Schedules().Get("local") == nil {
		t.Error("the last good set was not kept")
	}
	if hb := a.Heartbeat(""); !strings.Contains(hb.SyncError, "broken.yaml:2: cron") {
		t.Errorf("heartbeat sync_error = %q", hb.SyncError)
	}
}

// TestReloadOnHUP: a SIGHUP makes the running agent reload its schedules folder; a
// folder that no longer loads is refused and the running set kept.
func TestReloadOnHUP(t *testing.T) {
	port := labSite(t, nil)
	sched := filepath.Join(t.TempDir(), "schedules")
	writeSchedule(t, sched, "first", port, 1)
	a, _ := newAgent(t, nil, sched)
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, hup) }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	writeSchedule(t, sched, "second", port, 1)
	hup <- syscall.SIGHUP
	waitFor("the reloaded set", func() bool { return a.Schedules().Get("second") != nil })
	good := a.Schedules().Hash
	if err := os.WriteFile(filepath.Join(sched, "third.yaml"), []byte("name: third\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err == nil || !strings.Contains(err.Error(), "third.yaml") {
		t.Errorf("reload of a broken folder: %v", err)
	}
	if a.Schedules().Hash != good {
		t.Error("a broken folder replaced the running set")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestDrainIsPaced: a backlog goes out at most drain_rate batches a second. The check is
// a lower bound on when the last batch arrives (a slower machine only makes it later).
func TestDrainIsPaced(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/measurements" {
			fmt.Fprintf(w, `{"server_time":%q}`, time.Now().UTC().Format(time.RFC3339Nano))
			return
		}
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		var items []json.RawMessage
		zr, _ := gzip.NewReader(r.Body)
		_ = json.NewDecoder(zr).Decode(&items)
		var res []string
		for i := range items {
			res = append(res, fmt.Sprintf(`{"index":%d,"status":"accepted"}`, i))
		}
		fmt.Fprintf(w, `{"items":[%s]}`, strings.Join(res, ","))
	}))
	defer col.Close()
	dir := t.TempDir()
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(dir, "spool")})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	for range 50 {
		m := &measurement.Measurement{ID: measurement.NewID(), Target: "https://t.me/", StartedAt: time.Now().UTC()}
		if err := sp.Put(m); err != nil {
			t.Fatal(err)
		}
	}
	up, _ := uplink.New(uplink.Options{Collector: col.URL, Token: "tok"})
	a, err := agent.New(agent.Options{Spool: sp, Uplink: up, StateDir: filepath.Join(dir, "state"), DrainRate: 20, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now() // the pacing starts inside Drain, after this
	a.Drain(context.Background())
	if d := sp.Stats().Depth; d != 0 || len(arrivals) != 5 {
		t.Fatalf("depth %d after %d batches, want all 50 sent in 5", d, len(arrivals))
	}
	// 5 batches at 20 a second: the fifth waits for the 4th tick, 200 ms after pacing began.
	if gap := arrivals[4].Sub(start); gap < 4*50*time.Millisecond {
		t.Errorf("5 batches within %s: the drain is not paced at 20 batches/s", gap)
	}
}
