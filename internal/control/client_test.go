package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// recorder wraps a handler and records the Authorization header and body of each request.
type recorder struct {
	h http.Handler

	mu     sync.Mutex
	auth   []string
	bodies []Request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req Request
	data, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(data, &req)
	rec.mu.Lock()
	rec.auth = append(rec.auth, r.Header.Get("Authorization"))
	rec.bodies = append(rec.bodies, req)
	rec.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(data))
	rec.h.ServeHTTP(w, r)
}

func (rec *recorder) requests() ([]string, []Request) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.auth...), append([]Request(nil), rec.bodies...)
}

// start serves h on a real listener and returns its recorder and endpoint URL.
func start(t *testing.T, h http.Handler) (*recorder, string) {
	t.Helper()
	rec := &recorder{h: h}
	return rec, serve(t, rec)
}

func status(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "no", code)
	})
}

// hang answers only when the client has gone (or the test ends).
func hang(t *testing.T) http.Handler {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) }) // runs before the server's Close
	return http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
}

// refusedURL returns an endpoint whose port is bound but not listening, so connecting is
// refused and no other test can take the port meanwhile.
func refusedURL(t *testing.T) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d/api/v1/control", sa.(*syscall.SockaddrInet4).Port)
}

func mustTarget(t *testing.T, s string) target.Target {
	t.Helper()
	tg, err := target.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// attempts summarises a Control's attempts as "URL failure".
func attempts(c *measurement.Control) []string {
	var out []string
	for _, a := range c.Attempts {
		f := "ok"
		if a.Failure != nil {
			f = *a.Failure
		}
		out = append(out, a.Helper+" "+f)
	}
	return out
}

func TestClientFailsOver(t *testing.T) {
	rec1, url1 := start(t, status(http.StatusInternalServerError))
	rec2, url2 := start(t, hang(t))
	obs := &observer{}
	rec3, url3 := start(t, NewHandler(obs, HandlerOptions{Guard: Guard(nil)}, nil))
	c, err := NewClient([]string{url1, url2, url3}, nil, 3*time.Second, nil, WithToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 3 {
		t.Errorf("Len %d", c.Len())
	}
	tg := mustTarget(t, "Example.ORG")
	got := c.Control(context.Background(), tg, []string{"93.184.216.34"})
	want := []string{url1 + " control_http_status_500", url2 + " generic_timeout_error", url3 + " ok"}
	if !reflect.DeepEqual(attempts(got), want) {
		t.Errorf("attempts %q\nwant %q", attempts(got), want)
	}
	if got.Helper != url3 || got.Failure != nil {
		t.Errorf("helper %q failure %v, want %q nil", got.Helper, got.Failure, url3)
	}
	wantObs := observationsFor(tg, []string{"93.184.216.34"})
	wantObs.Normalise()
	if !reflect.DeepEqual(got.Observations, wantObs) {
		t.Errorf("observations %+v\nwant %+v", got.Observations, wantObs)
	}
	for i, rec := range []*recorder{rec1, rec2, rec3} {
		auth, bodies := rec.requests()
		wantReq := Request{Target: "https://example.org/", Addrs: []string{"93.184.216.34"}}
		if !reflect.DeepEqual(auth, []string{"Bearer tok"}) || !reflect.DeepEqual(bodies, []Request{wantReq}) {
			t.Errorf("helper %d got auth %q bodies %+v", i+1, auth, bodies)
		}
	}

	// The failed helpers cool down: the next target goes to the one that answered.
	got = c.Control(context.Background(), mustTarget(t, "example.net"), nil)
	if want := []string{url3 + " ok"}; !reflect.DeepEqual(attempts(got), want) {
		t.Errorf("after failover: attempts %q, want %q", attempts(got), want)
	}
}

func TestClientAllHelpersFail(t *testing.T) {
	_, url1 := start(t, status(http.StatusServiceUnavailable))
	_, url2 := start(t, status(http.StatusNotFound))
	_, url3 := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<html>") }))
	url4 := refusedURL(t)
	c, err := NewClient([]string{url1, url2, url3, url4}, nil, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A deadline too close for a second round: each helper is asked once.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got := c.Control(ctx, mustTarget(t, "example.org"), nil)
	want := []string{
		url1 + " control_http_status_503", url2 + " control_http_status_404",
		url3 + " control_invalid_response", url4 + " connection_refused",
	}
	if !reflect.DeepEqual(attempts(got), want) {
		t.Errorf("attempts %q\nwant %q", attempts(got), want)
	}
	if got.Failure == nil || *got.Failure != "control_unavailable" || got.Helper != "" {
		t.Errorf("failure %v helper %q, want control_unavailable and no helper", got.Failure, got.Helper)
	}
	if got.DNS == nil || got.TCP == nil || got.TLS == nil || got.HTTP == nil {
		t.Errorf("observation lists must be empty, not nil: %+v", got.Observations)
	}
	// A helper that answered 4xx refused the request and is not cooling down, nor is the
	// busy one (it is left alone for its Retry-After instead); the others are, least
	// recently failed first.
	if order, want := c.order(time.Now()), []int{0, 1, 2, 3}; !reflect.DeepEqual(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if b := c.busyUntil(0); b.Before(time.Now()) || b.After(time.Now().Add(time.Second)) {
		t.Errorf("helper 1 busy until %v, want within Retry-After: 1", b)
	}
	if _, failed := c.failed[2]; !failed {
		t.Errorf("helper 3 not cooling down: %v", c.failed)
	}
}

func TestClientStopsWhenContextEnds(t *testing.T) {
	rec1, url1 := start(t, hang(t))
	rec2, url2 := start(t, NewHandler(&observer{}, HandlerOptions{}, nil))
	c, err := NewClient([]string{url1, url2}, nil, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer cancel() // also if waitFor gives up
		waitFor(t, "request at helper 1", func() bool { _, b := rec1.requests(); return len(b) == 1 })
	}()
	got := c.Control(ctx, mustTarget(t, "example.org"), nil)
	if want := []string{url1 + " interrupted"}; !reflect.DeepEqual(attempts(got), want) {
		t.Errorf("attempts %q, want %q", attempts(got), want)
	}
	if got.Failure == nil || *got.Failure != "control_unavailable" {
		t.Errorf("failure %v", got.Failure)
	}
	if _, b := rec2.requests(); len(b) != 0 {
		t.Errorf("helper 2 asked after cancellation")
	}
	// Our own cancellation does not count against the helper.
	if order := c.order(time.Now()); !reflect.DeepEqual(order, []int{0, 1}) {
		t.Errorf("order %v, want [0 1]", order)
	}
}

func TestClientSendsAtMostMaxAddrs(t *testing.T) {
	rec, url := start(t, NewHandler(&observer{}, HandlerOptions{}, nil))
	c, err := NewClient([]string{url}, nil, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	addrs := make([]string, 40)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("192.0.2.%d", i+1)
	}
	got := c.Control(context.Background(), mustTarget(t, "example.org"), addrs)
	if got.Failure != nil {
		t.Fatalf("failure %v, attempts %q", *got.Failure, attempts(got))
	}
	_, bodies := rec.requests()
	if len(bodies) != 1 || !reflect.DeepEqual(bodies[0].Addrs, addrs[:MaxAddrs]) {
		t.Errorf("sent %+v", bodies)
	}
}

func TestClientHidesURLPassword(t *testing.T) {
	rec, url := start(t, NewHandler(&observer{}, HandlerOptions{}, nil))
	withUser := strings.Replace(url, "http://", "http://probe:secret@", 1)
	c, err := NewClient([]string{withUser}, nil, 10*time.Second, nil, WithToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Control(context.Background(), mustTarget(t, "example.org"), nil)
	redacted := strings.Replace(url, "http://", "http://probe:xxxxx@", 1)
	if got.Helper != redacted || len(got.Attempts) != 1 || got.Attempts[0].Helper != redacted {
		t.Errorf("helper %q attempts %q, want %q", got.Helper, attempts(got), redacted)
	}
	if auth, _ := rec.requests(); !reflect.DeepEqual(auth, []string{"Bearer tok"}) {
		t.Errorf("auth %q", auth)
	}
}

func TestNewClientRejectsBadURLs(t *testing.T) {
	for _, tc := range []struct {
		urls []string
		err  string
	}{
		{nil, "no control URL"},
		{[]string{"http://127.0.0.1:9000/api/v1/control", "ftp://helper.example.org/"}, `control URL "ftp://helper.example.org/": scheme "ftp": want http or https`},
		{[]string{"helper.example.org"}, `control URL "helper.example.org": scheme "": want http or https`},
		{[]string{"https:///api/v1/control"}, `control URL "https:///api/v1/control": no host`},
		{[]string{"https://helper.example.org/api#x"}, `control URL "https://helper.example.org/api#x": has a fragment`},
		{[]string{"http://[::1/"}, `control URL "http://[::1/": parse "http://[::1/": missing ']' in host`},
	} {
		_, err := NewClient(tc.urls, nil, 0, nil)
		if err == nil || err.Error() != tc.err {
			t.Errorf("%q: got %v, want %s", tc.urls, err, tc.err)
		}
	}
}
