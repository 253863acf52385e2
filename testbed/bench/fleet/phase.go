package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxql"
	"github.com/pantau-dev/pantau/internal/ratelimit"
)

// phase is one speed's outcome.
type phase struct {
	speed            float64
	offered          float64 // measurements/s the schedule asks for
	meas, beats      stats
	stored, storedHB int
}

// stats are the requests of one kind.
type stats struct {
	items, failures int
	elapsed         time.Duration
	lat             []time.Duration // of acknowledged requests, sorted
	firstErr        error
}

func (s stats) rate() float64 { return float64(s.items) / s.elapsed.Seconds() }

// pct returns the p-quantile (0..1) of the latencies (nearest rank).
func (s stats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(p*float64(len(s.lat))+0.999999) - 1
	return s.lat[max(0, min(i, len(s.lat)-1))]
}

func (p phase) sustainable(maxP99 time.Duration) bool {
	return p.meas.failures == 0 && p.beats.failures == 0 && p.meas.pct(0.99) <= maxP99 && p.beats.pct(0.99) <= maxP99
}

func (p phase) print(c config) {
	fmt.Printf("×%-4g offered %6.0f meas/s | acked %6.0f meas/s, %5.0f heartbeats/s | batch p50 %4dms p99 %4dms | heartbeat p50 %4dms p99 %4dms | failures %d+%d | stored %d/%d meas, %d/%d heartbeats\n",
		p.speed, p.offered, p.meas.rate(), p.beats.rate(), p.meas.pct(0.5).Milliseconds(), p.meas.pct(0.99).Milliseconds(),
		p.beats.pct(0.5).Milliseconds(), p.beats.pct(0.99).Milliseconds(), p.meas.failures, p.beats.failures,
		p.stored, p.meas.items, p.storedHB, p.beats.items)
	for _, err := range []error{p.meas.firstErr, p.beats.firstErr} {
		if err != nil {
			fmt.Printf("      first failure: %v\n", err)
		}
	}
}

// replica is one collector: its store, report service and API on 127.0.0.1:0.
type replica struct {
	url string
	srv *http.Server
	st  *store.Store
}

// startReplica builds a collector the way `collector serve` does (collector/cli/serve.go):
// the API writes through the report service's Watch wrapper, with ingest marks.
func startReplica(influx, db string, v *auth.Verifier) (*replica, error) {
	st, err := store.New(store.Config{URL: influx, Bucket: db}, nil)
	if err != nil {
		return nil, err
	}
	svc, err := report.New(report.Config{Source: st, Marks: st}, nil)
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, err
	}
	h := api.New(api.Options{Store: svc.Watch(st), Verifier: v, Limiter: ratelimit.New(1e6, 1e6, 0)}, nil)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &replica{url: "http://" + ln.Addr().String(), srv: srv, st: st}, nil
}

func (r *replica) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	r.st.Close()
}

// runPhase runs the fleet at speed against fresh replicas and a fresh database, then
// counts what InfluxDB stored.
func runPhase(c config, speed float64) (phase, error) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	v, err := auth.NewVerifier(secret, nil)
	if err != nil {
		return phase{}, err
	}
	db := fmt.Sprintf("fleet%d", time.Now().UnixNano())
	ql := influxql.Client{URL: c.influx}
	if _, err := ql.Series(context.Background(), "CREATE DATABASE "+influxql.Ident(db)); err != nil {
		return phase{}, err
	}
	defer func() { _, _ = ql.Series(context.Background(), "DROP DATABASE "+influxql.Ident(db)) }()
	var reps []*replica
	defer func() {
		for _, r := range reps {
			r.close()
		}
	}()
	for range c.replicas {
		r, err := startReplica(c.influx, db, v)
		if err != nil {
			return phase{}, err
		}
		reps = append(reps, r)
	}
	p := phase{speed: speed, offered: float64(c.probes*len(schedule)) * speed / c.cadence.Seconds()}
	if p.meas, p.beats, err = drive(c, speed, secret, reps); err != nil {
		return phase{}, err
	}
	ql.DB = db
	if p.stored, err = count(ql, store.Reach, "id"); err != nil {
		return phase{}, err
	}
	if p.storedHB, err = count(ql, store.ProbeStatus, "spool_depth"); err != nil {
		return phase{}, err
	}
	// Acknowledged = stored: every acknowledged item is stored, and a failed request may
	// have been stored in part (the probe's retry would find it stored).
	if p.stored < p.meas.items || p.stored > p.meas.items+p.meas.failures*len(schedule) ||
		p.storedHB < p.beats.items || p.storedHB > p.beats.items+p.beats.failures {
		return phase{}, fmt.Errorf("×%g: InfluxDB holds %d measurements and %d heartbeats; %d and %d were acknowledged, %d and %d more sent without an answer",
			speed, p.stored, p.storedHB, p.meas.items, p.beats.items, p.meas.failures*len(schedule), p.beats.failures)
	}
	return p, nil
}

