package api_test

import (
	"net/http"
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
