package api_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// TestProbeCannotClaimSource: a probe's measurement that claims to be imported (source
// ooni, OONI provenance) is rejected, so that no probe can pass its data off as OONI's;
// the same measurement without them is stored.
func TestProbeCannotClaimSource(t *testing.T) {
	f := newFixture(t)
	tok := token(t, claims)
	start := time.Now().Add(-time.Hour)
	no := false
	prov := &measurement.Provenance{ReportID: "20170720T081337Z_AS7713_x", ProbeASN: "AS7713", ProbeCC: "ID", OONIBlocking: "dns", OONIAccessible: &no}
	for _, tc := range []struct {
		name string
		edit func(m *measurement.Measurement)
		want string
	}{
		{"source and provenance", func(m *measurement.Measurement) { m.Source, m.Provenance = measurement.SourceOONI, prov },
			"measurements[0]: source, provenance: only imported measurements carry them, not a probe's"},
		{"provenance alone", func(m *measurement.Measurement) { m.Provenance = prov },
			"measurements[0]: provenance: is set but source is empty"},
		{"another source", func(m *measurement.Measurement) { m.Source, m.Provenance = "pantau", prov },
			`measurements[0]: source: "pantau" is not one of ooni`},
	} {
		m := measurementtest.Simple("t.me", start)
		tc.edit(m)
		r := f.post(t, tok, batch(t, m), nil)
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: HTTP %d %s, want 422", tc.name, r.status, r.body)
		}
		if got := decode[api.IngestResponse](t, r).Items[0].Error; got != tc.want {
			t.Errorf("%s: error %q, want %q", tc.name, got, tc.want)
		}
	}
	if n := f.count(t, store.Reach); n != 0 {
		t.Fatalf("%d reach points stored, want 0", n)
	}
	if resp := f.submit(t, tok, measurementtest.Simple("t.me", start)); resp.Accepted != 1 {
		t.Errorf("without source: %+v, want accepted", resp)
	}
}

// TestQueryShowsSource: an imported measurement (written to the store as `collector
// import ooni` does) comes back with its source: a CSV column, and in the JSON the
// measurement's source and provenance.
func TestQueryShowsSource(t *testing.T) {
	f := newFixture(t)
	st, err := store.New(store.Config{URL: f.influx, Bucket: f.bucket}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	no := false
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	imported := measurementtest.Simple("t.me", start)
	imported.Source = measurement.SourceOONI
	imported.Provenance = &measurement.Provenance{ReportID: "r1", ProbeASN: "AS7713", ProbeCC: "ID", OONIBlocking: "dns", OONIAccessible: &no}
	id := store.Identity{Probe: "ooni/AS7713", Network: "Telkom Indonesia", Country: "ID", ASN: 7713}
	if err := st.Write(context.Background(), []store.Item{{M: imported, Probe: id, ReceivedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	f.submit(t, token(t, claims), measurementtest.Simple("t.me", start.Add(time.Second)))
	r := do(t, http.MethodGet, f.url+"/api/v1/measurements?format=csv&domain=t.me&"+window(), nil, nil)
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("rows %q, %v", rows, err)
	}
	last := len(rows[0]) - 1
	if rows[0][last] != "source" || rows[1][2] != claims.Probe || rows[1][last] != "" || rows[2][2] != "ooni/AS7713" || rows[2][last] != "ooni" {
		t.Errorf("rows %q", rows)
	}
	page := f.query(t, "network=Telkom+Indonesia&"+window())
	if len(page.Measurements) != 1 {
		t.Fatalf("%d measurements, want 1", len(page.Measurements))
	}
	if m := page.Measurements[0].Measurement; m.Source != "ooni" || m.Provenance == nil || m.Provenance.OONIBlocking != "dns" || page.Measurements[0].Probe != id {
		t.Errorf("got %+v, provenance %+v", page.Measurements[0], m.Provenance)
	}
}