// count counts the points of measurement name with field f.
func count(ql influxql.Client, name, f string) (int, error) {
	ss, err := ql.Series(context.Background(), fmt.Sprintf("SELECT count(%s) FROM %s", influxql.Ident(f), influxql.Ident(name)))
	if err != nil {
		return 0, err
	}
	if len(ss) == 0 || len(ss[0].Values) == 0 {
		return 0, nil
	}
	n, ok := influxql.Int(ss[0].Values[0][1])
	if !ok {
		return 0, fmt.Errorf("count of %s: unexpected %v", name, ss[0].Values[0])
	}
	return int(n), nil
}

// drive runs every probe until c.duration has passed: its round and a heartbeat at each
// slot, two more heartbeats in between, each request to the next replica.
func drive(c config, speed float64, secret []byte, reps []*replica) (meas, beats stats, err error) {
	interval := time.Duration(float64(c.cadence) / speed)
	// A load balancer's pool: at most 256 connections to each replica, kept alive; a request
	// waiting for one counts in its latency.
	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	nets := []struct {
		name string
		asn  uint32
	}{{"Telkomsel", 23693}, {"Indosat Ooredoo", 4761}, {"XL Axiata", 24203}, {"Telkom Indonesia", 7713}, {"Biznet", 17451}}
	var (
		mu   sync.Mutex
		next atomic.Uint64
		wg   sync.WaitGroup
	)
	record := func(s *stats, items int, lat time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		s.add(items, lat, err)
	}
	d := c.duration
	start := time.Now()
	deadline := start.Add(d)
	for i := range c.probes {
		nw := nets[i%len(nets)]
		tok, err := auth.Issue(secret, auth.Claims{Probe: fmt.Sprintf("fleet-%05d", i), Network: nw.name, Country: "ID", ASN: nw.asn})
		if err != nil {
			return stats{}, stats{}, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(uint64(i), 42))
			// The probe's schedule: its round at off + n×interval, heartbeats a third and two
			// thirds after; it joins at its first event after start, so that the fleet's
			// rate is steady from the start.
			third := interval / 3
			off := interval * time.Duration(i) / time.Duration(c.probes)
			shift := int(off / third)
			post := func(path string, body []byte) (time.Duration, error) {
				u := reps[next.Add(1)%uint64(len(reps))].url + path
				return submit(client, u, tok, body)
			}
			for j := 0; ; j++ {
				at := start.Add(off%third + time.Duration(j)*third)
				if at.After(deadline) {
					return
				}
				time.Sleep(time.Until(at))
				if (j-shift)%3 == 0 {
					ts := time.Now().Add(-20 * time.Second)
					if r.Float64() < c.backlog {
						ts = ts.Add(-26 * time.Hour) // a round of yesterday, spooled during an outage
					}
					body, err := roundBody(r, ts)
					if err == nil {
						var lat time.Duration
						lat, err = post("/api/v1/measurements", body)
						record(&meas, len(schedule), lat, err)
					}
				}
				hb, _ := heartbeatBody(time.Now(), at, 0)
				lat, err := post("/api/v1/heartbeats", hb)
				record(&beats, 1, lat, err)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	meas.elapsed, beats.elapsed = elapsed, elapsed
	slices.Sort(meas.lat)
	slices.Sort(beats.lat)
	return meas, beats, nil
}

// add counts one request: its items and latency, or its failure.
func (s *stats) add(items int, lat time.Duration, err error) {
	if err != nil {
		s.failures++
		if s.firstErr == nil {
			s.firstErr = err
		}
		return
	}
	s.items += items
	s.lat = append(s.lat, lat)
}

// submit posts body with the probe's token and checks that all of it was acknowledged.
func submit(client *http.Client, u, token string, body []byte) (time.Duration, error) {
	t0 := time.Now()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	lat := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: HTTP %d: %s", u, resp.StatusCode, bytes.TrimSpace(b))
	}
	var r api.IngestResponse
	if err := json.Unmarshal(b, &r); err == nil && r.Rejected != 0 {
		return 0, fmt.Errorf("%s: %d rejected: %s", u, r.Rejected, b)
	}
	return lat, nil
}
