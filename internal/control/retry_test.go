package control

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"1", time.Second},
		{" 7 ", 7 * time.Second},
		{"120", 2 * time.Minute},
		{"86400", maxRetryAfter}, // capped
		{"0", defaultRetryAfter}, // never at once
		{"-5", defaultRetryAfter},
		{"", defaultRetryAfter},
		{"soon", defaultRetryAfter},
		{"1.5", defaultRetryAfter},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), defaultRetryAfter}, // past
		{now.Add(24 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
	} {
		if got := RetryAfter(tc.v, now); got != tc.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestJitter(t *testing.T) {
	for _, d := range []time.Duration{0, time.Millisecond, time.Second, 8 * time.Second} {
		seen := map[time.Duration]bool{}
		for range 200 {
			got := jitter(d)
			if got < d || got > d+d/2 {
				t.Fatalf("jitter(%v) = %v, want in [d, 1.5d]", d, got)
			}
			seen[got] = true
		}
		if d >= time.Second && len(seen) < 100 {
			t.Errorf("jitter(%v): only %d distinct waits of 200", d, len(seen))
		}
	}
}

// busyThen answers 503 with the Retry-After given for the first n requests, then hands
// over to h. It counts the requests.
type busyThen struct {
	n, seen    atomic.Int64
	retryAfter string
	h          http.Handler
}

func (b *busyThen) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.seen.Add(1) <= b.n.Load() {
		w.Header().Set("Retry-After", b.retryAfter)
		http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
		return
	}
	b.h.ServeHTTP(w, r)
}

func newBusyThen(n int64, retryAfter string, h http.Handler) *busyThen {
	b := &busyThen{retryAfter: retryAfter, h: h}
	b.n.Store(n)
	return b
}

// TestClientRetriesBusyHelper: a lone helper answers 503 with Retry-After twice; the
// client waits as told (jittered) and is answered on the third attempt, within the
// target's deadline, all attempts recorded.
func TestClientRetriesBusyHelper(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string
		minWait    time.Duration
	}{
		{"seconds", "1", 2 * time.Second},
		{"no header", "", 2 * defaultRetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBusyThen(2, tc.retryAfter, NewHandler(&observer{}, HandlerOptions{}, nil))
			url := serve(t, b)
			c, err := NewClient([]string{url}, nil, 5*time.Second, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			got := c.Control(ctx, mustTarget(t, "example.org"), nil)
			took := time.Since(start)
			want := []string{url + " control_http_status_503", url + " control_http_status_503", url + " ok"}
			if !reflect.DeepEqual(attempts(got), want) || got.Failure != nil || got.Helper != url {
				t.Fatalf("attempts %q failure %v helper %q\nwant %q", attempts(got), got.Failure, got.Helper, want)
			}
			if took < tc.minWait || took > 2*tc.minWait {
				t.Errorf("took %v, want the Retry-After twice, jittered: %v..%v", took, tc.minWait, 2*tc.minWait)
			}
			st := c.Stats()
			if st.Targets != 1 || st.Attempts != 3 || st.Busy != 2 || st.Retried != 1 || st.Failed != 0 || st.Summary() != "" {
				t.Errorf("stats %+v summary %q", st, st.Summary())
			}
		})
	}
}

