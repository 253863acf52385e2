package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/cli"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// syncBuffer is a log the collector writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds, failing t after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// collector is `collector serve` running in-process.
type collector struct {
	url    string
	log    *syncBuffer
	cancel context.CancelFunc
	done   chan int // the exit code
}

var listenRE = regexp.MustCompile(`msg="collector listening" url=(http://127\.0\.0\.1:[0-9]+)`)

// serve starts `collector serve --config cfg` and waits until it answers /healthz.
func serve(t *testing.T, cfg string) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{log: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { c.done <- cli.Main(ctx, []string{"serve", "--config", cfg}, io.Discard, c.log, env(nil)) }()
	t.Cleanup(func() {
		cancel()
		<-c.done
	})
	waitFor(t, "the collector to listen", func() bool {
		select {
		case code := <-c.done:
			c.done <- code // for the cleanup
			t.Fatalf("collector exited with %d:\n%s", code, c.log)
		default:
		}
		m := listenRE.FindStringSubmatch(c.log.String())
		if m != nil {
			c.url = m[1]
		}
		return m != nil
	})
	if r := get(t, c.url+"/healthz"); r.StatusCode != http.StatusOK {
		t.Fatalf("healthz: HTTP %d", r.StatusCode)
	}
	return c
}

// stop cancels the collector's context and returns its exit code.
func (c *collector) stop(t *testing.T) int {
	t.Helper()
	c.cancel()
	select {
	case code := <-c.done:
		c.done <- code // for the cleanup
		return code
	case <-time.After(time.Minute):
		t.Fatal("the collector did not stop")
		return -1
	}
}

func get(t *testing.T, u string) *http.Response {
	t.Helper()
	r, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return r
}

// post sends body to u with a bearer token and returns the status and the body.
func post(t *testing.T, u, tok string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// issue runs `collector token issue` with the config's secret.
func issue(t *testing.T, cfg, probe string) string {
	t.Helper()
	code, out, errOut := run(t, env(nil), "token", "issue", "--config", cfg, "--no-record", "--probe", probe, "--network", "Telkomsel",
		"--asn", "23693", "--country", "ID", "--expires", "1h")
	if code != 0 {
		t.Fatalf("token issue: exit %d: %s", code, errOut)
	}
	return strings.TrimSpace(out)
}

func measurementJSON(t *testing.T, domain string) (string, []byte) {
	t.Helper()
	m := &measurement.Measurement{ID: measurement.NewID(), SchemaVersion: 1, Target: "https://" + domain + "/", Kind: "web",
		Domain: domain, Port: 443, StartedAt: time.Now().Add(-time.Minute), RuntimeMS: 10,
		Software: measurement.Software{Name: "pantau", Version: "test"},
		Verdict:  measurement.Verdict{Status: "accessible", Reason: "ok", Evidence: []string{}}}
	m.Normalise()
	b, err := json.Marshal([]*measurement.Measurement{m})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID, b
}

func configYAML(influxURL, bucket, revoked string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
secret: %s
revoked: %s
influx: {url: %s, bucket: %s, timeout: 30s}
control:
  enabled: true
  lab_cidrs: [127.0.0.0/8]
  system_resolvers: ["127.0.0.1:9"]
`, secret, revoked, influxURL, bucket)
}

// TestServe runs the collector on the real InfluxDB: health, a token from `token issue`,
// ingest, query, the control endpoint, SIGHUP reloads of the revocation list, and a
// clean stop.
func TestServe(t *testing.T) {
	influx, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	cfg := writeConfig(t, configYAML(influx, bucket, "[]"))
	c := serve(t, cfg)
	if r := get(t, c.url+"/readyz"); r.StatusCode != http.StatusOK {
		t.Errorf("readyz: HTTP %d", r.StatusCode)
	}
	tokA, tokB := issue(t, cfg, "jkt-01"), issue(t, cfg, "jkt-02")
	id, body := measurementJSON(t, "t.me")
	if code, b := post(t, c.url+"/api/v1/measurements", tokA, body); code != http.StatusOK || !strings.Contains(b, `"accepted":1`) {
		t.Fatalf("ingest: HTTP %d %s", code, b)
	}
	var page api.QueryResponse
	r, err := http.Get(c.url + "/api/v1/measurements?probe=jkt-01&domain=t.me")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(r.Body).Decode(&page)
	r.Body.Close()
	if err != nil || len(page.Measurements) != 1 || page.Measurements[0].Measurement.ID != id || page.Measurements[0].Probe.Network != "Telkomsel" {
		t.Fatalf("query: %+v %v", page, err)
	}

	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<title>Lab</title>") }))
	t.Cleanup(web.Close)
	ctl := []byte(fmt.Sprintf(`{"target":%q}`, web.URL))
	if code, b := post(t, c.url+"/api/v1/control", tokA, ctl); code != http.StatusOK || !strings.Contains(b, `"title":"Lab"`) {
		t.Errorf("control: HTTP %d %s", code, b)
	}
	if code, _ := post(t, c.url+"/api/v1/control", "", ctl); code != http.StatusUnauthorized {
		t.Errorf("control without a token: HTTP %d", code)
	}

	// SIGHUP reloads the revocation list; a bad file keeps the old one.
	if err := os.WriteFile(cfg, []byte(configYAML(influx, bucket, "[probe:jkt-01]")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the revocation to apply", func() bool {
		code, b := post(t, c.url+"/api/v1/measurements", tokA, body)
		return code == http.StatusUnauthorized && strings.Contains(b, `token revoked: probe \"jkt-01\"`)
	})
	if err := os.WriteFile(cfg, []byte(configYAML(influx, bucket, "[probe:jkt-02, oops]")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the refused reload", func() bool { return strings.Contains(c.log.String(), "config not reloaded") })
	if code, _ := post(t, c.url+"/api/v1/measurements", tokA, body); code != http.StatusUnauthorized {
		t.Errorf("revoked token after a refused reload: HTTP %d", code)
	}
	if code, b := post(t, c.url+"/api/v1/measurements", tokB, body); code != http.StatusOK {
		t.Errorf("other token after a refused reload: HTTP %d %s", code, b)
	}

	if code := c.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, c.log)
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(c.url, "http://"), 5*time.Second); err == nil {
		t.Error("still accepting connections after the stop")
	}
	log := c.log.String()
	order := []string{"collector listening", "shutting down", "in-flight requests finished", "storage client closed; stopped"}
	for i := 1; i < len(order); i++ {
		if a, b := strings.Index(log, order[i-1]), strings.Index(log, order[i]); a < 0 || b < a {
			t.Errorf("log lacks %q after %q:\n%s", order[i], order[i-1], log)
		}
	}
}

