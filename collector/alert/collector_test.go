package alert_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

var _ alert.Data = (*report.Service)(nil)

// write stores measurements of domain by two Telkomsel probes every 30 minutes in
// [from, to), through the ingest wrapper the collector gives its API.
func write(t *testing.T, st report.IngestStore, domain string, from, to time.Time, status, method string) {
	t.Helper()
	var items []store.Item
	for at := from; at.Before(to); at = at.Add(30 * time.Minute) {
		for i, p := range []string{"tsel-1", "tsel-2"} {
			m := &measurement.Measurement{ID: measurement.NewID(), SchemaVersion: 1, Target: "https://" + domain + "/", Kind: "web",
				Domain: domain, Port: 443, StartedAt: at.Add(time.Duration(i) * time.Minute), RuntimeMS: 100,
				Software: measurement.Software{Name: "pantau", Version: "test"}}
			m.Verdict.Status, m.Verdict.Method = status, method
			items = append(items, store.Item{M: m, Probe: store.Identity{Probe: p, Network: "Telkomsel", Country: "ID", ASN: 23693},
				ReceivedAt: m.StartedAt.Add(time.Minute)})
		}
	}
	if err := st.Write(ctx(t), items); err != nil {
		t.Fatal(err)
	}
}

// TestCollector: the watcher over the collector's report service and a real store sees a
// block as the probes' measurements arrive, and posts it once.
func TestCollector(t *testing.T) {
	url, _ := influxtest.Server(t)
	st, err := store.New(store.Config{URL: url, Bucket: influxtest.NewBucket(t), Timeout: time.Minute}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	c := &clock{t: t0}
	svc, err := report.New(report.Config{Source: st, Now: c.now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ingest := svc.Watch(st)
	write(t, ingest, "t.me", t0.Add(-24*time.Hour), t0, "accessible", "")
	r := newReceiver(t)
	cfg := alert.Config{Webhooks: []alert.Webhook{{Name: "ops", URL: r.URL, Secret: "s3cret", Events: []string{"transition"}}},
		Watch: []alert.Pair{{Domain: "t.me", Network: "*"}}}
	w := newWatcher(t, cfg, svc, c)
	if err := w.Check(ctx(t)); err != nil {
		t.Fatal(err)
	}
	write(t, ingest, "t.me", t0, t0.Add(2*time.Hour), "blocked", "dns")
	for _, at := range []time.Time{t0.Add(2 * time.Hour), t0.Add(3 * time.Hour)} {
		c.set(at)
		if err := w.Check(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	got := r.deliveries()
	if len(got) != 1 {
		t.Fatalf("got %q, want the block once", r.bodies())
	}
	// The third agreeing measurement (k=3, m=2) confirms: tsel-1 at 00:00, tsel-2 at 00:01,
	// tsel-1 at 00:30.
	want := timeline.Transition{Domain: "t.me", Network: "Telkomsel", From: timeline.Accessible, To: timeline.Blocked, Method: "dns",
		At: t0, Confirmed: t0.Add(30 * time.Minute)}
	if b := transitionBody(got[0].header.Get("X-Pantau-Delivery"), want, t0.Add(2*time.Hour)); got[0].body != b {
		t.Errorf("body\n got %s\nwant %s", got[0].body, b)
	}
	if sig := got[0].header.Get("X-Pantau-Signature"); sig != alert.Sign([]byte("s3cret"), []byte(got[0].body)) {
		t.Errorf("signature %q", sig)
	}
}
