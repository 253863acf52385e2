package api_test

import (
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/internal/geo"
	"github.com/pantau-dev/pantau/internal/geo/geotest"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// asnDB writes a GeoLite2-ASN-style file covering 36.64.0.0/11 and opens it.
func asnDB(t *testing.T) *geo.DB {
	t.Helper()
	path := geotest.WriteDB(t, "GeoLite2-ASN", map[string]mmdbtype.Map{"36.64.0.0/11": {
		"autonomous_system_number":       mmdbtype.Uint32(7713),
		"autonomous_system_organization": mmdbtype.String("PT Telekomunikasi Indonesia"),
	}})
	db, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSourceGeo stores the ASN of the submitting address: behind a trusted proxy, the
// last X-Forwarded-For entry (the one the proxy added); otherwise the peer address.
func TestSourceGeo(t *testing.T) {
	db := asnDB(t)
	xff := map[string]string{"X-Forwarded-For": "36.86.1.1, 36.86.63.185"}
	for _, tc := range []struct {
		name  string
		trust bool
		asn   uint32
		org   string
	}{
		{"trusted proxy", true, 7713, "PT Telekomunikasi Indonesia"},
		{"no proxy: the header is the client's word", false, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *api.Options) { o.Geo = db; o.TrustProxy = tc.trust })
			m := measurementtest.Simple("t.me", time.Now().Add(-time.Hour))
			if r := f.post(t, token(t, claims), batch(t, m), xff); r.status != 200 {
				t.Fatalf("HTTP %d %s", r.status, r.body)
			}
			got := f.query(t, window()).Measurements
			if len(got) != 1 || got[0].SourceASN != tc.asn || got[0].SourceOrg != tc.org {
				t.Errorf("stored %s, want source %d %q", measurementtest.JSON(t, got), tc.asn, tc.org)
			}
		})
	}
}