// events records what happened in which order.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, s)
}

func (e *events) index(s string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Index(e.list, s)
}

// TestServeOrderedShutdown stops the collector while a write is held up on its way to
// InfluxDB (by a proxy): the collector stops accepting at once, lets the write finish and
// answers it, then closes its storage client, and only then returns 0.
func TestServeOrderedShutdown(t *testing.T) {
	influx, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	target, err := url.Parse(influx)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var ev events
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	// Only the connections that carried writes count: the collector also reads InfluxDB
	// in the background (the report cache), and those reads end when it stops.
	type connKey struct{}
	var writeConns sync.Map
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/write" {
			writeConns.Store(r.Context().Value(connKey{}), true)
			once.Do(func() { close(arrived) })
			<-release
			rp.ServeHTTP(w, r)
			ev.add("write stored")
			return
		}
		rp.ServeHTTP(w, r)
	}))
	proxy.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) }
	proxy.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if _, wrote := writeConns.Load(c); wrote && s == http.StateClosed {
			ev.add("storage connection closed")
		}
	}
	proxy.Start()
	t.Cleanup(proxy.Close)

	cfg := writeConfig(t, configYAML(proxy.URL, bucket, "[]"))
	c := serve(t, cfg)
	tok := issue(t, cfg, "jkt-01")
	_, body := measurementJSON(t, "t.me")
	answered := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, c.url+"/api/v1/measurements", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ev.add("ingest answered")
		answered <- fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
	}()
	select {
	case <-arrived:
	case <-time.After(time.Minute):
		t.Fatal("the write did not reach the proxy")
	}

	c.cancel()
	waitFor(t, "the collector to stop accepting", func() bool {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(c.url, "http://"), time.Second)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	ev.add("not accepting")
	select {
	case code := <-c.done:
		t.Fatalf("returned %d with a write in flight", code)
	default:
	}
	if ev.index("storage connection closed") >= 0 || strings.Contains(c.log.String(), "in-flight requests finished") ||
		strings.Contains(c.log.String(), "storage client closed") {
		t.Fatalf("shut down with a write in flight:\n%s", c.log)
	}

	close(release)
	if got := <-answered; !strings.HasPrefix(got, `200 {"accepted":1,"rejected":0`) {
		t.Fatalf("in-flight ingest answered %s", got)
	}
	if code := c.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, c.log)
	}
	ev.add("returned")
	waitFor(t, "the storage connection to close", func() bool { return ev.index("storage connection closed") >= 0 })
	log := c.log.String()
	if a, b := strings.Index(log, "in-flight requests finished"), strings.Index(log, "storage client closed"); a < 0 || b < a {
		t.Errorf("storage client not closed after the in-flight requests:\n%s", log)
	}
	if n := influxtest.Count(t, influx, bucket, "reach", "id"); n != 1 {
		t.Errorf("%d measurements stored, want 1", n)
	}
	for _, pair := range [][2]string{
		{"not accepting", "write stored"}, {"write stored", "ingest answered"}, {"ingest answered", "returned"},
		{"write stored", "storage connection closed"},
	} {
		if a, b := ev.index(pair[0]), ev.index(pair[1]); a < 0 || b < a {
			t.Errorf("%q not before %q: %q", pair[0], pair[1], ev.list)
		}
	}
}
