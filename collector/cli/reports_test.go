package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// hookRecorder is a webhook receiver that keeps what it was sent.
type hookRecorder struct {
	mu     sync.Mutex
	bodies []string
	sigs   []string
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, string(b))
	h.sigs = append(h.sigs, r.Header.Get("X-Pantau-Signature"))
	h.mu.Unlock()
}

func (h *hookRecorder) find(sub string) (body, sig string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, b := range h.bodies {
		if strings.Contains(b, sub) {
			return b, h.sigs[i]
		}
	}
	return "", ""
}

// batch is n measurements of domain, blocked by DNS or accessible, one every step up to
// last.
func batch(t *testing.T, domain string, blocked bool, n int, last time.Time, step time.Duration) []byte {
	t.Helper()
	var ms []*measurement.Measurement
	for i := n - 1; i >= 0; i-- {
		m := &measurement.Measurement{ID: measurement.NewID(), SchemaVersion: 1, Target: "https://" + domain + "/", Kind: "web",
			Domain: domain, Port: 443, StartedAt: last.Add(-time.Duration(i) * step), RuntimeMS: 10,
			Software: measurement.Software{Name: "pantau", Version: "test"},
			Verdict:  measurement.Verdict{Status: measurement.StatusAccessible, Reason: "ok", Evidence: []string{}}}
		if blocked {
			m.Verdict = measurement.Verdict{Status: measurement.StatusBlocked, Method: measurement.MethodDNS,
				Reason: "The resolver said the name does not exist.", Evidence: []string{"dns_nxdomain_error"}}
		}
		m.Normalise()
		ms = append(ms, m)
	}
	b, err := json.Marshal(ms)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// getBody fetches u and returns the status and the body.
func getBody(t *testing.T, u string) (int, string) {
	t.Helper()
	r, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

// TestServeReports runs `collector serve` with orders, timelines and alerts configured,
// on the real InfluxDB: measurements ingested through the API become a timeline, a change,
// an order's compliance, an evidence bundle, a heatmap on the dashboard, a signed webhook
// and metrics.
func TestServeReports(t *testing.T) {
	influx, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	hooks := &hookRecorder{}
	hookSrv := httptest.NewServer(hooks)
	t.Cleanup(hookSrv.Close)
	dir := t.TempDir()
	ordersDir := filepath.Join(dir, "orders")
	if err := os.Mkdir(ordersDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`listen: 127.0.0.1:0
secret: %s
admin_token: admin-token-0123456789abcdef
influx: {url: %s, bucket: %s, timeout: 30s}
orders_dir: %s
timeline: {k: 2, m: 1, max_silence: 1h}
alerts:
  webhooks: [{name: lab, url: %s, secret: hook-secret}]
  watch: [{domain: t.me, network: Telkomsel}]
  interval: 1s
  state_file: %s
`, secret, influx, bucket, ordersDir, hookSrv.URL, filepath.Join(dir, "alerts.json")))
	c := serve(t, cfg)
	tok := issue(t, cfg, "jkt-01")

	// An order to block t.me on Telkomsel, effective an hour ago, uploaded as admin.
	now := time.Now().UTC()
	effective := now.Add(-time.Hour).Truncate(time.Second)
	order := fmt.Sprintf("id: lab-block\nauthority: Lab\nreference: No. 1\ndomains: [t.me]\nexpect: blocked\neffective: %s\ngrace: 0s\nnetworks: [Telkomsel]\n",
		effective.Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPut, c.url+"/api/v1/orders/lab-block", strings.NewReader(order))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("upload without the admin token: %v %v", resp, err)
	}
	req, _ = http.NewRequest(http.MethodPut, c.url+"/api/v1/orders/lab-block", strings.NewReader(order))
	req.Header.Set("Authorization", "Bearer admin-token-0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("upload: HTTP %d %s", resp.StatusCode, b)
	}
	if _, err := os.Stat(filepath.Join(ordersDir, "lab-block.yaml")); err != nil {
		t.Errorf("the uploaded order is not in orders_dir: %v", err)
	}

	// t.me was accessible on Telkomsel until 80 minutes ago, before the order; it is blocked
	// from now on. Alerts fire for transitions confirmed after the watcher's first check, so
	// the block is measured after it.
	if code, b := post(t, c.url+"/api/v1/measurements", tok, batch(t, "t.me", false, 3, now.Add(-80*time.Minute), 10*time.Minute)); code != http.StatusOK || !strings.Contains(b, `"accepted":3`) {
		t.Fatalf("ingest: HTTP %d %s", code, b)
	}
	time.Sleep(1100 * time.Millisecond)
	last := time.Now().Add(-time.Second)
	if code, b := post(t, c.url+"/api/v1/measurements", tok, batch(t, "t.me", true, 3, last, 100*time.Millisecond)); code != http.StatusOK || !strings.Contains(b, `"accepted":3`) {
		t.Fatalf("ingest: HTTP %d %s", code, b)
	}

	q := url.Values{"domain": {"t.me"}, "network": {"Telkomsel"}, "from": {now.Add(-3 * time.Hour).Format(time.RFC3339)}}
	code, body := getBody(t, c.url+"/api/v1/timeline?"+q.Encode())
	var tl struct {
		Timelines []struct {
			Current     string `json:"current"`
			Transitions []struct{ From, To, Method string }
		} `json:"timelines"`
	}
	if err := json.Unmarshal([]byte(body), &tl); code != http.StatusOK || err != nil || len(tl.Timelines) != 1 {
		t.Fatalf("timeline: HTTP %d %v %s", code, err, body)
	}
	if got := tl.Timelines[0]; got.Current != "blocked" || len(got.Transitions) != 2 || got.Transitions[1].From != "accessible" ||
		got.Transitions[1].To != "blocked" || got.Transitions[1].Method != "dns" {
		t.Errorf("timeline: %+v", got)
	}
	q.Set("format", "csv")
	if code, body := getBody(t, c.url+"/api/v1/timeline?"+q.Encode()); code != http.StatusOK || !strings.Contains(body, "t.me,Telkomsel,,period,blocked,dns,") {
		t.Errorf("timeline CSV: HTTP %d %s", code, body)
	}
	if code, body := getBody(t, c.url+"/api/v1/timeline?domain=t.me%22)|>drop()"); code != http.StatusBadRequest || !strings.Contains(body, "domain") {
		t.Errorf("timeline with a bad domain: HTTP %d %s", code, body)
	}

	if code, body := getBody(t, c.url+"/api/v1/changes?since="+url.QueryEscape(now.Add(-2*time.Hour).Format(time.RFC3339))); code != http.StatusOK ||
		!strings.Contains(body, `"domain":"t.me","network":"Telkomsel"`) || !strings.Contains(body, `"to":"blocked"`) {
		t.Errorf("changes: HTTP %d %s", code, body)
	}

	code, body = getBody(t, c.url+"/api/v1/orders")
	for _, id := range []string{"kominfo-2017-telegram-block", "kominfo-2017-telegram-unblock", "lab-block"} {
		if code != http.StatusOK || !strings.Contains(body, `"id":"`+id+`"`) {
			t.Errorf("orders lack %s: HTTP %d %s", id, code, body)
		}
	}
	code, body = getBody(t, c.url+"/api/v1/orders/lab-block/compliance")
	var rep struct {
		Status   string `json:"status"`
		Networks []struct {
			Network, Status string
			Share           float64 `json:"share"`
		} `json:"networks"`
	}
	if err := json.Unmarshal([]byte(body), &rep); code != http.StatusOK || err != nil {
		t.Fatalf("compliance: HTTP %d %v %s", code, err, body)
	}
	if rep.Status != "compliant" || len(rep.Networks) != 1 || rep.Networks[0].Status != "compliant" || rep.Networks[0].Share != 1 {
		t.Errorf("compliance: %s", body)
	}

	q = url.Values{"domain": {"t.me"}, "network": {"Telkomsel"}, "at": {last.Format(time.RFC3339Nano)}}
	code, body = getBody(t, c.url+"/api/v1/evidence?"+q.Encode())
	var ev struct {
		State        string `json:"state"`
		Measurements []struct {
			Probe  struct{ Probe, Network string } `json:"probe"`
			SHA256 string                          `json:"sha256"`
		} `json:"measurements"`
	}
	if err := json.Unmarshal([]byte(body), &ev); code != http.StatusOK || err != nil {
		t.Fatalf("evidence: HTTP %d %v %s", code, err, body)
	}
	if ev.State != "blocked" || len(ev.Measurements) == 0 || ev.Measurements[0].Probe.Probe != "jkt-01" || len(ev.Measurements[0].SHA256) != 64 {
		t.Errorf("evidence: %s", body)
	}

	// The evidence of now: the block measured a second ago still holds.
	q.Set("at", time.Now().Format(time.RFC3339Nano))
	code, body = getBody(t, c.url+"/api/v1/evidence?"+q.Encode())
	if code != http.StatusOK || !strings.Contains(body, `"state":"blocked"`) {
		t.Errorf("evidence of now: HTTP %d %s", code, body)
	}

	// The dashboard: the heatmap of t.me has a Telkomsel row, currently blocked, with
	// accessible cells before; the orders page lists the order.
	if code, body := getBody(t, c.url+"/?domain=t.me&step=1h"); code != http.StatusOK || !strings.Contains(body, `<tr data-network="Telkomsel">`) ||
		!strings.Contains(body, `data-state="accessible"`) || !strings.Contains(body, `<span class="now s-blocked"`) {
		t.Errorf("dashboard heatmap: HTTP %d %s", code, body)
	}
	if code, body := getBody(t, c.url+"/orders"); code != http.StatusOK || !strings.Contains(body, "lab-block") {
		t.Errorf("dashboard orders: HTTP %d %s", code, body)
	}
	if code, _ := getBody(t, c.url+"/api/v1/nothing"); code != http.StatusNotFound {
		t.Errorf("unknown API path: HTTP %d", code)
	}

	// The webhook hears of the transition, signed with its secret.
	var hook, sig string
	waitFor(t, "the transition webhook", func() bool {
		hook, sig = hooks.find(`"type":"transition"`)
		return hook != ""
	})
	if !strings.Contains(hook, `"domain":"t.me","network":"Telkomsel"`) || !strings.Contains(hook, `"to":"blocked"`) {
		t.Errorf("webhook body: %s", hook)
	}
	if want := alert.Sign([]byte("hook-secret"), []byte(hook)); sig != want {
		t.Errorf("webhook signature %q, want %q", sig, want)
	}

	code, body = getBody(t, c.url+"/metrics")
	for _, want := range []string{"pantau_report_cache_items ", `pantau_report_cache_lookups_total{result="miss"} `,
		`pantau_alert_events_sent_total{webhook="lab"} `, `pantau_alert_events_pending{webhook="lab"} `} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("metrics lack %q: HTTP %d\n%s", want, code, body)
		}
	}
	if code := c.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, c.log)
	}
	if !strings.Contains(c.log.String(), "report cache warmed") {
		t.Errorf("the report cache was not warmed at start:\n%s", c.log)
	}
}

// TestServeUnknownAlertOrder: an alert on an order that is not loaded is a config error.
func TestServeUnknownAlertOrder(t *testing.T) {
	cfg := writeConfig(t, fmt.Sprintf(`secret: %s
influx: {url: http://127.0.0.1:1, bucket: pantau/autogen}
alerts:
  webhooks: [{name: lab, url: "http://127.0.0.1:1/"}]
  orders: [kominfo-2017-telegram-block, no-such-order]
`, secret))
	code, _, errOut := run(t, env(nil), "serve", "--config", cfg)
	if want := `alerts.orders[1]: no order "no-such-order"`; code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, want)
	}
}
