package alert_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

func rep(id string, overall orders.Status, nets ...any) orders.Report {
	r := orders.Report{Order: orders.Order{ID: id}, Status: overall}
	for i := 0; i < len(nets); i += 2 {
		r.Networks = append(r.Networks, orders.NetworkReport{Network: nets[i].(string), Status: nets[i+1].(orders.Status)})
	}
	return r
}

func complianceBody(id, order, network string, from, to orders.Status, at time.Time) string {
	return fmt.Sprintf(`{"type":"compliance","id":"%s","order":"%s","network":"%s","from":"%s","to":"%s","at":"%s","sent_at":"%s"}`,
		id, order, network, from, to, at.Format(time.RFC3339), at.Format(time.RFC3339))
}

func checkBodies(t *testing.T, r *receiver, want ...func(id string) string) {
	t.Helper()
	got := r.deliveries()
	if len(got) != len(want) {
		t.Fatalf("got %d deliveries, want %d: %q", len(got), len(want), r.bodies())
	}
	for i, d := range got {
		id := d.header.Get("X-Pantau-Delivery")
		if !hexID.MatchString(id) {
			t.Errorf("delivery %d: id %q", i, id)
		}
		if w := want[i](id); d.body != w {
			t.Errorf("delivery %d\n got %s\nwant %s", i, d.body, w)
		}
	}
}

