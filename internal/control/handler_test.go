package control

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

func TestHandlerRejectsBadRequests(t *testing.T) {
	obs := &observer{}
	url := serve(t, NewHandler(obs, HandlerOptions{Guard: Guard(nil)}, nil))
	addrs33 := `"` + strings.Repeat(`192.0.2.1","`, 32) + `192.0.2.2"`
	tests := []struct {
		name, body string
		status     int
		err        string
	}{
		{"empty", "", 400, "body: empty; want a JSON object"},
		{"truncated", `{"target":`, 400, "body: truncated JSON"},
		{"syntax", `{"target":}`, 400, "body: invalid JSON at byte 11: invalid character '}' looking for beginning of value"},
		{"unknown field", `{"target":"example.org","extra":1}`, 400, `body: unknown field "extra"`},
		{"target type", `{"target":5}`, 400, "target: got JSON number, want string"},
		{"addrs type", `{"target":"example.org","addrs":"192.0.2.1"}`, 400, "addrs: got JSON string, want []string"},
		{"addr type", `{"target":"example.org","addrs":[1]}`, 400, "addrs: got JSON number, want string"},
		{"not an object", `[]`, 400, "body: got JSON array, want an object"},
		{"two objects", `{"target":"example.org"} {}`, 400, "body: data after the JSON object"},
		{"no target", `{}`, 400, `target "": empty`},
		{"bad scheme", `{"target":"ftp://example.org/"}`, 400, `target "ftp://example.org/": unsupported scheme "ftp" (want http, https or tcp)`},
		{"bad domain", `{"target":"exa mple.org"}`, 400, `target "exa mple.org": not a domain; give a URL with a scheme`},
		{"bad addr", `{"target":"example.org","addrs":["192.0.2.1","2001:db8::1","x"]}`, 400, `addrs[2]: "x" is not an IP address`},
		{"addr with zone", `{"target":"example.org","addrs":["fe80::1%eth0"]}`, 400, `addrs[0]: "fe80::1%eth0" is not an IP address`},
		{"addr with port", `{"target":"example.org","addrs":["192.0.2.1:443"]}`, 400, `addrs[0]: "192.0.2.1:443" is not an IP address`},
		{"too many addrs", `{"target":"example.org","addrs":[` + addrs33 + `]}`, 400, "addrs: 33 addresses; at most 32"},
		{"oversized", `{"target":"` + strings.Repeat("a", MaxBody) + `"}`, 413, "body: larger than 65536 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustPost(t, url, tc.body)
			if r.status != tc.status || r.err != tc.err {
				t.Errorf("got %d %q, want %d %q", r.status, r.err, tc.status, tc.err)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	if n := obs.count(); n != 0 {
		t.Errorf("Observe called %d times for bad requests", n)
	}
}

func TestHandlerMethodNotAllowed(t *testing.T) {
	url := serve(t, NewHandler(&observer{}, HandlerOptions{}, nil))
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
		t.Errorf("got %d Allow %q, want 405 Allow POST", res.StatusCode, res.Header.Get("Allow"))
	}
	var e struct{ Error string }
	if err := jsonDecode(res, &e); err != nil || e.Error != "method GET not allowed; use POST" {
		t.Errorf("error %q (%v)", e.Error, err)
	}
}

func TestHandlerRefusesPrivateTargets(t *testing.T) {
	lab := []netip.Prefix{netip.MustParsePrefix("10.77.0.0/16")}
	obs := &observer{}
	url := serve(t, NewHandler(obs, HandlerOptions{Guard: Guard(lab)}, nil))
	for _, tc := range []struct{ target, addr string }{
		{"http://127.0.0.1/", "127.0.0.1"},
		{"10.1.2.3", "10.1.2.3"},
		{"http://169.254.169.254/latest/meta-data/", "169.254.169.254"},
		{"http://[::1]:8080/", "::1"},
		{"tcp://[fc00::1]:22", "fc00::1"},
		{"http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"},
		{"https://100.64.0.1/", "100.64.0.1"},
		{"tcp://0.0.0.0:22", "0.0.0.0"},
		{"http://[fe80::1%25eth0]/", "fe80::1%eth0"},
	} {
		r := mustPost(t, url, fmt.Sprintf(`{"target":%q}`, tc.target))
		want := "target: " + tc.addr + " is a private or reserved address; not measured"
		if r.status != http.StatusForbidden || r.err != want {
			t.Errorf("%s: got %d %q, want 403 %q", tc.target, r.status, r.err, want)
		}
	}
	if n := obs.count(); n != 0 {
		t.Fatalf("Observe called %d times for refused targets", n)
	}
	r := mustPost(t, url, `{"target":"http://10.77.0.10/"}`)
	if r.status != http.StatusOK || obs.count() != 1 {
		t.Errorf("lab target: got %d %q, %d calls; want 200 and 1 call", r.status, r.err, obs.count())
	}
}

func TestHandlerDropsPrivateAddrs(t *testing.T) {
	lab := []netip.Prefix{netip.MustParsePrefix("10.77.0.0/16")}
	obs := &observer{}
	url := serve(t, NewHandler(obs, HandlerOptions{Guard: Guard(lab)}, nil))
	r := mustPost(t, url, `{"target":"example.org","addrs":["192.0.2.1","127.0.0.1","10.1.2.3","169.254.169.254","::1","fc00::1","10.77.0.10","93.184.216.34"]}`)
	if r.status != http.StatusOK {
		t.Fatalf("got %d %q", r.status, r.err)
	}
	wantRefused := []string{
		"addrs[0]: 192.0.2.1 is a private or reserved address; not measured",
		"addrs[1]: 127.0.0.1 is a private or reserved address; not measured",
		"addrs[2]: 10.1.2.3 is a private or reserved address; not measured",
		"addrs[3]: 169.254.169.254 is a private or reserved address; not measured",
		"addrs[4]: ::1 is a private or reserved address; not measured",
		"addrs[5]: fc00::1 is a private or reserved address; not measured",
	}
	if !reflect.DeepEqual(r.resp.Refused, wantRefused) {
		t.Errorf("refused %q\nwant %q", r.resp.Refused, wantRefused)
	}
	wantCalls := []call{{"https://example.org/", []string{"10.77.0.10", "93.184.216.34"}}}
	if got := obs.callList(); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("calls %v, want %v", got, wantCalls)
	}
	// All refused: the helper still measures the target through its own DNS.
	r = mustPost(t, url, `{"target":"example.net","addrs":["10.10.34.36"]}`)
	if r.status != http.StatusOK || len(r.resp.Refused) != 1 || len(r.resp.DNS) != 1 {
		t.Errorf("all refused: got %d %q refused %q dns %v", r.status, r.err, r.resp.Refused, r.resp.DNS)
	}
}

func TestHandlerNoGuardAllowsAll(t *testing.T) {
	obs := &observer{}
	url := serve(t, NewHandler(obs, HandlerOptions{}, nil))
	r := mustPost(t, url, `{"target":"http://127.0.0.1/","addrs":["10.0.0.1"]}`)
	if r.status != http.StatusOK || r.resp.Refused != nil || obs.count() != 1 {
		t.Errorf("got %d %q refused %q, %d calls", r.status, r.err, r.resp.Refused, obs.count())
	}
}

func TestHandlerCaches(t *testing.T) {
	obs := &observer{}
	url := serve(t, NewHandler(obs, HandlerOptions{Guard: Guard(nil)}, nil))
	first := mustPost(t, url, `{"target":"EXAMPLE.org","addrs":["93.184.216.34","2606:2800:220:1::1"]}`)
	// Same target normalised, same addresses in another order, duplicated, IPv4-mapped.
	second := mustPost(t, url, `{"target":"https://example.org/","addrs":["2606:2800:220:1:0::1","::ffff:93.184.216.34","93.184.216.34"]}`)
	if first.status != 200 || second.status != 200 {
		t.Fatalf("status %d %q, %d %q", first.status, first.err, second.status, second.err)
	}
	if first.resp.Cached || !second.resp.Cached {
		t.Errorf("cached %v then %v, want false then true", first.resp.Cached, second.resp.Cached)
	}
	if !second.resp.MeasuredAt.Equal(first.resp.MeasuredAt) || first.resp.MeasuredAt.IsZero() {
		t.Errorf("measured_at %v then %v", first.resp.MeasuredAt, second.resp.MeasuredAt)
	}
	if !reflect.DeepEqual(first.resp.Observations, second.resp.Observations) {
		t.Errorf("cached observations differ:\n%+v\n%+v", first.resp.Observations, second.resp.Observations)
	}
	wantCalls := []call{{"https://example.org/", []string{"2606:2800:220:1::1", "93.184.216.34"}}}
	if got := obs.callList(); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("calls %v, want %v", got, wantCalls)
	}
	// Other addresses or another target are other observations.
	mustPost(t, url, `{"target":"example.org","addrs":["93.184.216.34"]}`)
	mustPost(t, url, `{"target":"http://example.org/","addrs":["93.184.216.34","2606:2800:220:1::1"]}`)
	if n := obs.count(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
}

func TestHandlerCacheExpiresAndDisables(t *testing.T) {
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{{"tiny TTL", time.Nanosecond}, {"disabled", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			obs := &observer{}
			url := serve(t, NewHandler(obs, HandlerOptions{CacheTTL: tc.ttl}, nil))
			for i := range 2 {
				r := mustPost(t, url, `{"target":"example.org"}`)
				if r.status != 200 || r.resp.Cached {
					t.Errorf("request %d: %d %q cached %v", i, r.status, r.err, r.resp.Cached)
				}
			}
			if n := obs.count(); n != 2 {
				t.Errorf("%d calls, want 2", n)
			}
		})
	}
}

