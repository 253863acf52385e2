package cli

import (
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/collector/ooni"
)

// TestImportProgress: on a terminal the progress line is rewritten in place and erased
// before a bad line is reported; elsewhere nothing is drawn.
func TestImportProgress(t *testing.T) {
	for _, live := range []bool{true, false} {
		var errOut strings.Builder
		im := &importer{e: env{stderr: &errOut}, live: live}
		im.progress("dir/x.jsonl.gz", 1<<20, 2<<20, ooni.Summary{Read: 5, Stored: 3, AlreadyStored: 1, Bad: 1})
		im.progress("dir/x.jsonl.gz", 1<<20, 2<<20, ooni.Summary{Read: 6}) // within 100 ms: not redrawn
		im.clear()
		want := "\rcollector import ooni: x.jsonl.gz: 1.0 MB of 2.0 MB (50%), 3 stored, 1 already stored, 1 bad\x1b[K\r\x1b[K"
		if !live {
			want = ""
		}
		if errOut.String() != want {
			t.Errorf("live %v: %q, want %q", live, errOut.String(), want)
		}
	}
	if got := bytesText(1536); got != "1.5 kB" {
		t.Errorf("bytesText(1536) = %q", got)
	}
}
