package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	lp "github.com/influxdata/line-protocol"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// lineProtocolOf encodes the points of ms, submitted by id, as line protocol with the
// encoder and settings influxdb-client-go's blocking write API uses (the collector sends
// the same bytes; its tests check). Times keep nanoseconds: store.PointTime carries a
// sub-millisecond offset. received_at_ms is the start time: the phase's own is unknown.
func lineProtocolOf(ms []*measurement.Measurement, id store.Identity) (lines []byte, points int, err error) {
	var buf bytes.Buffer
	enc := lp.NewEncoder(&buf)
	enc.SetFieldTypeSupport(lp.UintSupport)
	enc.FailOnFieldErr(true)
	enc.SetPrecision(time.Nanosecond)
	for _, m := range ms {
		for _, pt := range store.Points(store.Item{M: m, Probe: id, ReceivedAt: m.StartedAt}) {
			if _, err := enc.Encode(pt); err != nil {
				return nil, 0, fmt.Errorf("encoding a point of %s: %w", m.ID, err)
			}
			points++
		}
	}
	return buf.Bytes(), points, nil
}

// lineProtocol gathers the line protocol of every batch (acked: of every acknowledged
// batch) in bodies of per points (one a line: string fields escape their newlines).
func lineProtocol(probes []*probe, per int, acked bool) (bodies [][]byte) {
	var body []byte
	n := 0
	for _, p := range probes {
		for _, b := range p.batches {
			if acked && !b.acked {
				continue
			}
			for lines := b.lines; len(lines) > 0; {
				i := bytes.IndexByte(lines, '\n') + 1
				if i == 0 {
					i = len(lines)
				}
				body = append(body, lines[:i]...)
				lines = lines[i:]
				n++
				if n == per {
					bodies = append(bodies, body)
					body, n = nil, 0
				}
			}
		}
	}
	if n > 0 {
		bodies = append(bodies, body)
	}
	return bodies
}

// raw is the outcome of the raw write phase.
type raw struct {
	points  int
	elapsed time.Duration
	cpu     cpuUse
}

func (r raw) pointRate() float64 { return float64(r.points) / r.elapsed.Seconds() }

// writeRaw posts bodies to InfluxDB's v2 write API with writers concurrent writers, and
// no body more once d has passed (as the ingest phases stop after --duration).
func writeRaw(base, bucket string, bodies [][]byte, writers int, d time.Duration, ip influxProc) (raw, error) {
	endpoint := base + "/api/v2/write?bucket=" + url.QueryEscape(bucket) + "&precision=ns"
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: writers}}
	work := make(chan []byte)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	cpu0 := ip.sample()
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range work {
				if err := post(client, endpoint, body); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	points := 0
	for _, b := range bodies {
		if time.Since(start) > d {
			break
		}
		work <- b
		points += bytes.Count(b, []byte("\n")) // a point a line
	}
	close(work)
	wg.Wait()
	r := raw{points: points, elapsed: time.Since(start)}
	r.cpu = ip.sample().since(cpu0)
	if firstErr != nil {
		return r, fmt.Errorf("raw write: %w", firstErr)
	}
	return r, nil
}

func post(client *http.Client, endpoint string, body []byte) error {
	resp, err := client.Post(endpoint, "text/plain; charset=utf-8", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}
