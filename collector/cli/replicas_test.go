package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/influxtest"
)

// replicaConfig is the config of one of several collectors on one bucket and one orders
// folder, with short revalidation intervals; role is its alerting role.
func replicaConfig(t *testing.T, influx, bucket, dir, hookURL, role string) string {
	t.Helper()
	return writeConfig(t, fmt.Sprintf(`listen: 127.0.0.1:0
secret: %s
admin_token: admin-token-0123456789abcdef
influx: {url: %s, bucket: %s, timeout: 30s}
orders_dir: %s
timeline: {k: 2, m: 1, max_silence: 1h}
limits: {read_rate: 0}
replicas: {cache_fresh: 1s, revalidate: 200ms, orders_reload: 200ms}
alerts:
  role: %s
  webhooks: [{name: lab, url: %s}]
  watch: [{domain: t.me, network: Telkomsel}]
  orders: [kominfo-2017-telegram-block]
  interval: 1s
  state_file: %s
`, secret, influx, bucket, filepath.Join(dir, "orders"), role, hookURL, filepath.Join(dir, role+"-alerts.json")))
}

// count returns how many bodies the webhook received that contain every one of subs.
func (h *hookRecorder) count(subs ...string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, b := range h.bodies {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(b, s)
		}
		if all {
			n++
		}
	}
	return n
}

// within polls cond every 100 ms and fails t unless it holds within limit; it returns
// how long it took.
func within(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// timelineOf fetches the Telkomsel timeline of domain in [from, to) (zero to: now) from
// the collector at base: its current state and its transitions as "from>to".
func timelineOf(t *testing.T, base, domain string, from, to time.Time) (current string, changes []string) {
	t.Helper()
	q := url.Values{"domain": {domain}, "network": {"Telkomsel"}, "from": {from.Format(time.RFC3339)}}
	if !to.IsZero() {
		q.Set("to", to.Format(time.RFC3339))
	}
	code, body := getBody(t, base+"/api/v1/timeline?"+q.Encode())
	var tl struct {
		Timelines []struct {
			Current     string `json:"current"`
			Transitions []struct{ From, To string }
		} `json:"timelines"`
	}
	if err := json.Unmarshal([]byte(body), &tl); code != http.StatusOK || err != nil {
		t.Fatalf("timeline: HTTP %d %v %s", code, err, body)
	}
	if len(tl.Timelines) == 0 {
		return "", nil
	}
	for _, tr := range tl.Timelines[0].Transitions {
		changes = append(changes, tr.From+">"+tr.To)
	}
	return tl.Timelines[0].Current, changes
}

// complianceOf returns the status of an order's compliance at at, from the collector at base.
func complianceOf(t *testing.T, base, id string, at time.Time) string {
	t.Helper()
	code, body := getBody(t, base+"/api/v1/orders/"+id+"/compliance?at="+url.QueryEscape(at.Format(time.RFC3339)))
	var rep struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(body), &rep); code != http.StatusOK || err != nil {
		t.Fatalf("compliance of %s: HTTP %d %v %s", id, code, err, body)
	}
	return rep.Status
}

