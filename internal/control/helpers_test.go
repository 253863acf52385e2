package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// observer is a real Observer for tests: it records each call and answers with
// observations derived from the target and addrs (no traffic). With block set, Observe
// waits until block is closed or ctx is done.
type observer struct {
	block   chan struct{}
	started chan string // if set, receives each target as Observe starts

	mu    sync.Mutex
	calls []call
}

type call struct {
	target string
	addrs  []string
}

func (o *observer) Observe(ctx context.Context, t target.Target, addrs []string) measurement.Observations {
	o.mu.Lock()
	o.calls = append(o.calls, call{t.String(), slices.Clone(addrs)})
	o.mu.Unlock()
	if o.started != nil {
		o.started <- t.String()
	}
	if o.block != nil {
		select {
		case <-o.block:
		case <-ctx.Done():
			return measurement.Observations{TCP: []measurement.TCPConnect{{IP: "192.0.2.1", Port: t.Port, Origin: measurement.OriginControl, Failure: measurement.Failure("interrupted")}}}
		}
	}
	return observationsFor(t, addrs)
}

// observationsFor is what the test observer answers: a DNS query for the domain and a
// connect to each address.
func observationsFor(t target.Target, addrs []string) measurement.Observations {
	obs := measurement.Observations{
		DNS: []measurement.DNSQuery{{
			Resolver: "udp://192.0.2.53:53", Transport: measurement.TransportUDP, Query: t.Domain, QType: "A",
			Rcode: "NOERROR", Answers: []measurement.DNSAnswer{{Name: t.Domain, Type: "A", TTL: 60, Data: "192.0.2.80"}},
			RTTMS: 1.5,
		}},
	}
	for _, a := range addrs {
		obs.TCP = append(obs.TCP, measurement.TCPConnect{IP: a, Port: t.Port, Origin: measurement.OriginProbe, TimeMS: 0.25})
	}
	return obs
}

func (o *observer) callList() []call {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.calls)
}

func (o *observer) count() int { return len(o.callList()) }

// serve runs h under /api/v1/control on a real listener and returns the endpoint URL.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/api/v1/control", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1/control"
}

// reply is a decoded answer of the handler.
type reply struct {
	status int
	header http.Header
	resp   Response
	err    string // the "error" member of an error answer
}

// post sends body to url and decodes the answer. It is safe to call from any goroutine.
func post(ctx context.Context, url, body string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return reply{}, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{status: res.StatusCode, header: res.Header}
	if res.StatusCode == http.StatusOK {
		err = json.Unmarshal(data, &r.resp)
	} else {
		var e struct {
			Error string `json:"error"`
		}
		err = json.Unmarshal(data, &e)
		r.err = e.Error
	}
	if err != nil {
		return r, fmt.Errorf("status %d, body %q: %w", res.StatusCode, data, err)
	}
	return r, nil
}

// mustPost is post for requests that must get an answer; a failure is reported as a
// test error and status -1. It is safe to call from any goroutine.
func mustPost(t *testing.T, url, body string) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := post(ctx, url, body)
	if err != nil {
		t.Errorf("POST %s: %v", body, err)
		r.status = -1
	}
	return r
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pending returns the handler's observations running or waiting.
func (h *handler) pendingCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pending
}

// waiters returns the number of requests waiting on the flight for key.
func (h *handler) waiters(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.flights[key]; f != nil {
		return f.waiters
	}
	return 0
}

// jsonDecode decodes a response body.
func jsonDecode(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }
