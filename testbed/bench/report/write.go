package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// body is one write request: line protocol of up to batch points.
type body struct {
	data   []byte
	points int
}

// counts are the points generated, per measurement name.
type counts struct{ reach, beats, schedule atomic.Int64 }

func (c *counts) total() int64 { return c.reach.Load() + c.beats.Load() + c.schedule.Load() }

// generate encodes the data set of probes (every measurement and heartbeat while online) in
// bodies of batch points, in time order per probe.
func generate(ctx context.Context, w *world, probes []*probe, batch int, out chan<- body, c *counts) error {
	e := newEncoder()
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		select {
		case out <- body{data: bytes.Clone(e.buf.Bytes()), points: n}:
		case <-ctx.Done():
			return ctx.Err()
		}
		e.buf.Reset()
		n = 0
		return nil
	}
	for _, p := range probes {
		err := w.walk(p, func(t time.Time) error {
			if err := e.heartbeat(w.heartbeatItem(p, t)); err != nil {
				return err
			}
			n += 2
			c.beats.Add(1)
			c.schedule.Add(1)
			return nil
		}, func(d string, slot int) error {
			if err := e.reach(w.item(p, d, slot)); err != nil {
				return err
			}
			n++
			c.reach.Add(1)
			if n >= batch {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return flush()
}

// load generates the data set with gens encoders and posts it with writers concurrent
// writers to InfluxDB's v2 write API. It returns the points written and how long it took.
func load(ctx context.Context, base, bucket string, w *world, batch, gens, writers int) (*counts, time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	endpoint := base + "/api/v2/write?bucket=" + url.QueryEscape(bucket) + "&precision=ns"
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: writers}}
	out := make(chan body, writers)
	c := &counts{}
	var gwg, wwg sync.WaitGroup
	start := time.Now()
	for g := range gens {
		var mine []*probe
		for i := g; i < len(w.probes); i += gens {
			mine = append(mine, &w.probes[i])
		}
		gwg.Add(1)
		go func() {
			defer gwg.Done()
			if err := generate(ctx, w, mine, batch, out, c); err != nil {
				cancel(fmt.Errorf("generating: %w", err))
			}
		}()
	}
	var written atomic.Int64
	for range writers {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for b := range out {
				if err := post(ctx, client, endpoint, b.data); err != nil {
					cancel(err)
					continue
				}
				written.Add(int64(b.points))
			}
		}()
	}
	gwg.Wait()
	close(out)
	wwg.Wait()
	if err := context.Cause(ctx); err != nil {
		return c, time.Since(start), err
	}
	if written.Load() != c.total() {
		return c, time.Since(start), fmt.Errorf("wrote %d points of %d generated", written.Load(), c.total())
	}
	return c, time.Since(start), nil
}

// post writes one body, retrying a refused or failed request up to three times (writes
// are idempotent: the same points overwrite themselves).
func post(ctx context.Context, client *http.Client, endpoint string, data []byte) error {
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt) * time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err = post1(ctx, client, endpoint, data); err == nil {
			return nil
		}
	}
	return fmt.Errorf("write: %w", err)
}

func post1(ctx context.Context, client *http.Client, endpoint string, data []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := client.Do(req)
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
