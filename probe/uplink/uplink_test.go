package uplink

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

func batch(n int) []*measurement.Measurement {
	out := make([]*measurement.Measurement, n)
	for i := range out {
		out[i] = &measurement.Measurement{ID: measurement.NewID(), Target: "https://t.me/"}
	}
	return out
}

// collector answers with the scripted statuses in order, then accepts everything; it
// checks the request's encoding and token.
func collector(t *testing.T, script ...int) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		if r.URL.Path != "/api/v1/measurements" || r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Encoding") != "gzip" {
			http.Error(w, `{"error":"bad request shape"}`, http.StatusTeapot)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		var items []json.RawMessage
		if err := json.NewDecoder(zr).Decode(&items); err != nil {
			t.Error(err)
		}
		if n <= len(script) {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(script[n-1])
			fmt.Fprintf(w, `{"error":"scripted %d"}`, script[n-1])
			return
		}
		var res []string
		for i := range items {
			st := `"accepted"`
			if i == 1 {
				st = `"rejected","error":"measurements[1]: verdict.status: bad"`
			}
			res = append(res, fmt.Sprintf(`{"index":%d,"status":%s}`, i, st))
		}
		fmt.Fprintf(w, `{"accepted":%d,"rejected":1,"items":[%s]}`, len(items)-1, strings.Join(res, ","))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestSubmit(t *testing.T) {
	tests := []struct {
		name     string
		script   []int
		calls    int32
		rejected bool // ErrRejected
		failed   bool // other error
		accepted int
	}{
		{name: "accepted, one item rejected with its reason", calls: 1, accepted: 2},
		{name: "503 then 429 then 408 are retried", script: []int{503, 429, 408}, calls: 4, accepted: 2},
		{name: "400 is not retried", script: []int{400}, calls: 1, rejected: true},
		{name: "401 is not retried", script: []int{401}, calls: 1, rejected: true},
		{name: "still 503 after the retries", script: []int{503, 503, 503, 503}, calls: 4, failed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := collector(t, tc.script...)
			c, err := New(Options{Collector: srv.URL, Token: "tok", Retries: 3, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			b := batch(3)
			res, err := c.Submit(context.Background(), b)
			switch {
			case tc.rejected:
				if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "scripted") {
					t.Fatalf("err = %v, want ErrRejected with the collector's message", err)
				}
			case tc.failed:
				if err == nil || errors.Is(err, ErrRejected) {
					t.Fatalf("err = %v, want a retryable failure", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Accepted) != tc.accepted || len(res.Rejected) != 1 || res.Rejected[0].ID != b[1].ID || !strings.Contains(res.Rejected[0].Reason, "verdict.status") {
					t.Fatalf("result = %+v", res)
				}
			}
			if got := calls.Load(); got != tc.calls {
				t.Errorf("%d requests, want %d", got, tc.calls)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Options{Collector: "collector.example", Token: "x"}); err == nil || err.Error() != `collector URL "collector.example": want an absolute http or https URL` {
		t.Errorf("err = %v", err)
	}
	if _, err := New(Options{Collector: "https://c.example", Token: ""}); err == nil || err.Error() != "collector token: empty" {
		t.Errorf("err = %v", err)
	}
}
