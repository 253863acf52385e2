package fingerprint

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// Set is a collection of fingerprints indexed for matching. It is immutable after
// NewSet and safe for concurrent use. A nil *Set matches nothing.
type Set struct {
	fps      []Fingerprint
	dnsFull  map[string][]int // dnsKey → fingerprints of type full
	dnsOther []int            // other DNS fingerprints, tried one by one
	title    []int
	headers  []headerGroup
	// bodyAC finds, in one pass, every body "contains" pattern and every literal that a
	// body regexp needs; bodyPat maps its pattern indices to "contains" fingerprints.
	// A regexp runs only when its literals are all present (Go's regexp engine is far
	// slower than the scan). bodyOther holds the full and prefix body fingerprints.
	bodyAC    *automaton
	bodyPat   [][]int
	bodyRe    []guardedRegexp
	bodyOther []int
}

// headerGroup holds the fingerprints of one header.
type headerGroup struct {
	key string // canonical header key
	fps []int
}

// NewSet indexes the given fingerprints, in order. A fingerprint given twice (same
// name, location, type and pattern) is kept once.
func NewSet(fps ...[]Fingerprint) *Set {
	s := &Set{dnsFull: map[string][]int{}}
	seen := map[[4]string]bool{}
	bodyIdx := map[string]int32{}
	var bodyPatterns []string
	pattern := func(p string) int32 {
		i, ok := bodyIdx[p]
		if !ok {
			i = int32(len(bodyPatterns))
			bodyIdx[p] = i
			bodyPatterns = append(bodyPatterns, p)
			s.bodyPat = append(s.bodyPat, nil)
		}
		return i
	}
	for _, list := range fps {
		for _, fp := range list {
			k := [4]string{fp.Name, fp.Location, fp.PatternType, fp.Pattern}
			if seen[k] {
				continue
			}
			seen[k] = true
			i := len(s.fps)
			s.fps = append(s.fps, fp)
			switch {
			case fp.Location == LocDNS && fp.PatternType == TypeFull:
				s.dnsFull[fp.dnsKey] = append(s.dnsFull[fp.dnsKey], i)
			case fp.Location == LocDNS:
				s.dnsOther = append(s.dnsOther, i)
			case fp.Location == LocTitle:
				s.title = append(s.title, i)
			case fp.Location == LocBody && fp.PatternType == TypeContains:
				p := pattern(fp.Pattern)
				s.bodyPat[p] = append(s.bodyPat[p], i)
			case fp.Location == LocBody && fp.PatternType == TypeRegexp:
				lits, bad := requiredLiterals(fp.re)
				g := guardedRegexp{fp: i, needBad: bad}
				for _, l := range lits {
					g.need = append(g.need, pattern(l))
				}
				s.bodyRe = append(s.bodyRe, g)
			case fp.Location == LocBody:
				s.bodyOther = append(s.bodyOther, i)
			case fp.header != "":
				g := slices.IndexFunc(s.headers, func(g headerGroup) bool { return g.key == fp.header })
				if g < 0 {
					g = len(s.headers)
					s.headers = append(s.headers, headerGroup{key: fp.header})
				}
				s.headers[g].fps = append(s.headers[g].fps, i)
			}
		}
	}
	if len(bodyPatterns) > 0 {
		s.bodyAC = newAutomaton(bodyPatterns)
	}
	return s
}

// Len returns the number of fingerprints in s.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.fps)
}

// MatchDNS matches the A/AAAA addresses and CNAME targets of q's answers and of its late
// replies (names compare case-insensitively, without the trailing dot). Where reads like
// "dns udp://10.0.0.1:53 A answer 36.86.63.185" or "dns udp://10.0.0.1:53 A late[1]
// answer 36.86.63.185"; the matched value is always the last word.
func (s *Set) MatchDNS(q measurement.DNSQuery) []measurement.FingerprintMatch {
	if s == nil {
		return nil
	}
	var out []measurement.FingerprintMatch
	prefix := "dns " + q.Resolver + " " + q.QType + " "
	out = s.matchAnswers(out, prefix+"answer ", q.Answers)
	for i, r := range q.LateReplies {
		out = s.matchAnswers(out, prefix+"late["+strconv.Itoa(i+1)+"] answer ", r.Answers)
	}
	return out
}

