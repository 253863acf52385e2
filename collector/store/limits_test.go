package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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
		name string
		item func(i int) store.Item // the i-th item, each a new series
		want string                 // in the error
	}{
		{"values per tag", func(i int) store.Item { return item(measurementtest.Simple(fmt.Sprintf("d%03d.example", i), t0)) },
			"max-values-per-tag limit exceeded (20/20)"},
		{"series per database", func(i int) store.Item {
			it := item(measurementtest.Simple(fmt.Sprintf("d%02d.example", i%17), t0))
			it.Probe.Probe = fmt.Sprint("probe-", i/17)
			return it
		}, "max-series-per-database limit exceeded: (50)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, in.URL(), in.NewBucket(t))
			// 1.8 checks its limits against the index before each request, which may let a
			// request or two past: write until a write fails.
			var err error
			for i := 0; i < 100 && err == nil; i++ {
				err = s.Write(ctx(t), []store.Item{tc.item(i)})
			}
			if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write past the limit = %v, want unavailable with %q", err, tc.want)
			}
			// A series that exists is written as ever.
			again := tc.item(0)
			again.M = measurementtest.Simple(again.M.Domain, t0.Add(time.Second))
			write(t, s, again)
		})
	}
}
