package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// labHelper runs `probe helper` resolving with the lab's DNS server (the resolver of
// common, the flags lab returns) and returns its base URL.
func labHelper(t *testing.T, common []string) string {
	t.Helper()
	return startHelper(t, "--system-resolver", common[2], "--lab-cidr", "127.0.0.0/8", "--rate-limit", "0")
}

// TestMeasureControlURLs: --control with the helper's base URL (no path, or "/") reaches
// its control endpoint; a URL that answers 404 is not a control endpoint and fails the
// run loudly, saying so on stderr, with the measurements still printed.
func TestMeasureControlURLs(t *testing.T) {
	common, site, _ := lab(t)
	base := labHelper(t, common)
	for _, given := range []string{base, base + "/"} {
		code, stdout, stderr := runMain(append(common, "--control", given, site)...)
		var m measurement.Measurement
		if err := json.Unmarshal([]byte(stdout), &m); err != nil || code != 0 {
			t.Fatalf("--control %s: exit %d, %v: %s", given, code, err, stderr)
		}
		if m.Control == nil || m.Control.Failure != nil || m.Control.Helper != base+"/api/v1/control" {
			t.Errorf("--control %s: control %+v, want an answer from %s/api/v1/control", given, m.Control, base)
		}
		if strings.Contains(stderr, "control") {
			t.Errorf("--control %s: stderr %q, want nothing about the control", given, stderr)
		}
	}

	wrong := base + "/control"
	code, stdout, stderr := runMain(append(common, "--control", wrong, site)...)
	if code != 1 || strings.Count(stdout, "\n") != 1 {
		t.Errorf("404 helper: exit %d, stdout %q; want exit 1 with the measurement printed", code, stdout)
	}
	for _, want := range []string{
		"probe measure: 1 of 1 targets without a control: 1 control_http_status_404 (not a control endpoint",
		"probe measure: control helper " + wrong + " answered 404 Not Found: not a control endpoint",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("404 helper: stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestMeasureReportsBusyHelper: a helper that answers 503 (Retry-After: 1) to the first
// request is asked again; the measurement records both attempts and has its control, and
// the end of the run says how busy the helpers were.
func TestMeasureReportsBusyHelper(t *testing.T) {
	common, site, gone := lab(t)
	u, err := url.Parse(labHelper(t, common))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var seen atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	code, stdout, stderr := runMain(append(common, "--control", front.URL, "--concurrency", "1", "--format", "json", site, gone)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	retried := 0
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var m measurement.Measurement
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m.Control == nil || m.Control.Failure != nil {
			t.Errorf("%s: control %+v, want an answer", m.Target, m.Control)
			continue
		}
		if len(m.Control.Attempts) == 2 && *m.Control.Attempts[0].Failure == "control_http_status_503" && m.Control.Attempts[1].Failure == nil {
			retried++
		}
	}
	if retried != 1 {
		t.Errorf("%d measurements with a 503 then an answer, want 1:\n%s", retried, stdout)
	}
	want := "probe measure: control helpers busy: 1 answers 429/503 of 3 requests; 1 targets retried\n"
	if !strings.Contains(stderr, want) || strings.Contains(stderr, "without a control") {
		t.Errorf("stderr %q, want %q and no failed targets", stderr, want)
	}
}
