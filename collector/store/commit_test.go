package store_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// gate is a reverse proxy in front of InfluxDB that holds the first write request until
// released (so that the writes behind it queue up) and counts write requests.
type gate struct {
	url     string
	held    chan struct{} // closed when the first write arrived
	release chan struct{}
	opened  sync.Once
	mu      sync.Mutex
	writes  int
}

func newGate(t *testing.T, influx string) *gate {
	t.Helper()
	target, err := url.Parse(influx)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{held: make(chan struct{}), release: make(chan struct{})}
	// Requests are forwarded whole (the answer read to its end before it is passed on),
	// over the gate's own transport: a streaming reverse proxy cut InfluxQL answers
	// short now and then (unexpected EOF), failing the store's lookups for the test's
	// reasons.
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/write" {
			g.mu.Lock()
			g.writes++
			first := g.writes == 1
			g.mu.Unlock()
			if first {
				close(g.held)
				<-g.release
			}
		}
		forward(w, r, target, tr)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(g.open) // before srv.Close (cleanups run last first): a held request would block it
	g.url = srv.URL
	return g
}

// forward sends r to target and writes the whole answer back (502 when it fails).
func forward(w http.ResponseWriter, r *http.Request, target *url.URL, tr http.RoundTripper) {
	u := *r.URL
	u.Scheme, u.Host = target.Scheme, target.Host
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.ContentLength = r.ContentLength
	resp, err := tr.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// open releases the held write request (once).
func (g *gate) open() { g.opened.Do(func() { close(g.release) }) }

func (g *gate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writes
}

// queueBehindFirst starts Write(first), waits until its request is held at the gate,
// starts a Write for each of rest, and waits until they all queue in the store. The
// returned channel gives the errors, first's first, once the gate is released.
func queueBehindFirst(t *testing.T, s *store.Store, g *gate, first store.Item, rest ...store.Item) []chan error {
	t.Helper()
	errs := make([]chan error, 1+len(rest))
	for i, it := range append([]store.Item{first}, rest...) {
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- s.Write(ctx(t), []store.Item{it}) }()
		if i == 0 {
			// A first write that ends before its request reaches the gate would leave the
			// test waiting for ever: say why instead.
			select {
			case <-g.held:
			case err := <-errs[0]:
				t.Fatalf("the first write ended before its request reached InfluxDB: %v", err)
			case <-time.After(60 * time.Second):
				t.Fatal("the first write's request did not reach InfluxDB within 60 s")
			}
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for store.Queued(s) < len(rest) {
		for i, ch := range errs[1:] {
			select {
			case err := <-ch:
				t.Fatalf("write %d ended before it queued behind the first (%d queued): %v", i+1, store.Queued(s), err)
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d writes queued after 30 s", store.Queued(s), len(rest))
		}
		time.Sleep(time.Millisecond)
	}
	return errs
}

func gatedStore(t *testing.T, base, bucket string) (*store.Store, *gate) {
	g := newGate(t, base)
	s, err := store.New(store.Config{URL: g.url, Bucket: bucket, Timeout: 30 * time.Second, Writes: 1, Linger: -1}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, g
}

// TestGroupCommitSharesWrites: writes that queue while another is in flight go to
// InfluxDB in one request, and each caller learns it was stored.
func TestGroupCommitSharesWrites(t *testing.T) {
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	s, g := gatedStore(t, url, bucket)
	var rest []store.Item
	for i := range 10 {
		rest = append(rest, item(full(fmt.Sprintf("site%d.example", i), t0.Add(time.Duration(i+1)*time.Second))))
	}
	errs := queueBehindFirst(t, s, g, item(measurementtest.Simple("example.com", t0)), rest...)
	g.open()
	for i, ch := range errs {
		if err := <-ch; err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if n := g.count(); n != 2 {
		t.Errorf("%d write requests, want 2 (the first, then the 10 queued behind it together)", n)
	}
	if n := influxtest.Count(t, url, bucket, "reach", "id"); n != 11 {
		t.Errorf("reach has %d points, want 11", n)
	}
}

// TestGroupCommitRefusalFailsOnlyItsCaller: when InfluxDB refuses a shared write, each
// caller's points are written alone: the caller with the refused point gets the refusal,
// the others are stored.
func TestGroupCommitRefusalFailsOnlyItsCaller(t *testing.T) {
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	db, _, _ := strings.Cut(bucket, "/")
	// reach.port is a string in t0's shard: InfluxDB refuses integers there.
	if err := writeLine(url, db, fmt.Sprintf(`reach,domain=example.com port="443" %d`, t0.Add(-time.Minute).UnixNano())); err != nil {
		t.Fatal(err)
	}
	elsewhere := t0.Add(-60 * 24 * time.Hour) // another shard
	s, g := gatedStore(t, url, bucket)
	errs := queueBehindFirst(t, s, g, item(measurementtest.Simple("a.example", elsewhere)),
		item(measurementtest.Simple("b.example", elsewhere.Add(time.Second))), item(measurementtest.Simple("refused.example", t0)), item(measurementtest.Simple("c.example", elsewhere.Add(2*time.Second))))
	g.open()
	for i, ch := range errs {
		err := <-ch
		switch {
		case i == 2 && (err == nil || errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "field type conflict")):
			t.Errorf("refused write: %v, want a field type conflict", err)
		case i != 2 && err != nil:
			t.Errorf("write %d: %v", i, err)
		}
	}
	if n := g.count(); n != 5 {
		t.Errorf("%d write requests, want 5 (the first, the shared one, then the 3 callers alone)", n)
	}
	if n := influxtest.Count(t, url, bucket, "reach", "id"); n != 3 {
		t.Errorf("reach has %d points, want 3", n)
	}
}

// TestGroupCommitUnavailableFailsEveryCaller: when InfluxDB is down, a shared write fails
// every caller in it as unavailable; nothing is stored.
func TestGroupCommitUnavailableFailsEveryCaller(t *testing.T) {
	in := influxtest.Start(t)
	bucket := in.NewBucket(t)
	s, g := gatedStore(t, in.URL(), bucket)
	var rest []store.Item
	for i := range 5 {
		rest = append(rest, item(measurementtest.Simple("example.com", t0.Add(time.Duration(i+1)*time.Second))))
	}
	errs := queueBehindFirst(t, s, g, item(measurementtest.Simple("example.com", t0)), rest...)
	in.Stop()
	g.open()
	for i, ch := range errs {
		if err := <-ch; !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("write %d: %v, want unavailable", i, err)
		}
	}
	in.Restart()
	if n := influxtest.Count(t, in.URL(), bucket, "reach", "id"); n != 0 {
		t.Errorf("reach has %d points, want none", n)
	}
}