// TestReplicas runs two collectors on one InfluxDB bucket and one orders folder, as
// replicas behind a load balancer: an order uploaded through A is served by B; what A
// ingests is in B's timelines and compliance within 30 s, also a backlog for a settled
// day B has cached already (which B would otherwise reuse for hours); and alerts, on in
// A's config and off in B's, are sent once.
func TestReplicas(t *testing.T) {
	influx, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	hooks := &hookRecorder{}
	hookSrv := httptest.NewServer(hooks)
	t.Cleanup(hookSrv.Close)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "orders"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgA := replicaConfig(t, influx, bucket, dir, hookSrv.URL, "leader")
	a := serve(t, cfgA)
	b := serve(t, replicaConfig(t, influx, bucket, dir, hookSrv.URL, "off"))
	tok := issue(t, cfgA, "jkt-01")
	ingest := func(body []byte) {
		t.Helper()
		if code, resp := post(t, a.url+"/api/v1/measurements", tok, body); code != http.StatusOK || !strings.Contains(resp, `"accepted":3`) {
			t.Fatalf("ingest through A: HTTP %d %s", code, resp)
		}
	}

	// Three days ago, a settled day: x.com accessible at 10:00, the order to block it
	// effective at 12:00 (uploaded through A), the block measured at 14:00 (a backlog).
	d := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	order := fmt.Sprintf("id: lab-backlog\nauthority: Lab\nreference: No. 2\ndomains: [x.com]\nexpect: blocked\neffective: %s\ngrace: 0s\nnetworks: [Telkomsel]\n",
		d.Add(12*time.Hour).Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPut, a.url+"/api/v1/orders/lab-backlog", strings.NewReader(order))
	req.Header.Set("Authorization", "Bearer admin-token-0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("upload through A: %v %v", resp, err)
	}
	resp.Body.Close()
	took := within(t, 30*time.Second, "B serves the order uploaded through A", func() bool {
		code, body := getBody(t, b.url+"/api/v1/orders")
		return code == http.StatusOK && strings.Contains(body, `"id":"lab-backlog"`)
	})
	t.Logf("order on B after %s", took.Round(time.Millisecond))

	ingest(batch(t, "x.com", false, 3, d.Add(10*time.Hour+20*time.Minute), 10*time.Minute))
	at := d.Add(14*time.Hour + 30*time.Minute)
	if cur, _ := timelineOf(t, b.url, "x.com", d, d.Add(24*time.Hour)); cur != "accessible" {
		t.Fatalf("B's timeline of x.com before the backlog: current %q, want accessible", cur)
	}
	if st := complianceOf(t, b.url, "lab-backlog", at); st == "compliant" {
		t.Fatalf("B's compliance before the backlog: %s", st)
	}
	ingest(batch(t, "x.com", true, 3, d.Add(14*time.Hour+20*time.Minute), 10*time.Minute))
	took = within(t, 30*time.Second, "B's timeline shows the backlog ingested through A", func() bool {
		cur, changes := timelineOf(t, b.url, "x.com", d, d.Add(24*time.Hour))
		return cur == "blocked" && strings.Contains(strings.Join(changes, " "), "accessible>blocked")
	})
	t.Logf("backlog in B's timeline after %s", took.Round(time.Millisecond))
	within(t, 30*time.Second, "B's compliance counts the backlog", func() bool { return complianceOf(t, b.url, "lab-backlog", at) == "compliant" })

	// Today: t.me accessible, then blocked after the leader's first check; B has today
	// cached when the block arrives.
	now := time.Now().UTC()
	ingest(batch(t, "t.me", false, 3, now.Add(-5*time.Minute), 10*time.Minute))
	within(t, 30*time.Second, "B's timeline shows t.me accessible", func() bool {
		cur, _ := timelineOf(t, b.url, "t.me", now.Add(-3*time.Hour), time.Time{})
		return cur == "accessible"
	})
	time.Sleep(1100 * time.Millisecond)
	ingest(batch(t, "t.me", true, 3, time.Now().Add(-time.Second), 100*time.Millisecond))
	took = within(t, 30*time.Second, "B's timeline shows today's block ingested through A", func() bool {
		cur, _ := timelineOf(t, b.url, "t.me", now.Add(-3*time.Hour), time.Time{})
		return cur == "blocked"
	})
	t.Logf("today's block in B's timeline after %s", took.Round(time.Millisecond))

	// The transition is sent once: by A, the leader, and not by B.
	transition := []string{`"type":"transition"`, `"domain":"t.me"`, `"to":"blocked"`}
	within(t, 30*time.Second, "the transition webhook", func() bool { return hooks.count(transition...) > 0 })
	time.Sleep(3 * time.Second) // three more check intervals of both replicas
	if n := hooks.count(transition...); n != 1 {
		t.Errorf("the transition was sent %d times, want once", n)
	}
	if strings.Contains(b.log.String(), "alert") && strings.Contains(b.log.String(), "sent") {
		t.Errorf("B (role off) logged alerts:\n%s", b.log)
	}
}