// TestClientSpreadsOverHelpers: while the first helper is in its Retry-After, requests go
// to the second one at once, and the first is asked again once the time has passed.
func TestClientSpreadsOverHelpers(t *testing.T) {
	obs1, obs2 := &observer{}, &observer{}
	busy := newBusyThen(1, "2", NewHandler(obs1, HandlerOptions{}, nil))
	url1, url2 := serve(t, busy), serve(t, NewHandler(obs2, HandlerOptions{}, nil))
	c, err := NewClient([]string{url1, url2}, nil, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Control(context.Background(), mustTarget(t, "a.example"), nil)
	if want := []string{url1 + " control_http_status_503", url2 + " ok"}; !reflect.DeepEqual(attempts(got), want) {
		t.Errorf("first target: attempts %q, want %q", attempts(got), want)
	}
	for _, name := range []string{"b.example", "c.example"} {
		got = c.Control(context.Background(), mustTarget(t, name), nil)
		if want := []string{url2 + " ok"}; !reflect.DeepEqual(attempts(got), want) {
			t.Errorf("%s during the Retry-After: attempts %q, want %q", name, attempts(got), want)
		}
	}
	if n := busy.seen.Load(); n != 1 {
		t.Errorf("busy helper asked %d times during its Retry-After, want 1", n)
	}
	time.Sleep(2 * time.Second)
	got = c.Control(context.Background(), mustTarget(t, "d.example"), nil)
	if want := []string{url1 + " ok"}; !reflect.DeepEqual(attempts(got), want) {
		t.Errorf("after the Retry-After: attempts %q, want %q", attempts(got), want)
	}
	if obs1.count() != 1 || obs2.count() != 3 {
		t.Errorf("observations: helper 1 %d, helper 2 %d; want 1 and 3", obs1.count(), obs2.count())
	}
	if st := c.Stats(); st.Busy != 1 || st.Retried != 1 || st.Targets != 4 || st.Attempts != 5 {
		t.Errorf("stats %+v", st)
	}
}

// TestClientGivesUpAtDeadline: a helper that stays busy is asked again only while the
// target's deadline leaves time; the target then has no control, and the stats say why.
func TestClientGivesUpAtDeadline(t *testing.T) {
	b := newBusyThen(1000, "1", nil)
	url := serve(t, b)
	c, err := NewClient([]string{url}, nil, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), minRemaining+1600*time.Millisecond)
	defer cancel()
	start := time.Now()
	got := c.Control(ctx, mustTarget(t, "example.org"), nil)
	if got.Failure == nil || *got.Failure != FailureUnavailable {
		t.Fatalf("failure %v, want %s", got.Failure, FailureUnavailable)
	}
	// Round 1 at once, round 2 after 1-1.5 s; a third would leave under minRemaining.
	if n := len(got.Attempts); n != 2 {
		t.Errorf("%d attempts %q, want 2", n, attempts(got))
	}
	if took := time.Since(start); took > 1600*time.Millisecond {
		t.Errorf("took %v: waited past what the deadline allows", took)
	}
	st := c.Stats()
	if st.Failed != 1 || st.Busy != 2 || !reflect.DeepEqual(st.Reasons, map[string]int64{"control_http_status_503": 1}) {
		t.Errorf("stats %+v", st)
	}
	want := "1 of 1 targets without a control: 1 control_http_status_503 (helper busy: "
	if sum := st.Summary(); !strings.HasPrefix(sum, want) {
		t.Errorf("summary %q, want prefix %q", sum, want)
	}
}

