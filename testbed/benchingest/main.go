// Command benchingest measures the collector's ingest against a real InfluxDB (run it
// through scripts/with-influxdb; `make bench-ingest` does): N simulated probes POST
// gzip'd batches to the real API and store; it reports measurements/s, points/s and
// p50/p99 acknowledgement latency, then writes the same points as raw line protocol into
// the same InfluxDB and prints the ratio, then repeats the ingest at half load for its
// p99. Goals (checked with --check): ratio ≥ 0.7, p99 ≤ 200 ms at half load.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/measurement"
)

func main() { os.Exit(run()) }

func run() int {
	probes := flag.Int("probes", 20, "concurrent simulated probes")
	batch := flag.Int("batch", 100, "measurements per batch")
	total := flag.Int("measurements", 20000, "measurements per phase")
	check := flag.Bool("check", false, "exit non-zero when a goal is missed")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchingest:", err)
			return 2
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	base := os.Getenv("PANTAU_TEST_INFLUX_URL")
	if base == "" {
		fmt.Fprintln(os.Stderr, "benchingest: PANTAU_TEST_INFLUX_URL is not set: run through scripts/with-influxdb (make bench-ingest)")
		return 2
	}
	if err := bench(base, *probes, *batch, *total, *check); err != nil {
		fmt.Fprintln(os.Stderr, "benchingest:", err)
		return 1
	}
	return 0
}

type result struct {
	n, points int
	elapsed   time.Duration
	lat       []time.Duration
}

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
}

func bench(base string, probes, batchN, total int, check bool) error {
	secret := []byte("benchingest-secret-0123456789abcdef0123")
	v, _ := auth.NewVerifier(secret, nil)
	full, err := ingest(base, "bench_full", secret, v, probes, batchN, total, 0)
	if err != nil {
		return err
	}
	rate := float64(full.points) / full.elapsed.Seconds()
	fmt.Printf("ingest (full load): %d measurements, %d points in %.2fs: %.0f measurements/s, %.0f points/s; ack latency p50 %s, p99 %s\n",
		full.n, full.points, full.elapsed.Seconds(), float64(full.n)/full.elapsed.Seconds(), rate, full.pct(0.5).Round(time.Millisecond), full.pct(0.99).Round(time.Millisecond))
	raw, err := rawWrite(base, "bench_raw", gen(total, 0))
	if err != nil {
		return err
	}
	ratio := rate / raw
	fmt.Printf("raw line protocol (same points, 5,000-point batches, 4 writers): %.0f points/s; ratio ingest/raw = %.2f (goal ≥ 0.7)\n", raw, ratio)
	halfRate := float64(full.n) / full.elapsed.Seconds() / 2
	half, err := ingest(base, "bench_half", secret, v, probes, batchN, total/2, halfRate)
	if err != nil {
		return err
	}
	fmt.Printf("ingest (half load, %.0f measurements/s offered): ack latency p50 %s, p99 %s (goal ≤ 200ms)\n", halfRate, half.pct(0.5).Round(time.Millisecond), half.pct(0.99).Round(time.Millisecond))
	var errs []error
	if check && ratio < 0.7 {
		errs = append(errs, fmt.Errorf("ratio %.2f is below 0.7", ratio))
	}
	if check && half.pct(0.99) > 200*time.Millisecond {
		errs = append(errs, fmt.Errorf("p99 %s at half load is above 200ms", half.pct(0.99)))
	}
	return errors.Join(errs...)
}

// ingest runs probes against a real collector API writing to database db; rate > 0
// paces the offered load (measurements/s over all probes).
func ingest(base, db string, secret []byte, v *auth.Verifier, probes, batchN, total int, rate float64) (result, error) {
	if err := createDB(base, db); err != nil {
		return result{}, err
	}
	st, err := store.New(store.Config{URL: base, Bucket: db + "/autogen"}, nil)
	if err != nil {
		return result{}, err
	}
	defer st.Close()
	srv := &http.Server{Handler: api.New(api.Options{Store: st, Verifier: v, MaxInFlight: 64, BatchItems: batchN}, nil)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	endpoint := "http://" + ln.Addr().String() + "/api/v1/measurements"
	ms := gen(total, int64(len(db))*1e9)
	points := 0
	for _, m := range ms {
		points += len(store.Points(store.Item{M: m, Probe: store.Identity{Probe: "p", Network: "n", ASN: 1, Country: "ID"}, ReceivedAt: time.Now()}))
	}
	var batches [][]byte
	for i := 0; i < len(ms); i += batchN {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_ = json.NewEncoder(zw).Encode(ms[i:min(i+batchN, len(ms))])
		_ = zw.Close()
		batches = append(batches, buf.Bytes())
	}
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Duration(0)
	if rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(batchN) * float64(probes) / rate)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: probes}}
	for p := range probes {
		tok, _ := auth.Issue(secret, auth.Claims{Probe: fmt.Sprintf("bench-%02d", p), Network: "lab", ASN: 64512, Country: "ID"})
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.Now().Add(interval * time.Duration(p) / time.Duration(probes))
			for {
				i := int(next.Add(1)) - 1
				if i >= len(batches) {
					return
				}
				if interval > 0 {
					tick = tick.Add(interval)
					time.Sleep(time.Until(tick))
				}
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, endpoint, bytes.NewReader(batches[i]))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Encoding", "gzip")
				t0 := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t0)
				if err == nil {
					var r api.IngestResponse
					_ = json.NewDecoder(resp.Body).Decode(&r)
					resp.Body.Close()
					if resp.StatusCode != 200 || r.Rejected > 0 {
						err = fmt.Errorf("batch %d: %s, %d rejected", i, resp.Status, r.Rejected)
					}
				}
				mu.Lock()
				lat = append(lat, d)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res := result{n: len(ms), points: points, elapsed: time.Since(start), lat: lat}
	if firstErr != nil {
		return res, firstErr
	}
	// Nothing silently dropped: every acknowledged measurement is in InfluxDB.
	if n, err := count(base, db); err != nil || n != len(ms) {
		return res, fmt.Errorf("%s: %d reach points stored for %d acknowledged measurements (%v)", db, n, len(ms), err)
	}
	return res, nil
}

