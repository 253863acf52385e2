package alert_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

var t0 = time.Date(2017, 7, 14, 12, 0, 0, 0, time.UTC)

// tr is the transition the engine confirms for observations added by data.add whose state
// changes at at: the third agreeing measurement (defaults k=3, m=2) comes 15 minutes later.
func tr(domain, network string, from, to timeline.State, method string, at time.Time) timeline.Transition {
	return timeline.Transition{Domain: domain, Network: network, From: from, To: to, Method: method, At: at, Confirmed: at.Add(15 * time.Minute)}
}

// transitionBody is the documented JSON of a transition event.
func transitionBody(id string, t timeline.Transition, sentAt time.Time) string {
	return fmt.Sprintf(`{"type":"transition","id":"%s","domain":"%s","network":"%s","from":"%s","to":"%s","method":"%s","at":"%s","confirmed":"%s","sent_at":"%s"}`,
		id, t.Domain, t.Network, t.From, t.To, t.Method, t.At.Format(time.RFC3339), t.Confirmed.Format(time.RFC3339), sentAt.Format(time.RFC3339))
}

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestTransitionDeliveredSignedOnce(t *testing.T) {
	signed, plain := newReceiver(t), newReceiver(t)
	cfg := alert.Config{
		Webhooks: []alert.Webhook{{Name: "ops", URL: signed.URL + "/hook", Secret: "s3cret"},
			{Name: "regulator", URL: plain.URL, Events: []string{"compliance"}}},
		Watch: []alert.Pair{{Domain: "t.me", Network: "Telkomsel"}},
	}
	d := &data{}
	// Blocked two hours before the watcher starts (not news), lifted an hour after (news).
	d.add("t.me", "Telkomsel", t0.Add(-48*time.Hour), t0.Add(-2*time.Hour), timeline.Accessible, "")
	d.add("t.me", "Telkomsel", t0.Add(-2*time.Hour), t0.Add(time.Hour), timeline.Blocked, "dns")
	d.add("t.me", "Telkomsel", t0.Add(time.Hour), t0.Add(6*time.Hour), timeline.Accessible, "")
	d.add("t.me", "Indosat", t0.Add(-48*time.Hour), t0.Add(time.Hour), timeline.Blocked, "http") // not watched
	d.add("t.me", "Indosat", t0.Add(time.Hour), t0.Add(6*time.Hour), timeline.Accessible, "")
	c := &clock{t: t0}
	w := newWatcher(t, cfg, d, c)
	if err := w.Check(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := signed.bodies(); len(got) != 0 {
		t.Fatalf("baseline check sent %q: transitions confirmed before the watcher started are not news", got)
	}

	c.set(t0.Add(2 * time.Hour))
	for range 2 { // the second check finds the same transition: not sent again
		if err := w.Check(ctx(t)); err != nil {
			t.Fatal(err)
		}
		c.set(c.now().Add(time.Hour))
	}
	got := signed.deliveries()
	if len(got) != 1 {
		t.Fatalf("got %d deliveries, want 1: %q", len(got), signed.bodies())
	}
	h := got[0].header
	id := h.Get("X-Pantau-Delivery")
	if !hexID.MatchString(id) {
		t.Errorf("X-Pantau-Delivery %q: want 32 hex digits", id)
	}
	lifted := tr("t.me", "Telkomsel", timeline.Blocked, timeline.Accessible, "", t0.Add(time.Hour))
	if want := transitionBody(id, lifted, t0.Add(2*time.Hour)); got[0].body != want {
		t.Errorf("body\n got %s\nwant %s", got[0].body, want)
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(got[0].body))
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); h.Get("X-Pantau-Signature") != want {
		t.Errorf("X-Pantau-Signature %q, want %q", h.Get("X-Pantau-Signature"), want)
	}
	if h.Get("Content-Type") != "application/json" || h.Get("X-Pantau-Event") != "transition" {
		t.Errorf("headers: Content-Type %q, X-Pantau-Event %q", h.Get("Content-Type"), h.Get("X-Pantau-Event"))
	}
	if b := plain.bodies(); len(b) != 0 {
		t.Errorf("compliance-only webhook got %q", b)
	}
	if s := w.Stats(); s.Sent != 1 || s.Failed != 0 || s.Pending != 0 || s.Dropped != 0 {
		t.Errorf("stats %+v", s)
	}
	d.mu.Lock()
	q := d.queries[len(d.queries)-1]
	d.mu.Unlock()
	if want := (report.Query{Domain: "t.me", Network: "Telkomsel", From: t0.Add(3*time.Hour - 7*24*time.Hour), To: t0.Add(3 * time.Hour)}); q != want {
		t.Errorf("query %+v, want %+v", q, want)
	}
}