// TestClientBaseURL: a helper URL without a path (or "/") means its control endpoint.
func TestClientBaseURL(t *testing.T) {
	url := serve(t, NewHandler(&observer{}, HandlerOptions{}, nil))
	base := strings.TrimSuffix(url, DefaultPath)
	for _, given := range []string{base, base + "/", url} {
		c, err := NewClient([]string{given}, nil, 5*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := c.Control(context.Background(), mustTarget(t, "example.org"), nil)
		if got.Failure != nil || got.Helper != url {
			t.Errorf("--control %s: failure %v helper %q attempts %q; want the answer of %s", given, got.Failure, got.Helper, attempts(got), url)
		}
	}
}

// TestClientNotFound: a helper URL that is not a control endpoint (404) fails at once,
// is not asked again for the target, and is named in the stats.
func TestClientNotFound(t *testing.T) {
	url := serve(t, NewHandler(&observer{}, HandlerOptions{}, nil))
	wrong := strings.TrimSuffix(url, DefaultPath) + "/control"
	c, err := NewClient([]string{wrong}, nil, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 2 {
		got := c.Control(context.Background(), mustTarget(t, "example.org"), nil)
		if want := []string{wrong + " control_http_status_404"}; !reflect.DeepEqual(attempts(got), want) || got.Failure == nil {
			t.Errorf("attempts %q failure %v, want %q and a failure", attempts(got), got.Failure, want)
		}
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v: a 404 was retried", took)
	}
	st := c.Stats()
	if !reflect.DeepEqual(st.NotFound, []string{wrong}) || st.Failed != 2 || st.Busy != 0 {
		t.Errorf("stats %+v", st)
	}
	if sum := st.Summary(); !strings.Contains(sum, "2 control_http_status_404 (not a control endpoint") {
		t.Errorf("summary %q", sum)
	}
}

// TestHandlerFleetDefaults: without options a helper runs DefaultMaxConcurrent
// observations and queues DefaultQueuePerSlot per slot (docs/control.md, "Sizing").
func TestHandlerFleetDefaults(t *testing.T) {
	h := NewHandler(&observer{}, HandlerOptions{}, nil).(*handler)
	if cap(h.slots) != 256 || h.maxPending != 256+4*256 || h.maxAnon != h.maxPending {
		t.Errorf("slots %d, running+queued %d, anonymous %d; want 256, 1280, 1280", cap(h.slots), h.maxPending, h.maxAnon)
	}
}

// TestClientNotAskedWhileBusy: when every helper is in its Retry-After and the target's
// deadline ends first, the target is not sent at all, and the stats say why.
func TestClientNotAskedWhileBusy(t *testing.T) {
	b := newBusyThen(1000, "30", nil)
	url := serve(t, b)
	c, err := NewClient([]string{url}, nil, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if got := c.Control(ctx, mustTarget(t, "a.example"), nil); len(got.Attempts) != 1 || got.Failure == nil {
		t.Fatalf("first target: attempts %q failure %v", attempts(got), got.Failure)
	}
	got := c.Control(ctx, mustTarget(t, "b.example"), nil)
	if len(got.Attempts) != 0 || got.Failure == nil || b.seen.Load() != 1 {
		t.Errorf("second target: attempts %q failure %v after %d requests; want none sent", attempts(got), got.Failure, b.seen.Load())
	}
	st := c.Stats()
	want := map[string]int64{"control_http_status_503": 1, reasonNotAsked: 1}
	if !reflect.DeepEqual(st.Reasons, want) || !strings.Contains(st.Summary(), "1 not_asked_helpers_busy (every helper was busy until the target's deadline)") {
		t.Errorf("reasons %v summary %q", st.Reasons, st.Summary())
	}
}

// TestClientRetriesFailingHelper: a helper that fails with 500 is asked again after a
// short backoff while the deadline allows, and a helper that refuses the request (400)
// is not.
func TestClientRetriesFailingHelper(t *testing.T) {
	for _, tc := range []struct {
		code int
		want int // attempts
	}{
		{http.StatusInternalServerError, 2},
		{http.StatusBadRequest, 1},
	} {
		var seen atomic.Int64
		url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if seen.Add(1) == 1 {
				http.Error(w, "no", tc.code)
				return
			}
			NewHandler(&observer{}, HandlerOptions{}, nil).ServeHTTP(w, r)
		}))
		c, err := NewClient([]string{url}, nil, 5*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		got := c.Control(ctx, mustTarget(t, "example.org"), nil)
		cancel()
		if len(got.Attempts) != tc.want || (tc.want == 2) != (got.Failure == nil) {
			t.Errorf("%d: attempts %q failure %v; want %d attempts", tc.code, attempts(got), got.Failure, tc.want)
		}
	}
}

// TestClientDeadHelperFailsFast: a helper that refuses connections is tried twice, not
// until the target's deadline, so a dead helper does not hold every target's slot.
func TestClientDeadHelperFailsFast(t *testing.T) {
	url := refusedURL(t)
	c, err := NewClient([]string{url}, nil, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	got := c.Control(ctx, mustTarget(t, "example.org"), nil)
	if want := []string{url + " connection_refused", url + " connection_refused"}; !reflect.DeepEqual(attempts(got), want) || got.Failure == nil {
		t.Errorf("attempts %q failure %v, want %q", attempts(got), got.Failure, want)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
}

// TestHandlerBusyLogsAtMostOnceASecond: a saturated helper counts every 503 but logs one
// line a second, with how many it refused since the last.
func TestHandlerBusyLogsAtMostOnceASecond(t *testing.T) {
	var logs lockedLog
	obs := &observer{block: make(chan struct{}), started: make(chan string, 1)}
	m := &Metrics{}
	h := NewHandler(obs, HandlerOptions{MaxConcurrent: 1, MaxQueue: 1, Metrics: m}, slog.New(slog.NewTextHandler(&logs, nil))).(*handler)
	url := serve(t, h)
	done := make(chan struct{})
	go func() { mustPost(t, url, `{"target":"a.example"}`); close(done) }()
	<-obs.started
	go func() { mustPost(t, url, `{"target":"b.example"}`) }()
	waitFor(t, "b queued", func() bool { return h.pendingCount() == 2 })
	for i := range 20 {
		if r := mustPost(t, url, fmt.Sprintf(`{"target":"c%d.example"}`, i)); r.status != http.StatusServiceUnavailable {
			t.Fatalf("c%d: %d", i, r.status)
		}
	}
	if n := strings.Count(logs.String(), "control helper busy"); n != 1 || m.Busy.Load() != 20 {
		t.Errorf("%d busy log lines for %d refusals, want 1 for 20:\n%s", n, m.Busy.Load(), logs.String())
	}
	h.busyAt.Store(time.Now().Add(-2 * time.Second).UnixNano()) // a second later
	mustPost(t, url, `{"target":"d.example"}`)
	if !strings.Contains(logs.String(), "refused_since_last_log=20") {
		t.Errorf("second line does not count the refusals since the first:\n%s", logs.String())
	}
	close(obs.block)
	<-done
}

// lockedLog is a log destination safe for the handler's goroutines.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
