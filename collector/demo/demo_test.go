package demo_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/demo"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/collector/web"
	"github.com/pantau-dev/pantau/internal/influxtest"
)

// TestDemoLoadsOnceAndReadsBack loads the data set twice into a real InfluxDB (the second
// load stores nothing new: every measurement is there once), then serves it through the
// real report service and dashboard: Check finds the plan in the reports, and without the
// simulated notice it names every page that lacks it (and nothing else).
func TestDemoLoadsOnceAndReadsBack(t *testing.T) {
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	db, _, _ := strings.Cut(bucket, "/")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := store.New(store.Config{URL: url, Bucket: bucket, Timeout: time.Minute}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	first, err := demo.Load(ctx, st, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d measurements from %d probes in %s", first.Measurements, first.Probes, first.Elapsed)
	if n := influxtest.Count(t, url, db, store.Reach, "status"); n != first.Measurements || n < 20000 {
		t.Fatalf("%d reach points after the first load of %d measurements", n, first.Measurements)
	}
	if first.Elapsed > time.Minute {
		t.Errorf("the load took %s, want well under a minute", first.Elapsed)
	}
	// Another process (a new store, nothing remembered) loads it again.
	st2, err := store.New(store.Config{URL: url, Bucket: bucket, Timeout: time.Minute}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	again, err := demo.Load(ctx, st2, log)
	if err != nil {
		t.Fatal(err)
	}
	if n := influxtest.Count(t, url, db, store.Reach, "status"); n != first.Measurements || again.Measurements != first.Measurements {
		t.Fatalf("after a second load: %d reach points, %d measurements loaded; want %d", n, again.Measurements, first.Measurements)
	}

	svc, err := report.New(report.Config{Source: st, Params: timeline.Params{K: 3, M: 2, MaxSilence: demo.MaxSilence}}, log)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(opts ...web.Option) string {
		mux := http.NewServeMux()
		api := svc.Handler("")
		mux.Handle("/api/v1/", api)
		mux.Handle("/", web.New(svc, st, "", log, opts...))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	if err := demo.Check(ctx, client, serve(web.WithSimulated(demo.Notice))); err != nil {
		t.Fatalf("check of the simulated dashboard:\n%v", err)
	}
	err = demo.Check(ctx, client, serve())
	if err == nil {
		t.Fatal("check passed on a dashboard without the simulated notice")
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasSuffix(line, "no simulated-data notice on the page") {
			t.Errorf("without the notice, the check also says: %s", line)
		}
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != len(demo.Pages())+3 {
		t.Errorf("without the notice, %d pages lack it, want %d (the search page, the listed pages, a cell, an error page):\n%v", got, len(demo.Pages())+3, err)
	}
}