func TestWatchEveryNetwork(t *testing.T) {
	r := newReceiver(t)
	cfg := alert.Config{Webhooks: []alert.Webhook{{Name: "ops", URL: r.URL}}, Watch: []alert.Pair{{Domain: "t.me", Network: "*"}}}
	d := &data{}
	for _, x := range []struct {
		domain, network, method string
		blocked                 time.Duration
	}{{"t.me", "Telkomsel", "dns", 2 * time.Hour}, {"t.me", "Indosat", "http", time.Hour}, {"web.telegram.org", "Indosat", "http", time.Hour}} {
		d.add(x.domain, x.network, t0.Add(-24*time.Hour), t0.Add(x.blocked), timeline.Accessible, "")
		d.add(x.domain, x.network, t0.Add(x.blocked), t0.Add(6*time.Hour), timeline.Blocked, x.method)
	}
	c := &clock{t: t0}
	w := newWatcher(t, cfg, d, c)
	if err := w.Check(ctx(t)); err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(3 * time.Hour))
	if err := w.Check(ctx(t)); err != nil {
		t.Fatal(err)
	}
	got := r.deliveries()
	if len(got) != 2 {
		t.Fatalf("got %q, want Indosat then Telkomsel", r.bodies())
	}
	for i, want := range []timeline.Transition{ // oldest confirmation first
		tr("t.me", "Indosat", timeline.Accessible, timeline.Blocked, "http", t0.Add(time.Hour)),
		tr("t.me", "Telkomsel", timeline.Accessible, timeline.Blocked, "dns", t0.Add(2*time.Hour)),
	} {
		if w := transitionBody(got[i].header.Get("X-Pantau-Delivery"), want, c.now()); got[i].body != w {
			t.Errorf("delivery %d\n got %s\nwant %s", i, got[i].body, w)
		}
		if got[i].header.Get("X-Pantau-Signature") != "" {
			t.Errorf("delivery %d: signed without a secret", i)
		}
	}
}

