package ingest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/ingest"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// TestDecodeBatchRaw: each item's bytes are the batch's from the first to the last byte
// of its JSON value, white space and escapes inside kept, the white space and separators
// around it left out; refused items too.
func TestDecodeBatchRaw(t *testing.T) {
	good := measurementtest.JSON(t, measurementtest.Simple("example.com", fuzzNow.Add(-time.Hour)))
	odd := strings.Replace(strings.ReplaceAll(good, `,"`, ",\r\n\t \""), `"reason":"ok"`, `"reason" :	"\u006fk"`, 1)
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"array", " [\n" + odd + " ,\t" + `{"a":1}` + "\n]\n", []string{odd, `{"a":1}`}},
		{"ndjson", odd + "\r\n" + good + "\n", []string{odd, good}},
		{"run together", `"x"` + good + `5`, []string{`"x"`, good, `5`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, raws, errs, err := ingest.DecodeBatchRaw([]byte(tc.in), 10, fuzzNow)
			if err != nil || len(raws) != len(tc.want) || len(ms) != len(raws) || len(errs) != len(raws) {
				t.Fatalf("%d items, %v", len(raws), err)
			}
			for i, raw := range raws {
				if string(raw) != tc.want[i] {
					t.Errorf("item %d: %q, want %q", i, raw, tc.want[i])
				}
			}
		})
	}
	body := []byte("[" + odd + "]")
	ms, _, errs, err := ingest.DecodeBatchRaw(body, 10, fuzzNow)
	if err != nil || errs[0] != nil || ms[0].Verdict.Reason != "ok" {
		t.Fatalf("the odd item decodes to %v (%v, %v)", ms, errs, err)
	}
	// Strings point into the body, which decoding never writes: escapes are decoded
	// elsewhere.
	if string(body) != "["+odd+"]" {
		t.Errorf("decoding changed the body: %q", body)
	}
}
