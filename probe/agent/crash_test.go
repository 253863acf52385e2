package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/ratelimit"
)

// collectorFixture runs a real collector (API, store, auth) against the real InfluxDB.
type collectorFixture struct {
	url    string
	token  string
	secret []byte // issues more tokens for the probe (issue)
	srv    *httptest.Server
}

func startCollector(t *testing.T, schedulesDir string) *collectorFixture {
	t.Helper()
	url, _ := influxtest.Server(t)
	return startCollectorAt(t, url, influxtest.NewBucket(t), schedulesDir)
}

// startCollectorAt runs the collector against a given InfluxDB and bucket; opts change
// its API options.
func startCollectorAt(t *testing.T, url, bucket, schedulesDir string, opts ...func(*api.Options)) *collectorFixture {
	t.Helper()
	st, err := store.New(store.Config{URL: url, Bucket: bucket}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	secret := []byte("0123456789abcdef0123456789abcdef-crash-test")
	v, err := auth.NewVerifier(secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Issue(secret, auth.Claims{Probe: "crash-01", Network: "lab", ASN: 64512, Country: "ID"})
	if err != nil {
		t.Fatal(err)
	}
	o := api.Options{Store: st, Verifier: v, Limiter: ratelimit.New(1000, 1000, 100),
		BodyBytes: 16 << 20, BatchItems: 1000, QueryLimit: 1000, MaxInFlight: 8, SchedulesDir: schedulesDir}
	for _, f := range opts {
		f(&o)
	}
	srv := httptest.NewServer(api.New(o, nil))
	t.Cleanup(srv.Close)
	return &collectorFixture{url: srv.URL, token: tok, secret: secret, srv: srv}
}

// issue returns a new token for the fixture's probe, expiring at exp (zero: never).
func (c *collectorFixture) issue(t *testing.T, exp time.Time) string {
	t.Helper()
	tok, err := auth.Issue(c.secret, auth.Claims{Probe: "crash-01", Network: "lab", ASN: 64512, Country: "ID", ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// storedIDs returns how often each measurement ID of the probe is stored.
func (c *collectorFixture) storedIDs(t *testing.T) map[string]int {
	t.Helper()
	counts := map[string]int{}
	cursor := ""
	for {
		u := c.url + "/api/v1/measurements?probe=crash-01&limit=1000&from=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		var page api.QueryResponse
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Measurements {
			counts[it.Measurement.ID]++
		}
		if page.Next == "" {
			return counts
		}
		cursor = page.Next
	}
}

var spooledRE = regexp.MustCompile(`msg="measurement spooled".* id=([0-9a-f]{32})`)

// TestCrashSafety kills `probe run` with SIGKILL at random points during runs and
// submissions, restarts it, and checks that every measurement it reported as spooled is
// eventually stored in InfluxDB exactly once.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash-safety test runs the real probe binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "probe")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/pantau-dev/pantau/probe").CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "<title>lab</title>")
	}))
	defer site.Close()
	_, port, _ := net.SplitHostPort(site.Listener.Addr().String())
	sched := filepath.Join(dir, "schedules")
	if err := os.MkdirAll(sched, 0o700); err != nil {
		t.Fatal(err)
	}
	yaml := "name: crash\ncron: \"@every 1s\"\ntargets:\n"
	for i := range 8 {
		yaml += fmt.Sprintf("  - http://127.0.0.1:%s/%d\n", port, i)
	}
	if err := os.WriteFile(filepath.Join(sched, "crash.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startCollector(t, "")
	cfg := filepath.Join(dir, "probe.yaml")
	err := os.WriteFile(cfg, []byte(fmt.Sprintf(`system_resolvers: ["127.0.0.1:9"]
lab_cidrs: [127.0.0.0/8]
whoami: "-"
dns_wait: 0s
agent:
  collector: %s
  token: %q
  state_dir: %s
  schedules_dir: %s
  heartbeat: 1s
  sync: 1h
  drain_rate: 50
  grace: 2s
`, c.url, c.token, filepath.Join(dir, "state"), sched)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	spooled := map[string]bool{}
	run := func(kill bool, d time.Duration) {
		logf := filepath.Join(dir, fmt.Sprintf("run-%d.log", len(spooled)+rand.IntN(1e6)))
		f, err := os.Create(logf)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "run", "--config", cfg, "--log-level", "debug")
		cmd.Stderr = f
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d)
		if kill {
			_ = cmd.Process.Signal(syscall.SIGKILL)
		} else {
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
		_ = cmd.Wait()
		f.Close()
		f, _ = os.Open(logf)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := spooledRE.FindStringSubmatch(sc.Text()); m != nil {
				spooled[m[1]] = true
			}
		}
		f.Close()
	}
	for range 6 {
		run(true, time.Duration(300+rand.IntN(2200))*time.Millisecond)
	}
	run(false, 4*time.Second) // a clean run drains what the killed ones left
	if len(spooled) == 0 {
		t.Fatal("no measurement was spooled")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stored map[string]int
	for ctx.Err() == nil {
		stored = c.storedIDs(t)
		missing := 0
		for id := range spooled {
			if stored[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		run(false, 2*time.Second)
	}
	for id := range spooled {
		if stored[id] != 1 {
			t.Errorf("measurement %s stored %d times, want exactly once", id, stored[id])
		}
	}
	t.Logf("%d measurements spooled across 6 SIGKILLs and clean restarts; all stored exactly once", len(spooled))
}
