package fingerprint

import (
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// found returns the sorted distinct pattern indices the automaton reports for text.
func found(a *automaton, text string) []int {
	bits := make([]uint64, (len(a.out)+63)/64)
	a.scan([]byte(text), bits)
	var out []int
	for p := range len(bits) * 64 {
		if bits[p/64]&(1<<(p%64)) != 0 {
			out = append(out, p)
		}
	}
	return out
}

// naive returns the indices of the patterns that text contains.
func naive(patterns []string, text string) []int {
	var out []int
	for i, p := range patterns {
		if strings.Contains(text, p) {
			out = append(out, i)
		}
	}
	return out
}

func TestAutomatonTable(t *testing.T) {
	patterns := []string{"he", "she", "his", "hers", "a", "ab", "bab", "bc", "bca", "c", "caa"}
	a := newAutomaton(patterns)
	for _, text := range []string{"", "ushers", "abccab", "xyz", "hishe", "aaaa", "babcaa", "h"} {
		if got, want := found(a, text), naive(patterns, text); !slices.Equal(got, want) {
			t.Errorf("%q: got %v, want %v", text, got, want)
		}
	}
}

func TestAutomatonRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for round := range 200 {
		alphabet := "ab<c\xff"[:2+round%4]
		var patterns []string
		for range 1 + r.IntN(40) {
			if p := word(alphabet, 1+r.IntN(6)); !slices.Contains(patterns, p) {
				patterns = append(patterns, p)
			}
		}
		a := newAutomaton(patterns)
		for range 10 {
			text := word(alphabet, r.IntN(200))
			if got, want := found(a, text), naive(patterns, text); !slices.Equal(got, want) {
				t.Fatalf("patterns %q text %q: got %v, want %v", patterns, text, got, want)
			}
		}
	}
}

// TestMatchHTTPBodyNaive checks the indexed body matching against trying every
// fingerprint one by one, over bodies made of the set's own patterns.
func TestMatchHTTPBodyNaive(t *testing.T) {
	fps := append(mustLoad(t, fixtureHTTP), synthetic(t, 0, 400)...)
	s := NewSet(fps)
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 50 {
		var b strings.Builder
		for range 1 + r.IntN(20) {
			fp := fps[r.IntN(len(fps))]
			p := fp.Pattern
			if round%2 == 1 && len(p) > 3 { // cut patterns too, to exercise partial matches
				p = p[r.IntN(len(p)/2):]
			}
			b.WriteString(p)
			b.WriteString(htmlChunk[:r.IntN(len(htmlChunk))])
		}
		body := []byte(b.String())
		var want []string
		for _, fp := range fps {
			if fp.Location == LocBody && fp.matchBytes(body) {
				want = append(want, fp.Name)
			}
		}
		var got []string
		for _, m := range s.MatchHTTP("", 200, http.Header{}, "", body) {
			got = append(got, m.Name)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: got %v\nwant %v", round, got, want)
		}
		if round == 0 && len(want) == 0 {
			t.Fatalf("round 0 matched nothing: the generator is broken")
		}
	}
}

// htmlChunk is ordinary page text with tags, links and scripts.
const htmlChunk = `<div class="article"><h2><a href="https://news.example.org/2024/10/story-%d.html">Story title</a></h2>
<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit. Situs berita <b>terkini</b> dan informasi
<a href="http://www.example.co.id/kategori/politik">politik</a>, <span style="color:red">ekonomi</span>.</p>
<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}</script>
<img src="/static/img/photo-%d.jpg" alt="photo" width="640" height="480"></div>
`

// page returns an ordinary HTML page of n bytes.
func page(n int) []byte {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html><html><head><title>Berita Hari Ini</title></head><body>\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, htmlChunk, i, i)
	}
	return []byte(b.String()[:n])
}

// synthetic returns nDNS DNS and nHTTP HTTP fingerprints in the mix of OONI's files
// (HTTP: about three quarters body strings, a quarter Location prefixes and substrings,
// a few body regexps and other headers), read through Load. Their patterns are made of
// random words, so the matcher sees a set of OONI's size and shape that matches no
// ordinary page.
func synthetic(t testing.TB, nDNS, nHTTP int) []Fingerprint {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	word := func() string {
		b := make([]byte, 5+r.IntN(5))
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		return string(b)
	}
	var buf strings.Builder
	w := csv.NewWriter(&buf)
	row := func(name, loc, typ, pattern string) {
		w.Write([]string{name, "isp", "", loc, typ, pattern, "5", "", "synthetic", "", ""})
	}
	w.Write(columns)
	for i := range nDNS {
		row(fmt.Sprintf("syn.dns_%d", i), "dns", "full", fmt.Sprintf("198.18.%d.%d", i/256, i%256))
	}
	for i := range nHTTP {
		name := fmt.Sprintf("syn.http_%d", i)
		switch k := i % 100; {
		case k < 38:
			row(name, "body", "contains", fmt.Sprintf("<title>%s %s</title>", word(), word()))
		case k < 75:
			row(name, "body", "contains", fmt.Sprintf("<p>%s %s %s %s.</p>", word(), word(), word(), word()))
		case k < 91:
			row(name, "header.location", "prefix", fmt.Sprintf("http://%s.%s.example/%s", word(), word(), word()))
		case k < 98:
			row(name, "header.location", "contains", word()+"."+word()+".example")
		case k < 99:
			row(name, "body", "regexp", fmt.Sprintf("<h1>%s .* %s</h1>", word(), word()))
		default:
			row(name, "header.server", "full", "BlockBox "+word())
		}
	}
	w.Flush()
	fps, err := Load(strings.NewReader(buf.String()), "synthetic.csv")
	if err != nil || len(fps) != nDNS+nHTTP {
		t.Fatalf("synthetic fingerprints: %d, %v", len(fps), err)
	}
	return fps
}

// ooniSized is the builtin file, the OONI-format fixtures and synthetic fingerprints as
// many as OONI's files hold (226 DNS, 1,729 HTTP): the set an operator runs with.
func ooniSized(t testing.TB) [][]Fingerprint {
	return [][]Fingerprint{Builtin(), mustLoad(t, fixtureDNS), mustLoad(t, fixtureHTTP), synthetic(t, 226, 1729)}
}

func BenchmarkMatchHTTP(b *testing.B) {
	s := NewSet(ooniSized(b)...)
	h := http.Header{"Server": {"nginx"}, "Location": {"https://www.example.org/"}, "Content-Type": {"text/html"}}
	for _, size := range []int{64 << 10, 512 << 10} {
		body := page(size)
		b.Run(fmt.Sprintf("body=%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if ms := s.MatchHTTP("http[0]", 200, h, "Berita Hari Ini", body); len(ms) != 0 {
					b.Fatalf("ordinary page matched %v", summary(ms))
				}
			}
		})
	}
}

func BenchmarkNewSet(b *testing.B) {
	fps := ooniSized(b)
	for b.Loop() {
		NewSet(fps...)
	}
}
