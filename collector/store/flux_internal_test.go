package store

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/query"

	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/measurement"
)

// TestFluxStringIsALiteral checks the second line of defence: even a value that
// validation would refuse is only ever a string literal to Flux, which evaluates it to
// exactly the value.
func TestFluxStringIsALiteral(t *testing.T) {
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	s, err := New(Config{URL: url, Bucket: bucket}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := &measurement.Measurement{ID: measurement.NewID(), SchemaVersion: 1, Kind: "web", Domain: "example.com", StartedAt: time.Now().Add(-time.Hour)}
	if err := s.Write(ctx, []Item{{M: m}}); err != nil {
		t.Fatal(err)
	}
	tricky := []string{`x") |> drop()`, `x" or true or r._value == "`, `a"b`, `\`, `\"`, "a\nb", "a\r\tb",
		"${x}", `\${x}`, `$`, `a$`, `$$`, `$${`, `$\`, `$"`, "$\n", "é€", ""}
	for _, v := range tricky {
		// The literal must equal the same text spelled byte by byte (\xNN), and read back
		// as itself (except what annotated CSV cannot carry: CR, and "" which reads as null).
		for _, expr := range []string{fluxString(v) + " == " + hexLiteral(v), fluxString(v)} {
			flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: -1d)
  |> filter(fn: (r) => r._measurement == "reach" and r._field == "id")
  |> map(fn: (r) => ({_time: r._time, _value: %s}))`, fluxString(bucket), expr)
			var got []any
			err := s.run(ctx, flux, func(r *query.FluxRecord) error {
				got = append(got, r.Value())
				return nil
			})
			if err != nil {
				t.Errorf("%q: %v\n%s", v, err, flux)
				continue
			}
			want := any(true)
			if expr == fluxString(v) {
				if v == "" || strings.Contains(v, "\r") {
					continue
				}
				want = v
			}
			if len(got) != 1 || got[0] != want {
				t.Errorf("%s evaluated to %q, want %q", expr, got, want)
			}
		}
	}
}

// hexLiteral spells s as a Flux string literal of \xNN escapes only.
func hexLiteral(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, `\x%02x`, s[i])
	}
	b.WriteByte('"')
	return b.String()
}
