package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/ratelimit"
)

// probe is one simulated probe: its token and the batches it will submit, in order.
type probe struct {
	claims  auth.Claims
	token   string
	batches []*batch
}

// batch is one request body and what it holds. The measurements themselves are not
// kept: a heap of millions of pointers would make every GC cycle of this process (which
// the collector shares) scan the load generator's data.
type batch struct {
	n      int    // measurements
	body   []byte // gzip'd JSON array
	points int    // store.Points of the measurements, with the probe's identity
	lines  []byte // those points as line protocol, for the raw phase
	acked  bool
}

func (p *probe) identity() store.Identity {
	return store.Identity{Probe: p.claims.Probe, Network: p.claims.Network, Country: p.claims.Country, ASN: p.claims.ASN}
}

// fill gives each probe n batches of size measurements, generated in parallel. Start
// times begin at base and are distinct across all probes (first is the index of the
// first measurement, so successive phases do not overlap); it returns the next index.
func fill(probes []*probe, n, size int, base time.Time, first int) (int, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(probes))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	per := n * size
	for i, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			g := newGenerator(uint64(first+i), base)
			g.next = first + i*per
			p.batches = make([]*batch, n)
			for k := range p.batches {
				ms := make([]*measurement.Measurement, size)
				b := &batch{n: size}
				for j := range ms {
					ms[j] = g.measurement()
					if err := ms[j].Validate(time.Now()); err != nil {
						errs[i] = fmt.Errorf("generated measurement is invalid: %w", err)
						return
					}
				}
				if b.lines, b.points, errs[i] = lineProtocolOf(ms, p.identity()); errs[i] != nil {
					return
				}
				if b.body, errs[i] = gzipJSON(ms); errs[i] != nil {
					return
				}
				p.batches[k] = b
			}
		}()
	}
	wg.Wait()
	return first + len(probes)*per, errors.Join(errs...)
}

func gzipJSON(v any) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(js); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// load is the outcome of one ingest phase.
type load struct {
	requests, failures int
	sent, acked        int // measurements
	points             int // points of the acknowledged measurements
	elapsed            time.Duration
	lat                []time.Duration // of acknowledged requests, sorted
	firstErr           error
	cpu                cpuUse
	writes             int64 // write requests the collector sent to InfluxDB
	writePoints        int64 // points in them
	lookUps            int64 // the collector's look-up requests (InfluxQL) for them
}

func (l load) rate() float64      { return float64(l.acked) / l.elapsed.Seconds() }
func (l load) pointRate() float64 { return float64(l.points) / l.elapsed.Seconds() }

// pct returns the p-quantile (0..1) of the acknowledgement latencies (nearest rank).
func (l load) pct(p float64) time.Duration {
	if len(l.lat) == 0 {
		return 0
	}
	i := int(p*float64(len(l.lat))+0.999999) - 1
	return l.lat[max(0, min(i, len(l.lat)-1))]
}

// collector serves the real API, with a real store writing to bucket, on 127.0.0.1:0.
type collector struct {
	url   string
	srv   *http.Server
	store *store.Store
}

func startCollector(c config, bucket string, v *auth.Verifier) (*collector, error) {
	st, err := store.New(store.Config{URL: c.influx, Bucket: bucket, Writes: c.writes, Linger: c.linger}, nil)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, err
	}
	h := api.New(api.Options{Store: st, Verifier: v,
		Limiter:    ratelimit.New(1e6, 1e6, 0), // real code path, never throttles here
		BatchItems: max(c.batch, api.DefaultBatchItems)}, nil)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	// Goroutines inherit profiler labels: every connection the server starts, and the
	// store's requests to InfluxDB, count as role=collector in a CPU profile.
	go pprof.Do(context.Background(), pprof.Labels("role", "collector"), func(context.Context) { _ = srv.Serve(ln) })
	return &collector{url: "http://" + ln.Addr().String() + "/api/v1/measurements", srv: srv, store: st}, nil
}

func (c *collector) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.srv.Shutdown(ctx)
	c.store.Close()
}

// drive makes every probe submit its batches to url, one request at a time, until its
// batches run out or until the deadline. rate > 0 paces the fleet to rate measurements/s
// (each probe sends a batch every probes×size/rate seconds, the probes staggered); rate 0
// sends the next batch as soon as the previous one was answered.
func drive(url string, probes []*probe, size int, rate float64, d time.Duration, ip influxProc) load {
	tr := &http.Transport{MaxIdleConnsPerHost: len(probes), DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(len(probes)*size) / rate)
	}
	var (
		mu  sync.Mutex
		res load
		wg  sync.WaitGroup
	)
	cpu0 := ip.sample()
	start := time.Now()
	deadline := start.Add(d)
	for i, p := range probes {
		wg.Add(1)
		go pprof.Do(context.Background(), pprof.Labels("role", "probes"), func(ctx context.Context) {
			defer wg.Done()
			slot := start.Add(interval * time.Duration(i) / time.Duration(len(probes)))
			for _, b := range p.batches {
				if rate > 0 {
					if slot.After(deadline) {
						return
					}
					time.Sleep(time.Until(slot))
					slot = slot.Add(interval)
				} else if time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				err := submit(ctx, client, url, p.token, b)
				lat := time.Since(t0)
				mu.Lock()
				res.requests++
				res.sent += b.n
				if err != nil {
					res.failures++
					if res.firstErr == nil {
						res.firstErr = fmt.Errorf("probe %s: %w", p.claims.Probe, err)
					}
				} else {
					b.acked = true
					res.acked += b.n
					res.points += b.points
					res.lat = append(res.lat, lat)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.cpu = ip.sample().since(cpu0)
	slices.Sort(res.lat)
	return res
}

// submit posts one batch and checks that every measurement was acknowledged.
func submit(ctx context.Context, client *http.Client, url, token string, b *batch) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b.body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	var r api.IngestResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	if r.Accepted != b.n || r.Rejected != 0 {
		msg := ""
		for _, it := range r.Items {
			if it.Error != "" {
				msg = ": " + it.Error
				break
			}
		}
		return fmt.Errorf("%d of %d accepted, %d rejected%s", r.Accepted, b.n, r.Rejected, msg)
	}
	return nil
}
