package fingerprint

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/internal/testref"
)

// ooniSample builds the reply that an OONI row describes: its body string inside a
// minimal page (the title taken from it like the engine does), or a redirect whose
// Location starts with its prefix or contains its string.
func ooniSample(r ooniRow) sample {
	s := sample{name: r.name, header: http.Header{}}
	if r.location == LocBody {
		s.body = "<html><body>\n" + r.pattern + "\n</body></html>"
		return s
	}
	v := r.pattern
	if r.typ == TypeContains && !strings.Contains(v, "://") {
		v = "http://" + v
	}
	if strings.HasSuffix(v, "/") || strings.HasSuffix(v, "?") {
		v += "x"
	} else {
		v += "/x"
	}
	s.header.Set(strings.TrimPrefix(r.location, LocHeader), v)
	return s
}

// ooniResult is the first builtin row matching the sample of r, block-page rows first.
func ooniResult(set *Set, r ooniRow) string {
	var fp string
	for _, m := range ooniSample(r).match(set) {
		if m.Scope != ScopeFalsePositive {
			return m.Name
		}
		if fp == "" {
			fp = m.Name
		}
	}
	return fp
}

// TestOONIIndonesianHTTP: for each Indonesian HTTP row of OONI's file, the builtin rows
// recognise its sample reply as recorded in ooniIndonesianHTTP (docs/blockpages.md
// lists the same), and every row not recognised says why. go test -v prints the table.
func TestOONIIndonesianHTTP(t *testing.T) {
	set := NewSet(Builtin())
	recognised, fp := 0, 0
	for _, r := range ooniIndonesianHTTP {
		got := ooniResult(set, r)
		if got != r.ours {
			t.Errorf("%s (%s %s %q): recognised by %q, want %q", r.name, r.location, r.typ, r.pattern, got, r.ours)
		}
		if got == "" && r.why == "" {
			t.Errorf("%s: not recognised and no reason given", r.name)
		}
		switch {
		case strings.HasPrefix(got, "pantau.fp_"):
			fp++
		case got != "":
			recognised++
		}
		t.Logf("| `%s` | %s %s | `%s` | %s |", r.name, r.location, r.typ, strings.ReplaceAll(r.pattern, "|", `\|`), result(got, r.why))
	}
	t.Logf("%d rows: %d recognised as block pages, %d as not block pages (fp), %d not recognised",
		len(ooniIndonesianHTTP), recognised, fp, len(ooniIndonesianHTTP)-recognised-fp)
}

func result(got, why string) string {
	if got == "" {
		return "no: " + why
	}
	return fmt.Sprintf("`%s`", got)
}

// TestOONIIndonesianHTTPRestated checks ooniIndonesianHTTP against the reference subset
// itself (optional: see package testref): the same rows, in order, with the same patterns.
func TestOONIIndonesianHTTPRestated(t *testing.T) {
	ref := mustLoad(t, testref.File(t, "indonesia-blockpages/id_fingerprints_http.csv"))
	if len(ref) != len(ooniIndonesianHTTP) {
		t.Fatalf("reference has %d rows, the restated table %d", len(ref), len(ooniIndonesianHTTP))
	}
	for i, fp := range ref {
		r := ooniIndonesianHTTP[i]
		if fp.Name != r.name || fp.Location != r.location || fp.PatternType != r.typ || fp.Pattern != r.pattern {
			t.Errorf("row %d: reference %s %s %s %q, restated %s %s %s %q", i, fp.Name, fp.Location, fp.PatternType, fp.Pattern, r.name, r.location, r.typ, r.pattern)
		}
	}
}