// rawWrite writes the points of ms as line protocol straight to InfluxDB.
func rawWrite(base, db string, ms []*measurement.Measurement) (float64, error) {
	if err := createDB(base, db); err != nil {
		return 0, err
	}
	var lines []string
	for _, m := range ms {
		for _, p := range store.Points(store.Item{M: m, Probe: store.Identity{Probe: "p", Network: "n", ASN: 1, Country: "ID"}, ReceivedAt: time.Now()}) {
			lines = append(lines, strings.TrimSuffix(write.PointToLineProtocol(p, time.Nanosecond), "\n"))
		}
	}
	var bodies [][]byte
	for i := 0; i < len(lines); i += 5000 {
		bodies = append(bodies, []byte(strings.Join(lines[i:min(i+5000, len(lines))], "\n")))
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	start := time.Now()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				resp, err := http.Post(base+"/api/v2/write?bucket="+url.QueryEscape(db+"/autogen")+"&precision=ns", "text/plain", bytes.NewReader(bodies[i]))
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						err = fmt.Errorf("raw write: %s", resp.Status)
					}
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return float64(len(lines)) / time.Since(start).Seconds(), firstErr
}

// gen makes n realistic web measurements; offset spreads their times per phase.
func gen(n int, offset int64) []*measurement.Measurement {
	names := []string{"t.me", "telegram.me", "telegram.org", "core.telegram.org", "desktop.telegram.org", "macos.telegram.org",
		"web.telegram.org", "venus.web.telegram.org", "pluto.web.telegram.org", "flora.web.telegram.org", "flora-1.web.telegram.org", "reddit.com", "vimeo.com"}
	f := func(s string) *string { return &s }
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(offset))
	out := make([]*measurement.Measurement, n)
	for i := range out {
		d := names[i%len(names)]
		obs := measurement.Observations{
			DNS: []measurement.DNSQuery{
				{Resolver: "udp://10.0.0.1:53", Transport: "udp", System: true, Query: d, QType: "A", Rcode: "NOERROR", RTTMS: 12.5, Answers: []measurement.DNSAnswer{{Name: d, Type: "A", TTL: 300, Data: "149.154.167.99"}}},
				{Resolver: "udp://10.0.0.1:53", Transport: "udp", System: true, Query: d, QType: "AAAA", Rcode: "NOERROR", RTTMS: 11, Failure: f("dns_no_answer")},
			},
			TCP:  []measurement.TCPConnect{{IP: "149.154.167.99", Port: 443, Origin: "probe", TimeMS: 30}, {IP: "149.154.167.98", Port: 443, Origin: "control", TimeMS: 31}},
			TLS:  []measurement.TLSHandshake{{IP: "149.154.167.99", Port: 443, SNI: d, Version: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", CertValid: true, TimeMS: 60}},
			HTTP: []measurement.HTTPRequest{{URL: "https://" + d + "/", Method: "GET", Address: "149.154.167.99:443", Status: 200, BodyLength: 20345, BodySHA256: strings.Repeat("ab", 32), Title: "Telegram Messenger", TimeMS: 120}},
		}
		out[i] = &measurement.Measurement{ID: measurement.NewID(), SchemaVersion: 1, Target: "https://" + d + "/", Kind: "web", Domain: d, Port: 443,
			StartedAt: base.Add(time.Duration(i) * time.Second), RuntimeMS: 250, Software: measurement.Software{Name: "pantau-probe", Version: "bench"},
			Resolvers: []measurement.ResolverInfo{}, Observations: obs, Fingerprints: []measurement.FingerprintMatch{},
			Control: &measurement.Control{Helper: "https://helper.example/api/v1/control", Attempts: []measurement.ControlAttempt{}, Observations: obs},
			Verdict: measurement.Verdict{Status: "accessible", Reason: "The probe fetched the same page as the control.", Evidence: []string{"DNS answers overlap"}}}
	}
	return out
}

func createDB(base, db string) error {
	resp, err := http.PostForm(base+"/query", url.Values{"q": {"CREATE DATABASE " + db}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func count(base, db string) (int, error) {
	resp, err := http.Get(base + "/query?db=" + db + "&q=" + url.QueryEscape(`SELECT count("id") FROM "reach"`))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Results []struct {
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Results) == 0 || len(r.Results[0].Series) == 0 {
		return 0, fmt.Errorf("count: %v", err)
	}
	n, _ := r.Results[0].Series[0].Values[0][1].(float64)
	return int(n), nil
}