func TestRetriedWithinOneCheck(t *testing.T) {
	r := newReceiver(t)
	r.setFail(2) // nothing is sent at the first check
	cfg := alert.Config{Webhooks: []alert.Webhook{{Name: "ops", URL: r.URL}}, Watch: []alert.Pair{{Domain: "t.me", Network: "*"}}}
	d := &data{}
	d.add("t.me", "Telkomsel", t0.Add(-24*time.Hour), t0.Add(time.Hour), timeline.Accessible, "")
	d.add("t.me", "Telkomsel", t0.Add(time.Hour), t0.Add(6*time.Hour), timeline.Blocked, "dns")
	c := &clock{t: t0}
	w := newWatcher(t, cfg, d, c)
	for _, now := range []time.Time{t0, t0.Add(2 * time.Hour)} {
		c.set(now)
		if err := w.Check(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	r.mu.Lock()
	attempts := r.attempts
	r.mu.Unlock()
	if n := len(r.deliveries()); n != 1 || attempts != 3 {
		t.Errorf("%d deliveries after %d attempts, want 1 after 3 (two 500s retried)", n, attempts)
	}
	if s := w.Stats(); s.Sent != 1 || s.Failed != 0 || s.Pending != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestFailingWebhookRetriedAtNextCheck(t *testing.T) {
	r := newReceiver(t)
	r.setFail(3)
	cfg := alert.Config{Webhooks: []alert.Webhook{{Name: "ops", URL: r.URL, Retries: intp(1)}}, Watch: []alert.Pair{{Domain: "t.me", Network: "*"}}}
	d := &data{}
	d.add("t.me", "Telkomsel", t0.Add(-24*time.Hour), t0.Add(time.Hour), timeline.Accessible, "")
	d.add("t.me", "Telkomsel", t0.Add(time.Hour), t0.Add(2*time.Hour), timeline.Blocked, "dns")
	d.add("t.me", "Telkomsel", t0.Add(2*time.Hour), t0.Add(6*time.Hour), timeline.Accessible, "")
	c := &clock{t: t0}
	w := newWatcher(t, cfg, d, c)
	if err := w.Check(ctx(t)); err != nil { // the start
		t.Fatal(err)
	}
	c.set(t0.Add(3 * time.Hour))
	err := w.Check(ctx(t))
	if err == nil || !strings.HasPrefix(err.Error(), "webhook ops: event ") || !strings.HasSuffix(err.Error(), ": 500 Internal Server Error: receiver down") {
		t.Fatalf("first check: error %v, want the webhook's failure", err)
	}
	if s := w.Stats(); s.Sent != 0 || s.Failed != 1 || s.Pending != 2 {
		t.Errorf("after the failure: stats %+v, want 1 failed and 2 pending", s)
	}
	c.set(t0.Add(4 * time.Hour))
	if err := w.Check(ctx(t)); err != nil {
		t.Fatal(err)
	}
	got := r.bodies()
	if len(got) != 2 || !strings.Contains(got[0], `"to":"blocked"`) || !strings.Contains(got[1], `"to":"accessible"`) {
		t.Fatalf("got %q, want both events in order", got)
	}
	if s := w.Stats(); s.Sent != 2 || s.Failed != 1 || s.Pending != 0 || s.Dropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestQueueOverflowCounted(t *testing.T) {
	r := newReceiver(t)
	r.setFail(1000)
	cfg := alert.Config{Webhooks: []alert.Webhook{{Name: "ops", URL: r.URL, Retries: intp(0)}}, Queue: 2,
		Watch: []alert.Pair{{Domain: "t.me", Network: "*"}}}
	d := &data{}
	d.add("t.me", "Telkomsel", t0.Add(-24*time.Hour), t0.Add(time.Hour), timeline.Accessible, "")
	d.add("t.me", "Telkomsel", t0.Add(time.Hour), t0.Add(2*time.Hour), timeline.Blocked, "dns")
	d.add("t.me", "Telkomsel", t0.Add(2*time.Hour), t0.Add(3*time.Hour), timeline.Accessible, "")
	d.add("t.me", "Telkomsel", t0.Add(3*time.Hour), t0.Add(6*time.Hour), timeline.Blocked, "tls")
	c := &clock{t: t0}
	w := newWatcher(t, cfg, d, c)
	if err := w.Check(ctx(t)); err != nil { // the start
		t.Fatal(err)
	}
	c.set(t0.Add(4 * time.Hour))
	if err := w.Check(ctx(t)); err == nil {
		t.Fatal("no error from a failing webhook")
	}
	if s := w.Stats(); s.Dropped != 1 || s.Pending != 2 || s.Failed != 1 ||
		len(s.Webhooks) != 1 || s.Webhooks[0] != (alert.WebhookStats{Name: "ops", Failed: 1, Pending: 2, Dropped: 1}) {
		t.Errorf("stats %+v, want 1 dropped, 2 pending", s)
	}
	r.setFail(0)
	if err := w.Check(ctx(t)); err != nil {
		t.Fatal(err)
	}
	got := r.bodies()
	if len(got) != 2 || !strings.Contains(got[0], `"method":""`) || !strings.Contains(got[1], `"method":"tls"`) {
		t.Errorf("got %q, want the two newest events", got)
	}
}

func TestDamagedStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.json")
	if err := os.WriteFile(path, []byte(`{"version":1,`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := alert.Config{StateFile: path}
	if _, err := alert.New(cfg, &data{}, nil); err == nil || err.Error() != "state file "+path+": unexpected end of JSON input" {
		t.Errorf("New: %v", err)
	}
	if err := os.WriteFile(path, []byte(`{"version":2}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := alert.New(cfg, &data{}, nil); err == nil || err.Error() != "state file "+path+": version 2, want 1" {
		t.Errorf("New: %v", err)
	}
	cfg.Queue = -1
	if _, err := alert.New(cfg, &data{}, nil); err == nil || err.Error() != "alerts.queue: -1 is negative" {
		t.Errorf("New: %v", err)
	}
}

// TestLateMeasurements: a probe's backlog arriving late reveals changes confirmed before
// the last check; they fire then, in order.
func TestLateMeasurements(t *testing.T) {
	r := newReceiver(t)
	cfg := alert.Config{Webhooks: []alert.Webhook{{Name: "ops", URL: r.URL}}, Watch: []alert.Pair{{Domain: "t.me", Network: "Telkomsel"}}}
	d := &data{}
	d.add("t.me", "Telkomsel", t0.Add(-24*time.Hour), t0.Add(time.Hour), timeline.Accessible, "")
	d.add("t.me", "Telkomsel", t0.Add(time.Hour), t0.Add(2*time.Hour), timeline.Blocked, "dns")
	d.add("t.me", "Telkomsel", t0.Add(3*time.Hour), t0.Add(6*time.Hour), timeline.Blocked, "dns")
	c := &clock{t: t0}
	w := newWatcher(t, cfg, d, c)
	check := func(at time.Time) {
		t.Helper()
		c.set(at)
		if err := w.Check(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	check(t0)
	check(t0.Add(5 * time.Hour))
	d.add("t.me", "Telkomsel", t0.Add(2*time.Hour), t0.Add(3*time.Hour), timeline.Accessible, "") // the backlog
	check(t0.Add(5*time.Hour + 30*time.Minute))
	check(t0.Add(6 * time.Hour))
	got := r.deliveries()
	if len(got) != 3 {
		t.Fatalf("got %q, want 3 transitions", r.bodies())
	}
	for i, want := range []struct {
		tr     timeline.Transition
		sentAt time.Time
	}{
		{tr("t.me", "Telkomsel", timeline.Accessible, timeline.Blocked, "dns", t0.Add(time.Hour)), t0.Add(5 * time.Hour)},
		{tr("t.me", "Telkomsel", timeline.Blocked, timeline.Accessible, "", t0.Add(2*time.Hour)), t0.Add(5*time.Hour + 30*time.Minute)},
		{tr("t.me", "Telkomsel", timeline.Accessible, timeline.Blocked, "dns", t0.Add(3*time.Hour)), t0.Add(5*time.Hour + 30*time.Minute)},
	} {
		if w := transitionBody(got[i].header.Get("X-Pantau-Delivery"), want.tr, want.sentAt); got[i].body != w {
			t.Errorf("delivery %d\n got %s\nwant %s", i, got[i].body, w)
		}
	}
}

// TestWindowSlides: once a state has lasted longer than the lookback, the window starts
// inside it (a first state, from unknown): that is not a change, and the next real change
// still fires.
func TestWindowSlides(t *testing.T) {
	r := newReceiver(t)
	cfg := alert.Config{Webhooks: []alert.Webhook{{Name: "ops", URL: r.URL}}, Watch: []alert.Pair{{Domain: "t.me", Network: "*"}},
		Lookback: yamlconf.Duration{Duration: 24 * time.Hour}}
	d := &data{}
	d.add("t.me", "Telkomsel", t0.Add(-48*time.Hour), t0.Add(time.Hour), timeline.Accessible, "")
	d.add("t.me", "Telkomsel", t0.Add(time.Hour), t0.Add(72*time.Hour), timeline.Blocked, "dns")
	d.add("t.me", "Telkomsel", t0.Add(72*time.Hour), t0.Add(80*time.Hour), timeline.Accessible, "")
	c := &clock{t: t0}
	w := newWatcher(t, cfg, d, c)
	for h := 0; h <= 76; h += 2 {
		c.set(t0.Add(time.Duration(h) * time.Hour))
		if err := w.Check(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	got := r.bodies()
	if len(got) != 2 || !strings.Contains(got[0], `"from":"accessible","to":"blocked"`) ||
		!strings.Contains(got[1], `"from":"blocked","to":"accessible"`) {
		t.Errorf("got %q, want the block and the lift only", got)
	}
}
