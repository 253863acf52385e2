package uplink

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
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
		blocked  bool // ErrBlocked
		failed   bool // other error
		accepted int
	}{
		{name: "accepted, one item rejected with its reason", calls: 1, accepted: 2},
		{name: "503 then 429 then 408 are retried", script: []int{503, 429, 408}, calls: 4, accepted: 2},
		{name: "400 is not retried", script: []int{400}, calls: 1, blocked: true},
		{name: "401 is not retried", script: []int{401}, calls: 1, blocked: true},
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
			case tc.blocked:
				if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), "scripted") || len(res.Accepted)+len(res.Rejected) != 0 {
					t.Fatalf("err = %v, result %+v; want ErrBlocked with the collector's message and nothing settled", err, res)
				}
			case tc.failed:
				if err == nil || errors.Is(err, ErrBlocked) {
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

// answering is a collector that answers every submission with status, headers and body.
func answering(t *testing.T, status int, header map[string]string, body string) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// TestSubmitRefusals: an answer about the request as a whole, from the collector or from
// something in front of it, says nothing about the items: nothing is settled, the error
// matches ErrBlocked (kept and tried later) or not (unavailable: retried sooner), and it
// names the status and the message, made one clean line.
func TestSubmitRefusals(t *testing.T) {
	const ep = "/api/v1/measurements"
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		blocked bool
		calls   int32
		want    string // the error after "POST URL"
	}{
		{"expired token", 401, nil, `{"error":"token expired at 2025-01-01T00:00:00Z"}`, true, 1,
			": 401 Unauthorized: token expired at 2025-01-01T00:00:00Z"},
		{"revoked token", 401, nil, `{"error":"token revoked"}`, true, 1, ": 401 Unauthorized: token revoked"},
		{"forbidden", 403, nil, `{"error":"uploads disabled"}`, true, 1, ": 403 Forbidden: uploads disabled"},
		{"a proxy's 404 page", 404, map[string]string{"Content-Type": "text/html"}, "<html>\r\n<h1>Not\tFound</h1>\x00\x1b[31m</html>\n", true, 1,
			": 404 Not Found: <html> <h1>Not Found</h1> [31m</html>"},
		{"method not allowed", 405, nil, "", true, 1, ": 405 Method Not Allowed"},
		{"request-level conflict", 409, nil, `{"error":"x"}`, true, 1, ": 409 Conflict: x"},
		{"unsupported encoding", 415, nil, `{"error":"Content-Encoding \"gzip\" is not supported"}`, true, 1,
			`: 415 Unsupported Media Type: Content-Encoding "gzip" is not supported`},
		{"unreadable body", 400, nil, `{"error":"body: bad gzip: unexpected EOF"}`, true, 1, ": 400 Bad Request: body: bad gzip: unexpected EOF"},
		{"unknown 4xx", 451, nil, "censored", true, 1, ": 451 Unavailable For Legal Reasons: censored"},
		{"invalid UTF-8 in a body", 403, nil, "a\xff\xfeb", true, 1, ": 403 Forbidden: a?b"},
		{"storage down", 503, map[string]string{"Retry-After": "0"}, `{"error":"storage unavailable"}`, false, 3,
			": 503 Service Unavailable: storage unavailable"},
		{"rate limited", 429, map[string]string{"Retry-After": "0"}, `{"error":"slow down"}`, false, 3, ": 429 Too Many Requests: slow down"},
		{"timeout", 408, nil, "", false, 3, ": 408 Request Timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := answering(t, tc.status, tc.header, tc.body)
			c, err := New(Options{Collector: srv.URL, Token: "tok", Retries: 2, MinWait: time.Millisecond, MaxWait: 2 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Submit(context.Background(), batch(3))
			if want := "POST " + srv.URL + ep + tc.want; err == nil || err.Error() != want {
				t.Fatalf("err = %v\nwant %s", err, want)
			}
			if errors.Is(err, ErrBlocked) != tc.blocked {
				t.Errorf("errors.Is(err, ErrBlocked) = %v, want %v", !tc.blocked, tc.blocked)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tc.status {
				t.Errorf("err %T is not a *StatusError with code %d", err, tc.status)
			}
			if len(res.Accepted)+len(res.Rejected) != 0 {
				t.Errorf("result %+v: an answer about the request settled items", res)
			}
			if got := calls.Load(); got != tc.calls {
				t.Errorf("%d requests, want %d", got, tc.calls)
			}
		})
	}
}

// TestSubmitItemAnswers: only an answer about an item is final for it; an answer this
// probe cannot read settles nothing.
func TestSubmitItemAnswers(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		accepted int
		rejected []string // reasons
		err      string
	}{
		{"one rejected", 200, `{"items":[{"index":0,"status":"accepted"},{"index":1,"status":"rejected","error":"measurements[1]: id: bad"}]}`,
			1, []string{"measurements[1]: id: bad"}, ""},
		{"all rejected (422)", 422, `{"items":[{"index":0,"status":"rejected","error":"a"},{"index":1,"status":"rejected","error":"b"}]}`,
			0, []string{"a", "b"}, ""},
		{"per-item conflict is final", 207, `{"items":[{"index":0,"status":"accepted"},{"index":1,"status":"conflict","error":"measurements[1]: another measurement is stored under this id"}]}`,
			1, []string{"conflict: measurements[1]: another measurement is stored under this id"}, ""},
		{"every item a conflict (409)", 409, `{"items":[{"index":0,"status":"conflict","error":"a"},{"index":1,"status":"conflict","error":"b"}],"error":"a (and 1 more)"}`,
			0, []string{"conflict: a", "conflict: b"}, ""},
		{"unknown item status", 200, `{"items":[{"index":0,"status":"accepted"},{"index":1,"status":"later"}]}`,
			0, nil, `collector answer: item 1: status "later" is not accepted, rejected or conflict`},
		{"item answered twice", 200, `{"items":[{"index":0,"status":"accepted"},{"index":0,"status":"rejected"}]}`,
			0, nil, "collector answer: item index 0 given twice"},
		{"index out of range", 200, `{"items":[{"index":0,"status":"accepted"},{"index":2,"status":"rejected"}]}`,
			0, nil, "collector answer: item index 2 out of range"},
		{"too few items", 200, `{"items":[{"index":0,"status":"accepted"}]}`, 0, nil, "collector answer: 1 items for a batch of 2 (<nil>)"},
		{"a captive portal's 200", 200, `<html>log in</html>`, 0, nil,
			"collector answer: 0 items for a batch of 2 (invalid character '<' looking for beginning of value)"},
		{"422 without items", 422, `{"error":"heartbeat: x"}`, 0, nil, "collector answer: 0 items for a batch of 2 (<nil>)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := answering(t, tc.status, nil, tc.body)
			c, err := New(Options{Collector: srv.URL, Token: "tok", Retries: 1, MinWait: time.Millisecond, MaxWait: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Submit(context.Background(), batch(2))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.err || errors.Is(err, ErrBlocked) {
				t.Fatalf("err = %q, want %q (not ErrBlocked)", got, tc.err)
			}
			var reasons []string
			for _, r := range res.Rejected {
				reasons = append(reasons, r.Reason)
			}
			if len(res.Accepted) != tc.accepted || strings.Join(reasons, "|") != strings.Join(tc.rejected, "|") {
				t.Errorf("result %+v, want %d accepted and rejections %q", res, tc.accepted, tc.rejected)
			}
		})
	}
}

// TestSubmitSplits413: a collector that takes at most 3 items a request, and never one
// particular item, gets the batch in halves: everything else arrives exactly once, and
// the item that is too large on its own is rejected with the collector's reason.
func TestSubmitSplits413(t *testing.T) {
	b := batch(10)
	huge := b[6].ID
	var mu sync.Mutex
	got := map[string]int{}
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		var items []measurement.Measurement
		if err := json.NewDecoder(zr).Decode(&items); err != nil {
			t.Error(err)
		}
		mu.Lock()
		defer mu.Unlock()
		requests++
		tooLarge := len(items) > 3
		for _, m := range items {
			tooLarge = tooLarge || m.ID == huge
		}
		if tooLarge {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			fmt.Fprint(w, `{"error":"body: larger than 1024 bytes"}`)
			return
		}
		var res []string
		for i, m := range items {
			got[m.ID]++
			res = append(res, fmt.Sprintf(`{"index":%d,"status":"accepted"}`, i))
		}
		fmt.Fprintf(w, `{"items":[%s]}`, strings.Join(res, ","))
	}))
	defer srv.Close()
	c, err := New(Options{Collector: srv.URL, Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Submit(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	want := []Rejection{{ID: huge, Reason: "too large for the collector: 413 Request Entity Too Large: body: larger than 1024 bytes"}}
	if len(res.Accepted) != 9 || !reflect.DeepEqual(res.Rejected, want) {
		t.Fatalf("result %+v, want 9 accepted and %+v", res, want)
	}
	for _, m := range b {
		if n := got[m.ID]; (m.ID == huge && n != 0) || (m.ID != huge && n != 1) {
			t.Errorf("%s stored %d times", m.ID, n)
		}
	}
	// 10 (413) → 5 (413) → 2, 3; 5 (413) → 2 with the huge item (413) → 1, 1 (413); 3.
	if requests != 9 {
		t.Errorf("%d requests, want 9", requests)
	}
}