func TestHandlerCacheEvictsOldest(t *testing.T) {
	obs := &observer{}
	url := serve(t, NewHandler(obs, HandlerOptions{CacheEntries: 2}, nil))
	for _, d := range []string{"a.example", "b.example", "c.example", "a.example", "c.example"} {
		mustPost(t, url, fmt.Sprintf(`{"target":%q}`, d))
	}
	// a evicted by c; a again evicts b; c is still cached.
	var got []string
	for _, c := range obs.callList() {
		got = append(got, c.target)
	}
	want := []string{"https://a.example/", "https://b.example/", "https://c.example/", "https://a.example/"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestHandlerSharesConcurrentIdenticalRequests(t *testing.T) {
	obs := &observer{block: make(chan struct{}), started: make(chan string, 10)}
	h := NewHandler(obs, HandlerOptions{CacheTTL: -1}, nil).(*handler)
	url := serve(t, h)
	const n = 5
	replies := make(chan reply, n)
	for range n {
		go func() { replies <- mustPost(t, url, `{"target":"example.org","addrs":["192.0.2.7"]}`) }()
	}
	<-obs.started
	waitFor(t, "5 requests on one observation", func() bool { return h.waiters("https://example.org/ 192.0.2.7") == n })
	close(obs.block)
	for range n {
		r := <-replies
		if r.status != 200 || r.resp.Cached || len(r.resp.TCP) != 1 {
			t.Errorf("got %d %q cached %v tcp %v", r.status, r.err, r.resp.Cached, r.resp.TCP)
		}
	}
	if c := obs.count(); c != 1 {
		t.Errorf("Observe called %d times, want 1", c)
	}
}

func TestHandlerLimitsConcurrency(t *testing.T) {
	obs := &observer{block: make(chan struct{}), started: make(chan string, 10)}
	h := NewHandler(obs, HandlerOptions{MaxConcurrent: 1, MaxQueue: 1}, nil).(*handler)
	url := serve(t, h)
	replies := make(chan reply, 3)
	go func() { replies <- mustPost(t, url, `{"target":"a.example"}`) }()
	if got := <-obs.started; got != "https://a.example/" {
		t.Fatalf("started %q", got)
	}
	go func() { replies <- mustPost(t, url, `{"target":"b.example"}`) }()
	waitFor(t, "b queued", func() bool { return h.pendingCount() == 2 })
	if c := obs.count(); c != 1 {
		t.Fatalf("Observe called %d times while b waits, want 1", c)
	}
	// The queue is full: a third target is refused, but a request joining a is not.
	r := mustPost(t, url, `{"target":"c.example"}`)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" ||
		r.err != "too many observations in progress; retry shortly" {
		t.Errorf("c: got %d Retry-After %q %q", r.status, r.header.Get("Retry-After"), r.err)
	}
	go func() { replies <- mustPost(t, url, `{"target":"a.example"}`) }()
	waitFor(t, "second request on a", func() bool { return h.waiters("https://a.example/ ") == 2 })
	close(obs.block)
	if got := <-obs.started; got != "https://b.example/" {
		t.Errorf("started %q, want b", got)
	}
	for range 3 {
		if r := <-replies; r.status != 200 {
			t.Errorf("got %d %q", r.status, r.err)
		}
	}
	if c := obs.count(); c != 2 {
		t.Errorf("Observe called %d times, want 2", c)
	}
}

func TestHandlerAbandonedObservationIsCancelledAndNotCached(t *testing.T) {
	obs := &observer{block: make(chan struct{}), started: make(chan string, 10)}
	h := NewHandler(obs, HandlerOptions{MaxConcurrent: 1}, nil).(*handler)
	url := serve(t, h)

	ctxA, cancelA := context.WithCancel(context.Background())
	errA := make(chan error, 1)
	go func() { _, err := post(ctxA, url, `{"target":"a.example"}`); errA <- err }()
	<-obs.started
	ctxB, cancelB := context.WithCancel(context.Background())
	errB := make(chan error, 1)
	go func() { _, err := post(ctxB, url, `{"target":"b.example"}`); errB <- err }()
	waitFor(t, "b queued", func() bool { return h.pendingCount() == 2 })

	cancelB() // b leaves the queue without being observed
	if err := <-errB; err == nil {
		t.Error("b: no error after cancel")
	}
	waitFor(t, "b gone", func() bool { return h.pendingCount() == 1 })
	cancelA() // a's observation is cancelled: the observer sees ctx done
	if err := <-errA; err == nil {
		t.Error("a: no error after cancel")
	}
	waitFor(t, "a gone", func() bool { return h.pendingCount() == 0 })
	if got := obs.callList(); len(got) != 1 || got[0].target != "https://a.example/" {
		t.Fatalf("calls %v, want only a", got)
	}
	// The interrupted observation was not cached: a is observed again.
	close(obs.block)
	r := mustPost(t, url, `{"target":"a.example"}`)
	if r.status != 200 || r.resp.Cached || len(r.resp.DNS) != 1 || obs.count() != 2 {
		t.Errorf("got %d %q cached %v dns %v, %d calls", r.status, r.err, r.resp.Cached, r.resp.DNS, obs.count())
	}
}

// panicker is an Observer that panics.
type panicker struct{}

func (panicker) Observe(context.Context, target.Target, []string) measurement.Observations {
	panic("boom")
}

// emptyObserver observes nothing.
type emptyObserver struct{}

func (emptyObserver) Observe(context.Context, target.Target, []string) measurement.Observations {
	return measurement.Observations{}
}

func TestHandlerObserverPanic(t *testing.T) {
	url := serve(t, NewHandler(panicker{}, HandlerOptions{}, nil))
	for range 2 { // not cached, and the handler survives
		r := mustPost(t, url, `{"target":"example.org"}`)
		if r.status != http.StatusInternalServerError || r.err != "observation failed" {
			t.Errorf("got %d %q", r.status, r.err)
		}
	}
}

func TestHandlerEmptyListsEncodeAsArrays(t *testing.T) {
	h := NewHandler(emptyObserver{}, HandlerOptions{}, nil)
	url := serve(t, h)
	res, err := http.Post(url, "application/json", strings.NewReader(`{"target":"example.org"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	if err := jsonDecode(res, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"dns", "tcp", "tls", "http"} {
		if l, ok := m[k].([]any); !ok || len(l) != 0 {
			t.Errorf("%s: %#v, want []", k, m[k])
		}
	}
	if _, ok := m["refused"]; ok {
		t.Errorf("refused present without refusals: %v", m)
	}
}
