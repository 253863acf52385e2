package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// TestLimitAnswersAreUnavailable: when a write would pass InfluxDB's series or
// values-per-tag limit, InfluxDB 1.8 answers 400 "partial write: … limit exceeded". The
// data is not at fault (someone else filled the database), so the write is unavailable,
// for the probe to retry once the operator raised the limit, never a final refusal; writes
// of series that exist still succeed.
func TestLimitAnswersAreUnavailable(t *testing.T) {
	in := influxtest.Start(t, "INFLUXDB_DATA_MAX_SERIES_PER_DATABASE=50", "INFLUXDB_DATA_MAX_VALUES_PER_TAG=20")
	for _, tc := range []struct {
		name  string
		fill  func(i int) store.Item // the i-th item that fills the database to the limit
		fills int
		over  store.Item // an item needing a new series past the limit
		want  string     // in the error
	}{
		{"values per tag", func(i int) store.Item { return item(measurementtest.Simple(fmt.Sprintf("d%02d.example", i), t0)) }, 20,
			item(measurementtest.Simple("d20.example", t0)), "max-values-per-tag limit exceeded (20/20)"},
		{"series per database", func(i int) store.Item {
			it := item(measurementtest.Simple(fmt.Sprintf("d%02d.example", i%17), t0))
			it.Probe.Probe = fmt.Sprint("probe-", i/17)
			return it
		}, 50, func() store.Item {
			it := item(measurementtest.Simple("d00.example", t0))
			it.Probe.Probe = "probe-3"
			return it
		}(), "max-series-per-database limit exceeded: (50)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, in.URL(), in.NewBucket(t))
			for i := range tc.fills {
				write(t, s, tc.fill(i))
			}
			err := s.Write(ctx(t), []store.Item{tc.over})
			if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write past the limit = %v, want unavailable with %q", err, tc.want)
			}
			// A series that exists is written as ever.
			again := tc.fill(0)
			again.M = measurementtest.Simple(again.M.Domain, t0.Add(1e9))
			write(t, s, again)
		})
	}
}
