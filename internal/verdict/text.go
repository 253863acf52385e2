package verdict

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// Output bounds: the verdict quotes observed strings, which may be anything.
const (
	maxEvidence    = 32
	maxEvidenceLen = 400
	maxReasonLen   = 600
	maxListed      = 4
)

// clean makes v safe to store whatever the observations held: valid UTF-8, no control
// characters, bounded sizes, and an evidence list that is never nil.
func clean(v measurement.Verdict) measurement.Verdict {
	v.Reason = sanitize(v.Reason, maxReasonLen)
	if !strings.HasSuffix(v.Reason, ".") {
		v.Reason += "."
	}
	ev := make([]string, 0, min(len(v.Evidence), maxEvidence))
	for _, e := range v.Evidence {
		if len(ev) == maxEvidence-1 && len(v.Evidence) > maxEvidence {
			ev = append(ev, fmt.Sprintf("… %d more facts omitted", len(v.Evidence)-len(ev)))
			break
		}
		ev = append(ev, sanitize(e, maxEvidenceLen))
	}
	v.Evidence = ev
	return v
}

// sanitize replaces invalid UTF-8 and control characters with spaces and clips s to at
// most n bytes on a rune boundary.
func sanitize(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// list joins items for a sentence, naming at most maxListed of them.
func list(items []string) string {
	if len(items) == 0 {
		return "nothing"
	}
	if len(items) <= maxListed {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:maxListed], ", "), len(items)-maxListed)
}

// happenedAll is happened for a plural subject: "were reset".
func happenedAll(f string) string {
	if s, ok := strings.CutPrefix(happened(f), "was "); ok {
		return "were " + s
	}
	return happened(f)
}

// happened says in plain words what a failure did to a connection or handshake, e.g.
// "was reset".
func happened(f string) string {
	switch f {
	case failure.ConnectionReset:
		return "was reset"
	case failure.EOF:
		return "was cut off"
	case failure.GenericTimeout:
		return "timed out"
	case failure.ConnectionRefused:
		return "was refused"
	case failure.ConnectionAborted:
		return "was aborted"
	case failure.HostUnreachable:
		return "found the host unreachable"
	case failure.NetworkUnreachable:
		return "found the network unreachable"
	}
	return "failed"
}

// word is a short label for a failure in evidence, e.g. "reset".
func word(f string) string {
	switch f {
	case failure.ConnectionReset:
		return "reset"
	case failure.EOF:
		return "cut off"
	case failure.GenericTimeout:
		return "timed out"
	case failure.ConnectionRefused:
		return "refused"
	}
	return "failed"
}

// str dereferences an optional failure.
func str(f *string) string {
	if f == nil {
		return ""
	}
	return *f
}

// upper capitalises the first letter of a sentence.
func upper(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