func TestComplianceChanges(t *testing.T) {
	r, transitionsOnly := newReceiver(t), newReceiver(t)
	const block, lift = "test-block", "test-lift"
	cfg := alert.Config{
		Webhooks: []alert.Webhook{{Name: "regulator", URL: r.URL, Events: []string{"compliance"}},
			{Name: "ops", URL: transitionsOnly.URL, Events: []string{"transition"}}},
		Watch:  []alert.Pair{{Domain: "t.me", Network: "*"}},
		Orders: []string{block, "kominfo-2099-missing"},
	}
	scope := []string{"t.me", "web.telegram.org"}
	d := &data{orders: []orders.Order{
		{ID: block, Domains: scope, Expect: timeline.Blocked, Effective: t0, Grace: 48 * time.Hour, Networks: []string{"Telkomsel", "Indosat"}},
		{ID: lift, Domains: scope, Expect: timeline.Accessible, Effective: t0, Networks: []string{"Telkomsel", "Indosat"}}, // not watched
	}}
	// Telkomsel blocks both names three hours after the order; Indosat never does.
	for _, domain := range scope {
		d.add(domain, "Telkomsel", t0.Add(-24*time.Hour), t0.Add(3*time.Hour), timeline.Accessible, "")
		d.add(domain, "Telkomsel", t0.Add(3*time.Hour), t0.Add(80*time.Hour), timeline.Blocked, "dns")
		d.add(domain, "Indosat", t0.Add(-24*time.Hour), t0.Add(80*time.Hour), timeline.Accessible, "")
	}
	c := &clock{t: t0.Add(time.Hour)}
	w := newWatcher(t, cfg, d, c)
	if err := w.Check(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if b := r.bodies(); len(b) != 0 {
		t.Fatalf("the first report is the baseline, got %q", b)
	}
	at := t0.Add(72 * time.Hour)
	c.set(at)
	for range 2 { // unchanged at the second check: nothing more
		if err := w.Check(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if rep, _ := d.Compliance(ctx(t), block, c.now()); rep.Status != orders.NonCompliant {
			t.Fatalf("report at %s: %s, want non-compliant", c.now(), rep.Status)
		}
		c.set(c.now().Add(time.Hour))
	}
	checkBodies(t, r,
		func(id string) string { return complianceBody(id, block, "", orders.Pending, orders.NonCompliant, at) },
		func(id string) string {
			return complianceBody(id, block, "Telkomsel", orders.Pending, orders.Compliant, at)
		},
		func(id string) string {
			return complianceBody(id, block, "Indosat", orders.Pending, orders.NonCompliant, at)
		})
	if b := transitionsOnly.bodies(); len(b) != 1 || !strings.Contains(b[0], `"network":"Telkomsel","from":"accessible","to":"blocked"`) {
		t.Errorf("transition-only webhook got %q, want t.me blocked on Telkomsel", b)
	}
}

// TestStateFile: a restarted watcher neither re-sends nor misses: it delivers what was
// queued, keeps the start and the transitions already sent, and the compliance baseline.
func TestStateFile(t *testing.T) {
	r := newReceiver(t)
	r.setFail(1000)
	path := filepath.Join(t.TempDir(), "alerts.json")
	const block = "kominfo-2017-telegram-block"
	cfg := alert.Config{
		Webhooks:  []alert.Webhook{{Name: "ops", URL: r.URL, Retries: intp(0)}},
		Watch:     []alert.Pair{{Domain: "t.me", Network: "Telkomsel"}},
		StateFile: path,
	}
	d := &data{orders: []orders.Order{{ID: block}}}
	d.setReport(rep(block, orders.Pending, "Telkomsel", orders.Pending))
	d.add("t.me", "Telkomsel", t0.Add(-24*time.Hour), t0.Add(time.Hour), timeline.Accessible, "")
	d.add("t.me", "Telkomsel", t0.Add(time.Hour), t0.Add(2*time.Hour), timeline.Blocked, "dns")
	d.add("t.me", "Telkomsel", t0.Add(2*time.Hour), t0.Add(7*time.Hour), timeline.Accessible, "")
	c := &clock{t: t0}
	check := func(w *alert.Watcher, wantErr bool) {
		t.Helper()
		if err := w.Check(ctx(t)); (err != nil) != wantErr {
			t.Fatalf("check: %v", err)
		}
	}
	w1 := newWatcher(t, cfg, d, c)
	check(w1, false)
	d.setReport(rep(block, orders.Compliant, "Telkomsel", orders.Compliant))
	c.set(t0.Add(2 * time.Hour))
	check(w1, true)
	if s := w1.Stats(); s.Pending != 3 || s.Sent != 0 {
		t.Fatalf("stats %+v, want 3 pending", s)
	}

	// Restart with the receiver back: the queue is delivered; the lift, confirmed while the
	// watcher was down, is found (the start is kept).
	r.setFail(0)
	c.set(t0.Add(5 * time.Hour))
	w2 := newWatcher(t, cfg, d, c)
	if s := w2.Stats(); s.Pending != 3 {
		t.Fatalf("restarted: stats %+v, want 3 pending from the state file", s)
	}
	check(w2, false)
	got := r.bodies()
	if len(got) != 4 || !strings.Contains(got[0], `"to":"blocked"`) || !strings.Contains(got[1], `"network":"",`) ||
		!strings.Contains(got[2], `"network":"Telkomsel",`) || !strings.Contains(got[3], `"to":"accessible"`) {
		t.Fatalf("got %q, want the 3 queued events then the new transition", got)
	}

	// Another restart: nothing is sent again; a compliance change is news (no new baseline).
	d.setReport(rep(block, orders.Compliant, "Telkomsel", orders.NonCompliant))
	c.set(t0.Add(6 * time.Hour))
	w3 := newWatcher(t, cfg, d, c)
	check(w3, false)
	got = r.bodies()
	if len(got) != 5 || !strings.Contains(got[4], `"from":"compliant","to":"non-compliant"`) {
		t.Fatalf("got %q, want one more: Telkomsel non-compliant", got)
	}
	if s := w3.Stats(); s.Sent != 1 || s.Pending != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestRestartDropsCounted: events a restart cannot keep (a shorter queue, a webhook gone)
// are counted as dropped.
func TestRestartDropsCounted(t *testing.T) {
	r := newReceiver(t)
	r.setFail(1000)
	path := filepath.Join(t.TempDir(), "alerts.json")
	cfg := alert.Config{Webhooks: []alert.Webhook{{Name: "old", URL: r.URL, Retries: intp(0)}},
		Watch: []alert.Pair{{Domain: "t.me", Network: "*"}}, StateFile: path}
	d := &data{}
	d.add("t.me", "Telkomsel", t0.Add(-24*time.Hour), t0.Add(time.Hour), timeline.Accessible, "")
	d.add("t.me", "Telkomsel", t0.Add(time.Hour), t0.Add(3*time.Hour), timeline.Blocked, "dns")
	c := &clock{t: t0}
	old := newWatcher(t, cfg, d, c)
	if err := old.Check(ctx(t)); err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(2 * time.Hour))
	if err := old.Check(ctx(t)); err == nil {
		t.Fatal("no error from a failing webhook")
	}
	d.add("t.me", "Telkomsel", t0.Add(3*time.Hour), t0.Add(4*time.Hour), timeline.Accessible, "")
	c.set(t0.Add(4 * time.Hour))
	if err := old.Check(ctx(t)); err == nil {
		t.Fatal("no error from a failing webhook")
	}
	if s := old.Stats(); s.Pending != 2 {
		t.Fatalf("stats %+v, want 2 pending", s)
	}
	cfg.Queue = 1 // a restart with a shorter queue keeps the newest
	w := newWatcher(t, cfg, d, c)
	if s := w.Stats(); s.Dropped != 1 || s.Pending != 1 {
		t.Errorf("stats %+v, want 1 dropped and 1 pending", s)
	}
	cfg.Webhooks[0].Name = "new"
	w = newWatcher(t, cfg, d, c)
	if s := w.Stats(); s.Dropped != 2 || s.Pending != 0 {
		t.Errorf("stats %+v, want the old webhook's events counted as dropped", s)
	}
}

func TestRun(t *testing.T) {
	r := newReceiver(t)
	cfg := alert.Config{Webhooks: []alert.Webhook{{Name: "ops", URL: r.URL}}, Watch: []alert.Pair{{Domain: "t.me", Network: "*"}},
		Interval: yamlconf.Duration{Duration: time.Second}}
	d := &data{}
	d.add("t.me", "Telkomsel", t0.Add(-24*time.Hour), t0.Add(time.Hour), timeline.Accessible, "")
	d.add("t.me", "Telkomsel", t0.Add(time.Hour), t0.Add(3*time.Hour), timeline.Blocked, "dns")
	c := &clock{t: t0}
	w := newWatcher(t, cfg, d, c)
	runCtx, cancel := context.WithCancel(ctx(t))
	done := make(chan struct{})
	go func() { w.Run(runCtx); close(done) }()
	// Wait (bounded) for the first check, at t0, then for a later one to send the block.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("Run: no %s after 30s", what)
			}
		}
	}
	waitFor("first check", func() bool { d.mu.Lock(); defer d.mu.Unlock(); return len(d.queries) > 0 })
	c.set(t0.Add(2 * time.Hour))
	waitFor("delivery", func() bool { return w.Stats().Sent > 0 })
	cancel()
	<-done
	if n := len(r.bodies()); n != 1 {
		t.Errorf("Run delivered %d events, want 1", n)
	}
}
