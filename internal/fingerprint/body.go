package fingerprint

import (
	"bytes"
	mathbits "math/bits"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// guardedRegexp is a body regexp fingerprint and the literals every match contains.
type guardedRegexp struct {
	fp   int
	need []int32 // patterns of bodyAC
	// needBad: a match contains U+FFFD, which Go's regexp also matches on an invalid
	// UTF-8 byte.
	needBad bool
}

// matchBody adds the body fingerprints that match body to hit.
func (s *Set) matchBody(hit map[int]string, where string, body []byte) {
	var found []uint64
	if s.bodyAC != nil {
		found = make([]uint64, (len(s.bodyPat)+63)/64)
		s.bodyAC.scan(body, found)
	}
	has := func(p int32) bool { return found[p>>6]&(1<<(p&63)) != 0 }
	for w, bits := range found {
		for ; bits != 0; bits &= bits - 1 {
			for _, i := range s.bodyPat[w*64+mathbits.TrailingZeros64(bits)] {
				hit[i] = where
			}
		}
	}
	for _, g := range s.bodyRe {
		if !slices.ContainsFunc(g.need, func(p int32) bool { return !has(p) }) &&
			(!g.needBad || bytes.Contains(body, []byte("\uFFFD")) || !utf8.Valid(body)) &&
			s.fps[g.fp].re.Match(body) {
			hit[g.fp] = where
		}
	}
	for _, i := range s.bodyOther {
		if s.fps[i].matchBytes(body) {
			hit[i] = where
		}
	}
}

// requiredLiterals returns literal strings (of two bytes or more) that every match of
// re contains, and whether every match contains U+FFFD. It looks only at the top level
// of the expression, so it may know nothing (nil, false): the regexp then always runs.
func requiredLiterals(re *regexp.Regexp) (lits []string, needBad bool) {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil, false
	}
	parts := []*syntax.Regexp{tree}
	if tree.Op == syntax.OpConcat {
		parts = tree.Sub
	}
	for _, p := range parts {
		for p.Op == syntax.OpCapture {
			p = p.Sub[0]
		}
		if p.Op != syntax.OpLiteral || p.Flags&syntax.FoldCase != 0 {
			continue
		}
		var b strings.Builder
		flush := func() {
			if b.Len() >= 2 {
				lits = append(lits, b.String())
			}
			b.Reset()
		}
		for _, r := range p.Rune {
			if r == utf8.RuneError {
				needBad = true
				flush()
				continue
			}
			b.WriteRune(r)
		}
		flush()
	}
	return lits, needBad
}
