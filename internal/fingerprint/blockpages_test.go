package fingerprint

import (
	"bufio"
	"html"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// sample is one reply of testdata/blockpages.txt or testdata/ordinary.txt.
type sample struct {
	name   string
	want   []string
	header http.Header
	body   string
}

// readSamples parses a sample file (format in testdata/blockpages.txt).
func readSamples(t *testing.T, path string) []sample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sample
	inBody := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		cur := len(out) - 1
		switch {
		case strings.HasPrefix(line, "=== "):
			out = append(out, sample{name: line[4:], header: http.Header{}})
			inBody = false
		case inBody:
			out[cur].body += line + "\n"
		case cur < 0 && (line == "" || strings.HasPrefix(line, "#")):
		case cur < 0:
			t.Fatalf("%s:%d: text before the first sample", path, n)
		case strings.HasPrefix(line, "want:"):
			out[cur].want = strings.Fields(line[5:])
		case strings.HasPrefix(line, "header: "):
			k, v, ok := strings.Cut(line[8:], ": ")
			if !ok {
				t.Fatalf("%s:%d: header line without ': '", path, n)
			}
			out[cur].header.Add(k, v)
		case line == "body:":
			inBody = true
		case line != "":
			t.Fatalf("%s:%d: unexpected line %q", path, n, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var titleRe = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title`)

// pageTitle extracts a title the way the engine does: the first <title>, entities
// decoded, white space collapsed.
func pageTitle(body string) string {
	m := titleRe.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.Join(strings.Fields(html.UnescapeString(m[1])), " ")
}

func (s sample) match(set *Set) []measurement.FingerprintMatch {
	return set.MatchHTTP("http[0]", 200, s.header, pageTitle(s.body), []byte(s.body))
}

func names(ms []measurement.FingerprintMatch) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestBlockPageSamples: each sample reply matches exactly the builtin rows it names, and
// every builtin HTTP row (title, header, body) is matched by at least one sample.
func TestBlockPageSamples(t *testing.T) {
	set := NewSet(Builtin())
	matched := map[string]bool{}
	for _, s := range readSamples(t, "testdata/blockpages.txt") {
		got := names(s.match(set))
		want := slices.Clone(s.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", s.name, got, want)
		}
		for _, n := range got {
			matched[n] = true
		}
	}
	for _, fp := range Builtin() {
		if fp.Location != LocDNS && !matched[fp.Name] {
			t.Errorf("no sample reply matches %s (%s %s %q)", fp.Name, fp.Location, fp.PatternType, fp.Pattern)
		}
	}
}

// TestOrdinaryPages: pages that mention block pages, TrustPositif or the complaints
// address in passing, and ordinary pages behind a CDN, match no block-page row (the
// verdict would call them blocked, certain) and no fp row (it would call them
// inconclusive).
func TestOrdinaryPages(t *testing.T) {
	set := NewSet(Builtin())
	for _, s := range readSamples(t, "testdata/ordinary.txt") {
		if got := names(s.match(set)); len(got) != 0 {
			t.Errorf("%s: ordinary page matched %q", s.name, got)
		}
	}
}

// TestBodyRegexpsGuarded: every builtin body regexp has a literal that the one-pass scan
// looks for first, so that an ordinary page never runs it.
func TestBodyRegexpsGuarded(t *testing.T) {
	set := NewSet(Builtin())
	if len(set.bodyRe) == 0 {
		t.Fatal("no body regexps in the builtin files")
	}
	for _, g := range set.bodyRe {
		if len(g.need) == 0 {
			t.Errorf("%s: body regexp %q has no required literal", set.fps[g.fp].Name, set.fps[g.fp].Pattern)
		}
	}
}
