package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/internal/influxtest"
)

// TestSmallDataSet runs the benchmark's pipeline on a smaller data set (20 probes, three
// names, a measurement and a heartbeat every 30 minutes, 30 days) against a real InfluxDB
// and the real report API: InfluxDB holds exactly the generated points, and every
// timeline and the compliance report say what the generator made the networks do (the
// checks the benchmark applies to its answers are themselves checked here).
func TestSmallDataSet(t *testing.T) {
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	db, _, _ := strings.Cut(bucket, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	w := newWorld(time.Date(2017, 7, 7, 0, 0, 0, 0, time.UTC), 30, 2, []string{"t.me", "telegram.org", "web.telegram.org"})
	w.cadence, w.beat = 30*time.Minute, 30*time.Minute
	n, _, err := load(ctx, url, bucket, w, 5000, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	size := w.size()
	if n.reach.Load() != size.reach || n.beats.Load() != size.beats || size.reach < 20*3*1440*9/10 {
		t.Fatalf("generated %d reach points and %d heartbeats, the world has %d and %d", n.reach.Load(), n.beats.Load(), size.reach, size.beats)
	}
	if err := verifyCounts(ctx, url, db, w); err != nil {
		t.Fatal(err)
	}

	base, st, stop, err := serveCollector(ctx, url, bucket, w, report.CacheConfig{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	client := &http.Client{Timeout: 2 * time.Minute}
	var pairs []pair
	for _, d := range w.domains {
		for i := range w.networks {
			pairs = append(pairs, pair{d, &w.networks[i]})
		}
	}
	if _, err := timelines(ctx, client, base, w, pairs); err != nil {
		t.Fatal(err)
	}
	_, rep, err := compliance(ctx, client, base, w, orderID, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The story, spelled out once more than checkCompliance does.
	want := map[string]orders.Status{"net01": orders.Compliant, "net06": orders.Compliant, "net07": orders.NonCompliant,
		"net08": orders.NonCompliant, "net09": orders.Compliant, "net10": orders.Compliant, "net11": orders.Unknown}
	for _, nr := range rep.Networks {
		if s, ok := want[nr.Network]; ok && nr.Status != s {
			t.Errorf("%s: %s, want %s", nr.Network, nr.Status, s)
		}
		if nr.Network == "net07" {
			for _, dr := range nr.Domains {
				if (dr.Domain == "t.me") != (dr.Status == orders.Compliant) {
					t.Errorf("net07 %s: %s (t.me stays blocked after the partial lift, the others do not)", dr.Domain, dr.Status)
				}
			}
		}
	}
	if rep.Status != orders.NonCompliant {
		t.Errorf("order status %s, want %s", rep.Status, orders.NonCompliant)
	}
	if obs, beats := st.take(); obs.rows == 0 || beats.rows == 0 {
		t.Errorf("store reads: observations %v, heartbeats %v: the report did not read the store", obs, beats)
	}
}
