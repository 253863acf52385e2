package cli

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/measurement"
)

const (
	collectorTok = "probe-collector-token-abc"
	helperTok    = "helper-token-0123456789abcdef"
)

// authLog records the Authorization header of every request, by path.
type authLog struct {
	mu   sync.Mutex
	seen map[string][]string
}

func (l *authLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string][]string{}
	}
	l.seen[r.URL.Path] = append(l.seen[r.URL.Path], r.Header.Get("Authorization"))
}

func (l *authLog) get(path string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen[path])
}

// controlLab is a collector that takes measurements and serves the control API behind
// probe authentication (a real control handler over a real engine, resolving with the
// lab's DNS server), and a control helper on another origin that records what it is sent
// and fails, so the probe falls over to the collector's helper.
type controlLab struct {
	collector, other *httptest.Server
	collectorLog     authLog
	otherLog         authLog
}

func newControlLab(t *testing.T, dnsAddr string) *controlLab {
	t.Helper()
	l := &controlLab{}
	res, err := dnsquery.ParseResolver(dnsAddr)
	if err != nil {
		t.Fatal(err)
	}
	res.System = true
	lab := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	eng := engine.New(engine.Config{SystemResolvers: []dnsquery.Resolver{res}, LabCIDRs: lab, DialGuard: control.Guard(lab),
		Timeouts: engine.Timeouts{DNS: 5 * time.Second, TCP: 5 * time.Second, TLS: 5 * time.Second, HTTP: 5 * time.Second, Target: 20 * time.Second}}, nil)
	ctl := control.NewHandler(eng, control.HandlerOptions{Guard: control.Guard(lab)}, nil)
	l.collector = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.collectorLog.add(r)
		if r.Header.Get("Authorization") != "Bearer "+collectorTok {
			http.Error(w, `{"error":"unknown token"}`, http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/api/v1/control":
			ctl.ServeHTTP(w, r)
		case "/api/v1/measurements":
			acceptAll(t, w, r)
		default:
			fmt.Fprint(w, "{}")
		}
	}))
	t.Cleanup(l.collector.Close)
	l.other = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.otherLog.add(r)
		http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(l.other.Close)
	return l
}

// acceptAll answers a gzip-compressed batch with every item accepted.
func acceptAll(t *testing.T, w http.ResponseWriter, r *http.Request) {
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		t.Errorf("batch: %v", err)
		http.Error(w, "bad gzip", http.StatusBadRequest)
		return
	}
	var batch []json.RawMessage
	if err := json.NewDecoder(io.LimitReader(zr, 64<<20)).Decode(&batch); err != nil {
		t.Errorf("batch: %v", err)
		http.Error(w, "bad batch", http.StatusBadRequest)
		return
	}
	type item struct {
		Index  int    `json:"index"`
		Status string `json:"status"`
	}
	items := make([]item, len(batch))
	for i := range items {
		items[i] = item{i, "accepted"}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items})
}

// check verifies that the other helper got want (never the collector token) and that
// the collector's control API and ingest got the collector token.
func (l *controlLab) check(t *testing.T, wantOther string) {
	t.Helper()
	other := l.otherLog.get("/api/v1/control")
	if len(other) == 0 {
		t.Error("the other helper was not asked")
	}
	for _, a := range other {
		if a != wantOther {
			t.Errorf("the other helper got Authorization %q, want %q", a, wantOther)
		}
	}
	for _, path := range []string{"/api/v1/control", "/api/v1/measurements"} {
		got := l.collectorLog.get(path)
		if len(got) == 0 {
			t.Errorf("collector %s: not asked", path)
		}
		for _, a := range got {
			if a != "Bearer "+collectorTok {
				t.Errorf("collector %s got Authorization %q, want the collector token", path, a)
			}
		}
	}
}

// TestMeasureScopesCollectorToken runs `probe measure` with a collector and two control
// helpers on different origins: the collector token goes to the collector only.
func TestMeasureScopesCollectorToken(t *testing.T) {
	t.Setenv("PANTAU_CONTROL_TOKEN", "")
	common, site, _ := lab(t)
	for _, tc := range []struct {
		name      string
		flags     []string
		wantOther string
	}{
		{"helper token", []string{"--control-token", helperTok}, "Bearer " + helperTok},
		{"no helper token", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newControlLab(t, common[2])
			collectorControl := l.collector.URL + "/api/v1/control"
			args := append(slices.Clone(common), "--collector", l.collector.URL, "--token", collectorTok,
				"--control", l.other.URL+"/api/v1/control", "--control", collectorControl)
			args = append(append(args, tc.flags...), site)
			code, stdout, stderr := runMain(args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var m measurement.Measurement
			if err := json.Unmarshal([]byte(stdout), &m); err != nil {
				t.Fatalf("%v: %s", err, stdout)
			}
			if m.Control == nil || m.Control.Failure != nil || m.Control.Helper != collectorControl {
				t.Errorf("control %+v, want the collector's helper", m.Control)
			}
			l.check(t, tc.wantOther)
		})
	}
}

