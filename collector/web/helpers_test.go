package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// The data set every test shows: t.me measured hourly on two networks by two probes each,
// from 10 to 20 July 2017.
//   - Telkomsel: accessible, blocked by DNS from 14 July 00:00; no coverage from 16 July
//     12:00 to 18 July 12:00 (the probes were off).
//   - Indosat Ooredoo: accessible throughout; no coverage from 11 July 12:00 to 13 July 12:00.
var (
	dsFrom   = time.Date(2017, 7, 10, 0, 0, 0, 0, time.UTC)
	dsTo     = time.Date(2017, 7, 20, 0, 0, 0, 0, time.UTC)
	dsBlock  = time.Date(2017, 7, 14, 0, 0, 0, 0, time.UTC)
	tselGap  = [2]time.Time{time.Date(2017, 7, 16, 12, 0, 0, 0, time.UTC), time.Date(2017, 7, 18, 12, 0, 0, 0, time.UTC)}
	isatGap  = [2]time.Time{time.Date(2017, 7, 11, 12, 0, 0, 0, time.UTC), time.Date(2017, 7, 13, 12, 0, 0, 0, time.UTC)}
	testNow  = time.Date(2017, 7, 20, 0, 0, 0, 0, time.UTC)
	dsDomain = "t.me"
)

const (
	tsel = "Telkomsel"
	isat = "Indosat Ooredoo"
)

// dsProbes are the probes of the data set.
var dsProbes = []store.Identity{
	{Probe: "tsel-1", Network: tsel, Country: "ID", ASN: 23693},
	{Probe: "tsel-2", Network: tsel, Country: "ID", ASN: 23693},
	{Probe: "isat-1", Network: isat, Country: "ID", ASN: 4761},
	{Probe: "isat-2", Network: isat, Country: "ID", ASN: 4761},
}

// testItems is the data set, made once per test binary.
var testItems = dataset()

// testParams confirm states as the defaults do; probes measure hourly, so silence counts
// as a gap after three hours.
var testParams = timeline.Params{K: 3, M: 2, MaxSilence: 3 * time.Hour}

// testOrderYAML orders t.me blocked on both networks of the data set from 14 July.
const testOrderYAML = `id: test-block
title: Block t.me
authority: Kominfo
reference: T-1/2017
domains: [t.me]
expect: blocked
effective: 2017-07-14T00:00:00Z
grace: 1d
networks: [Telkomsel, Indosat Ooredoo]
`

// badOrderYAML misspells the expected state on line 6.
var badOrderYAML = strings.Replace(testOrderYAML, "expect: blocked", "expect: blockd", 1)

// stack is the real collector side the dashboard runs on: the data set in a fresh
// database of the test InfluxDB, and the report service over it with the seed orders
// and testOrderYAML in its orders folder.
type stack struct {
	svc *report.Service
	st  *store.Store
	dir string // the orders folder
}

func newStack(t *testing.T) stack {
	t.Helper()
	st := newStore(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "test-block.yaml"), []byte(testOrderYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	svc, err := report.New(report.Config{Source: st, OrdersDir: dir, Params: testParams, Now: func() time.Time { return testNow }}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	return stack{svc: svc, st: st, dir: dir}
}

// orderFiles lists the files of the stack's orders folder.
func (s stack) orderFiles(t *testing.T) []string {
	t.Helper()
	es, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// serveStack serves the dashboard on the stack at "/", and the report API under /api/v1/,
// as the collector does.
func serveStack(t *testing.T, token string, opts ...Option) (*httptest.Server, stack) {
	t.Helper()
	s := newStack(t)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", s.svc.Handler(token))
	mux.Handle("/", newDash(s.svc, s.st, token, quiet(), func() time.Time { return testNow }, opts...))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, s
}

// dataset returns the data set's measurements.
func dataset() []store.Item {
	var out []store.Item
	for i, p := range dsProbes {
		gap := tselGap
		if p.Network == isat {
			gap = isatGap
		}
		// The two probes of a network measure 20 minutes apart.
		for t := dsFrom.Add(time.Duration(i%2) * 20 * time.Minute); t.Before(dsTo); t = t.Add(time.Hour) {
			if !t.Before(gap[0]) && t.Before(gap[1]) {
				continue
			}
			v := measurement.Verdict{Status: "accessible", Reason: "ok", Evidence: []string{}}
			if p.Network == tsel && !t.Before(dsBlock) {
				v = measurement.Verdict{Status: "blocked", Method: "dns", Reason: "dns: bogon answer 36.86.63.185 (Internet Positif)", Evidence: []string{"dns bogon"}}
			}
			out = append(out, store.Item{M: measured(dsDomain, t, v), Probe: p, Geo: store.Geo{ASN: p.ASN, Org: "AS" + p.Network}, ReceivedAt: t.Add(90 * time.Second)})
		}
	}
	return out
}

// writeBeats writes a probe's heartbeats, at half past each hour it was on.
func writeBeats(ctx context.Context, s *store.Store, p store.Identity) error {
	gap := tselGap
	if p.Network == isat {
		gap = isatGap
	}
	for at := dsFrom.Add(30 * time.Minute); at.Before(dsTo); at = at.Add(time.Hour) {
		if !at.Before(gap[0]) && at.Before(gap[1]) {
			continue
		}
		if err := s.WriteHeartbeat(ctx, store.HeartbeatItem{H: &measurement.Heartbeat{SentAt: at}, Probe: p, ReceivedAt: at}); err != nil {
			return err
		}
	}
	return nil
}

func measured(domain string, started time.Time, v measurement.Verdict) *measurement.Measurement {
	return &measurement.Measurement{
		ID: measurement.NewID(), SchemaVersion: 1, Target: "https://" + domain + "/", Kind: "web", Domain: domain,
		Port: 443, StartedAt: started, RuntimeMS: 100, Software: measurement.Software{Name: "pantau", Version: "test"},
		Resolvers: []measurement.ResolverInfo{}, Fingerprints: []measurement.FingerprintMatch{},
		Observations: measurement.Observations{DNS: []measurement.DNSQuery{}, TCP: []measurement.TCPConnect{},
			TLS: []measurement.TLSHandshake{}, HTTP: []measurement.HTTPRequest{}},
		Verdict: v,
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// newStore returns a store on a fresh database of the test InfluxDB holding the data set:
// its measurements, and the probes' hourly heartbeats (none while they were off).
func newStore(t *testing.T) *store.Store {
	t.Helper()
	url, _ := influxtest.Server(t)
	s, err := store.New(store.Config{URL: url, Bucket: influxtest.NewBucket(t), Timeout: time.Minute}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Write(testCtx(t), testItems); err != nil {
		t.Fatalf("Write: %v", err)
	}
	errs := make(chan error, len(dsProbes))
	for _, p := range dsProbes {
		go func() {
			errs <- writeBeats(testCtx(t), s, p)
		}()
	}
	for range dsProbes {
		if err := <-errs; err != nil {
			t.Fatalf("WriteHeartbeat: %v", err)
		}
	}
	return s
}

// serve starts the dashboard on a real listener.
func serve(t *testing.T, d Data, m Lister, token string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newDash(d, m, token, quiet(), func() time.Time { return testNow }))
	t.Cleanup(srv.Close)
	return srv
}

// client is an HTTP client with a cookie jar that does not follow redirects.
func client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches a page and returns its status and body.
func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return readBody(t, resp)
}

func readBody(t *testing.T, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// mustContain fails t for each want missing from body.
func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", body)
	}
}