func (s *Set) matchAnswers(out []measurement.FingerprintMatch, where string, answers []measurement.DNSAnswer) []measurement.FingerprintMatch {
	for _, a := range answers {
		if a.Type != "A" && a.Type != "AAAA" && a.Type != "CNAME" {
			continue
		}
		key := dnsKey(strings.TrimSpace(a.Data))
		w := where + a.Data
		for _, i := range s.dnsFull[key] {
			out = appendMatch(out, &s.fps[i], w)
		}
		for _, i := range s.dnsOther {
			if s.fps[i].matchString(key) {
				out = appendMatch(out, &s.fps[i], w)
			}
		}
	}
	return out
}

// MatchHTTP matches one HTTP reply: its title, headers and body (status is not used by
// any pattern yet). Matches come in the order of the set, each fingerprint at most once;
// Where is where followed by the location, and the matched value for a header or title:
// `http[0] header.location "http://lamanlabuh.aduankonten.id/"`, `http[0] body`.
// Matching is case-sensitive, like OONI's, except for the host of a host fingerprint.
func (s *Set) MatchHTTP(where string, status int, h http.Header, title string, body []byte) []measurement.FingerprintMatch {
	if s == nil {
		return nil
	}
	hit := map[int]string{} // fingerprint → where
	if title != "" {
		for _, i := range s.title {
			if s.fps[i].matchString(title) {
				hit[i] = join(where, LocTitle+" "+strconv.Quote(title))
			}
		}
	}
	for _, g := range s.headers {
		for _, v := range h[g.key] {
			for _, i := range g.fps {
				if _, done := hit[i]; !done && s.fps[i].matchString(v) {
					hit[i] = join(where, s.fps[i].Location+" "+strconv.Quote(v))
				}
			}
		}
	}
	if len(body) > 0 {
		s.matchBody(hit, join(where, LocBody), body)
	}
	if len(hit) == 0 {
		return nil
	}
	idx := make([]int, 0, len(hit))
	for i := range hit {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	out := make([]measurement.FingerprintMatch, 0, len(idx))
	for _, i := range idx {
		out = appendMatch(out, &s.fps[i], hit[i])
	}
	return out
}

func join(where, what string) string {
	if where == "" {
		return what
	}
	return where + " " + what
}

func appendMatch(out []measurement.FingerprintMatch, fp *Fingerprint, where string) []measurement.FingerprintMatch {
	return append(out, measurement.FingerprintMatch{
		Name:        fp.Name,
		Scope:       fp.Scope,
		Location:    fp.Location,
		PatternType: fp.PatternType,
		Pattern:     fp.Pattern,
		Confidence:  fp.Confidence,
		Where:       where,
	})
}

// matchString applies the pattern to v (for DNS: to the normalised answer).
func (fp *Fingerprint) matchString(v string) bool {
	p := fp.Pattern
	if fp.dnsKey != "" {
		p = fp.dnsKey
	}
	switch fp.PatternType {
	case TypeFull:
		return v == p
	case TypePrefix:
		if fp.host != "" { // a redirect URL prefix: see redirectURLPrefix
			return fp.matchHost(v)
		}
		return strings.HasPrefix(v, p)
	case TypeContains:
		return strings.Contains(v, p)
	case TypeHost:
		return fp.matchHost(v)
	default:
		return fp.re.MatchString(v)
	}
}

// matchBytes applies the pattern to a body.
func (fp *Fingerprint) matchBytes(b []byte) bool {
	switch fp.PatternType {
	case TypeFull:
		return string(b) == fp.Pattern
	case TypePrefix:
		return bytes.HasPrefix(b, []byte(fp.Pattern))
	case TypeContains:
		return bytes.Contains(b, []byte(fp.Pattern))
	default:
		return fp.re.Match(b)
	}
}