// TestOnceScopesCollectorToken runs `probe once` (the agent) with the helper token and
// the collector in the configuration file.
func TestOnceScopesCollectorToken(t *testing.T) {
	t.Setenv("PANTAU_CONTROL_TOKEN", "")
	common, site, _ := lab(t)
	l := newControlLab(t, common[2])
	dir := t.TempDir()
	sched := filepath.Join(dir, "schedules")
	if err := os.MkdirAll(sched, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sched, "lab.yaml"), []byte("name: lab\ncron: \"*/15 * * * *\"\ntargets: ["+site+"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "control-token")
	if err := os.WriteFile(tokFile, []byte(helperTok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "probe.yaml")
	yaml := fmt.Sprintf(`system_resolvers: [%q]
lab_cidrs: [127.0.0.0/8]
whoami: "-"
dns_wait: 0s
controls: [%q, %q]
control_token_file: %s
agent:
  collector: %s
  token: %s
  state_dir: %s
  schedules_dir: %s
`, common[2], l.other.URL+"/api/v1/control", l.collector.URL+"/api/v1/control", tokFile, l.collector.URL, collectorTok, filepath.Join(dir, "state"), sched)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain("once", "--config", cfg, "--schedule", "lab")
	if code != 0 || !strings.Contains(stdout, "schedule lab: 1 measurements spooled; spool depth now 0") {
		t.Fatalf("probe once: exit %d\n%s%s", code, stdout, stderr)
	}
	l.check(t, "Bearer "+helperTok)
}

// TestHelperAccessFlags checks the access flags of `probe helper` that are refused
// before anything is served.
func TestHelperAccessFlags(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("# fleet\nshort\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"helper", "--listen", "127.0.0.1:0", "--system-resolver", "127.0.0.1"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--allow-anonymous"}, "probe helper: --allow-anonymous: give --token-file (without it every client is anonymous)\n"},
		{[]string{"--rate-limit", "-1"}, "probe helper: --rate-limit -1: want a number of requests per second, 0 or more\n"},
		{[]string{"--rate-limit", "NaN"}, "probe helper: --rate-limit NaN: want a number of requests per second, 0 or more\n"},
		{[]string{"--rate-burst", "0"}, "probe helper: --rate-burst 0: must be at least 1\n"},
		{[]string{"--trusted-proxy", "10.0.0.0/33"}, "probe helper: --trusted-proxy: \"10.0.0.0/33\" is not an address prefix (want e.g. 10.77.0.0/16)\n"},
		{[]string{"--token-file", short}, "probe helper: --token-file: " + short + ":2: token of 5 bytes; at least 16\n"},
		{[]string{"--token-file", filepath.Join(dir, "missing")}, "probe helper: --token-file: open " + filepath.Join(dir, "missing") + ": no such file or directory\n"},
	} {
		code, _, stderr := runMain(append(slices.Clone(base), tc.args...)...)
		if code != 2 || !strings.HasPrefix(stderr, tc.want) {
			t.Errorf("probe helper %q: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestHelperServesWithTokens runs `probe helper` with a token file that also admits
// anonymous clients: no token and a wrong token are told apart, the anonymous address
// is limited past its burst while a token passes, and /metrics counts the refusals.
func TestHelperServesWithTokens(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokFile, []byte("# the fleet\n"+helperTok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url := startHelper(t, "--token-file", tokFile, "--allow-anonymous", "--rate-limit", "0.001", "--rate-burst", "2")
	post := func(auth string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, url+"/api/v1/control", strings.NewReader(`{"target":"tcp://127.0.0.1:9"}`))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	for i, tc := range []struct {
		auth   string
		status int
		body   string // a prefix
	}{
		{"", 403, `{"error":"target: 127.0.0.1 is a private or reserved address; not measured"}`},
		{"Bearer wrong-token-0123456789abcdef", 401, `{"error":"authorization: unknown token"}`},
		{"", 403, `{"error":"target:`},
		{"", 429, `{"error":"rate limit exceeded for this address; retry later"}`},
		{"Bearer " + helperTok, 403, `{"error":"target:`},
	} {
		if status, body := post(tc.auth); status != tc.status || !strings.HasPrefix(body, tc.body) {
			t.Errorf("request %d (%q): got %d %s, want %d %s", i+1, tc.auth, status, body, tc.status, tc.body)
		}
	}
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, want := range []string{`pantau_control_refused_total{reason="unauthorized"} 1`, `pantau_control_refused_total{reason="rate_limited"} 1`} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", want, b)
		}
	}
}

// startHelper runs `probe helper` on a free loopback port with the extra args until the
// test ends and returns its base URL.
func startHelper(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"helper", "--listen", "127.0.0.1:0", "--system-resolver", "127.0.0.1:9", "--whoami", "-"}, args...), io.Discard, pw)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("probe helper: exit %d", code)
		}
	})
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "probe helper: listening on "); ok {
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			return strings.TrimSuffix(addr, "/api/v1/control")
		}
		t.Logf("probe helper: %s", sc.Text())
	}
	t.Fatal("probe helper ended without listening")
	return ""
}
