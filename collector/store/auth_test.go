package store_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// TestInfluxDB18Authentication runs the 1.8 settings against an influxd with
// authentication on: token "user:password" writes (v2 write API) and reads (InfluxQL over
// /query); a wrong password is a configuration error, unavailable, for both.
func TestInfluxDB18Authentication(t *testing.T) {
	in := influxtest.Start(t, "INFLUXDB_HTTP_AUTH_ENABLED=true")
	// With no user yet, 1.8 lets anyone create the first admin; after that, everything
	// needs credentials.
	// A user just created can take a moment to be authorised (1.8 answers 403 until its
	// meta data is current), so a 403 is asked again for up to 10 s.
	admin := func(q string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			req, _ := http.NewRequest(http.MethodPost, in.URL()+"/query", strings.NewReader(url.Values{"q": {q}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("pantau", "s3cret-pw")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			if resp.StatusCode != http.StatusForbidden || time.Now().After(deadline) {
				t.Fatalf("%s: HTTP %d", q, resp.StatusCode)
			}
		}
	}
	admin(`CREATE USER "pantau" WITH PASSWORD 's3cret-pw' WITH ALL PRIVILEGES`)
	admin(`CREATE DATABASE "authdb"`)

	s, err := store.New(store.Config{URL: in.URL(), Bucket: "authdb/autogen", Token: "pantau:s3cret-pw", Timeout: time.Minute}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	m := measurementtest.Simple("example.com", t0)
	write(t, s, item(m))
	got, _, err := s.Measurements(ctx(t), store.Filter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)})
	if err != nil || len(got) != 1 || got[0].Measurement.ID != m.ID {
		t.Fatalf("Measurements = %v, %v; want %s", sortedIDs(got), err, m.ID)
	}
	obs, err := s.Observations(ctx(t), store.ObsFilter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)})
	if err != nil || len(obs) != 1 || obs[0].ID != m.ID {
		t.Fatalf("Observations = %v, %v", obs, err)
	}

	bad, err := store.New(store.Config{URL: in.URL(), Bucket: "authdb/autogen", Token: "pantau:wrong", Timeout: time.Minute}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bad.Close)
	if err := bad.Write(ctx(t), []store.Item{item(measurementtest.Simple("example.com", t0.Add(time.Minute)))}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Write with a wrong password = %v, want unavailable", err)
	}
	if _, _, err := bad.Measurements(ctx(t), store.Filter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Measurements with a wrong password = %v, want unavailable", err)
	}
	if _, err := bad.Observations(ctx(t), store.ObsFilter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Observations with a wrong password = %v, want unavailable", err)
	}
}
