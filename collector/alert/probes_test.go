package alert_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/collector/fleet"
	"github.com/pantau-dev/pantau/collector/store"
)

// beats is the probes' latest heartbeats, kept in memory as probe_status would be.
type beats struct {
	mu   sync.Mutex
	last map[string]store.LatestBeat
}

func (b *beats) beat(probe, network string, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil {
		b.last = map[string]store.LatestBeat{}
	}
	b.last[probe] = store.LatestBeat{Identity: store.Identity{Probe: probe, Network: network, Country: "ID", ASN: 64512}, At: at, Version: "v1.0.0"}
}

func (b *beats) ProbeStatuses(_ context.Context, since time.Time) ([]store.LatestBeat, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []store.LatestBeat
	for _, s := range b.last {
		if !s.At.Before(since) {
			out = append(out, s)
		}
	}
	return out, nil
}

type silence struct {
	Type, Probe, Network string
	LastHeartbeat        time.Time `json:"last_heartbeat"`
	At                   time.Time
}

func silences(t *testing.T, r *receiver) []silence {
	t.Helper()
	var out []silence
	for _, b := range r.bodies() {
		var s silence
		if err := json.Unmarshal([]byte(b), &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestProbeSilenceAlerts(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	rcv := newReceiver(t)
	clk := &clock{t: t0}
	cfg := alert.Config{Webhooks: []alert.Webhook{{Name: "ops", URL: rcv.URL, Events: []string{alert.KindProbeSilent, alert.KindNetworkSilent}}},
		StateFile: filepath.Join(t.TempDir(), "alerts.json")}
	b := &beats{}
	fl, err := fleet.New(fleet.Config{}, b, clk.now) // silent after 1h
	if err != nil {
		t.Fatal(err)
	}
	start := func() *alert.Watcher {
		w := newWatcher(t, cfg, &data{}, clk)
		w.WatchProbes(fl, time.Hour)
		return w
	}
	w := start()
	check := func(at time.Time) {
		t.Helper()
		clk.set(at)
		if err := w.Check(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	b.beat("jkt-01", "Telkomsel", t0)
	b.beat("jkt-02", "Telkomsel", t0)
	b.beat("sby-01", "XL", t0.Add(10*time.Minute))
	// jkt-01 keeps beating; jkt-02 stops at t0 (silent from t0+1h), sby-01 at t0+10m.
	for m := 5; m <= 80; m += 5 {
		b.beat("jkt-01", "Telkomsel", t0.Add(time.Duration(m)*time.Minute))
		check(t0.Add(time.Duration(m) * time.Minute))
		if m == 65 {
			if got := silences(t, rcv); len(got) != 1 || got[0].Type != alert.KindProbeSilent || got[0].Probe != "jkt-02" ||
				!got[0].LastHeartbeat.Equal(t0) || !got[0].At.Equal(t0.Add(time.Hour)) {
				t.Fatalf("at +65m: %+v", got)
			}
		}
	}
	got := silences(t, rcv)
	if len(got) != 3 || got[1].Probe != "sby-01" || got[2].Type != alert.KindNetworkSilent || got[2].Network != "XL" || got[2].Probe != "" {
		t.Fatalf("at +80m, want jkt-02, sby-01 and network XL once each: %+v", got)
	}
	// A restart remembers what was sent (state file) and waits an hour before judging.
	w = start()
	for _, m := range []time.Duration{100, 170} {
		b.beat("jkt-01", "Telkomsel", t0.Add(m*time.Minute))
		check(t0.Add(m * time.Minute))
	}
	if n := len(silences(t, rcv)); n != 3 {
		t.Fatalf("after a restart: %d events, want the 3 sent before", n)
	}
	// A probe that comes back and falls silent again is a new event.
	b.beat("jkt-02", "Telkomsel", t0.Add(175*time.Minute))
	check(t0.Add(175 * time.Minute))
	b.beat("jkt-01", "Telkomsel", t0.Add(230*time.Minute))
	check(t0.Add(240 * time.Minute))
	got = silences(t, rcv)
	if len(got) != 4 || got[3].Probe != "jkt-02" || !got[3].LastHeartbeat.Equal(t0.Add(175*time.Minute)) {
		t.Fatalf("second silence of jkt-02: %+v", got)
	}
}
