package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
	"unicode/utf8"
)

// content is what the store keeps of one measurement's JSON: the bytes (as submitted, or
// encoded when the item has none) and their SHA-256, which identifies the content.
type content struct {
	raw []byte
	sum [sha256.Size]byte
}

// contentOf returns the JSON the store keeps for it: it.Raw when set, else it.M encoded
// into buf (valid until buf is used again), with its SHA-256. It refuses what Write
// refuses: a missing measurement, one encoding/json cannot encode (NaN, infinities), JSON
// larger than maxRawChunks chunks, and JSON that is not valid UTF-8 (InfluxDB would not
// give the same bytes back).
func contentOf(it Item, buf *bytes.Buffer) (content, error) {
	m := it.M
	if m == nil {
		return content{}, fmt.Errorf("item without a measurement")
	}
	raw := it.Raw
	if raw == nil {
		b, err := rawJSON(m, buf)
		if err != nil {
			return content{}, fmt.Errorf("measurement %s: encoding JSON: %w", m.ID, err)
		}
		raw = b
	} else if !utf8.Valid(raw) {
		return content{}, fmt.Errorf("measurement %s: its JSON is not valid UTF-8 at byte %d", m.ID, invalidUTF8(raw))
	}
	if len(raw) > rawChunk*maxRawChunks {
		return content{}, fmt.Errorf("measurement %s: its JSON is %d bytes, more than %d", m.ID, len(raw), rawChunk*maxRawChunks)
	}
	return content{raw: raw, sum: sha256.Sum256(raw)}, nil
}

// invalidUTF8 is the offset of the first byte of b that is not valid UTF-8.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// hexSum is sum in lower-case hex.
func hexSum(sum [sha256.Size]byte) string { return hex.EncodeToString(sum[:]) }

// PointTime is the timestamp of every point of it: started_at truncated to the
// millisecond, plus a sub-millisecond offset derived from the probe, the ID and the
// SHA-256 of the stored JSON (docs/storage.md, Timestamps). Identical resubmissions get
// the same time and overwrite themselves; other content under the same ID gets another
// time and can never overwrite the first. An item Write refuses gets the offset of empty
// content.
func PointTime(it Item) time.Time {
	if it.M == nil {
		return time.Time{}
	}
	c, _ := contentOf(it, new(bytes.Buffer))
	return pointTime(it, c.sum)
}

// pointTime is PointTime for an item whose JSON has the SHA-256 sum.
func pointTime(it Item, sum [sha256.Size]byte) time.Time {
	h := fnv.New64a()
	h.Write([]byte(it.Probe.Probe))
	h.Write([]byte{0})
	h.Write([]byte(it.M.ID))
	h.Write([]byte{0})
	h.Write(sum[:])
	return it.M.StartedAt.UTC().Truncate(time.Millisecond).Add(time.Duration(h.Sum64() % 1_000_000))
}

// unescapeSpace undoes what line protocol does to the white space of stored JSON. A string
// field writes a tab, newline or carriage return as a backslash and a letter, and InfluxDB
// gives those two characters back. Inside a JSON string the two characters are what was
// submitted (JSON strings hold no raw control characters); outside one, where valid JSON
// has no backslash, they stand for the white space submitted. JSON written before the
// store kept submitted bytes has no white space: it comes back unchanged.
func unescapeSpace(s string) string {
	i := spaceEscape(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		switch s[i+1] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte('\f')
		}
		s = s[i+2:] // continues outside a string
		i = spaceEscape(s)
	}
	b.WriteString(s)
	return b.String()
}

// spaceEscape returns the offset of the first backslash outside a JSON string in s that
// escapes white space (a backslash and t, n, r or f), or -1; s starts outside a string.
func spaceEscape(s string) int {
	in := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case in && c == '\\':
			i++ // the escaped character
		case c == '"':
			in = !in
		case !in && c == '\\' && i+1 < len(s) && strings.IndexByte("tnrf", s[i+1]) >= 0:
			return i
		}
	}
	return -1
}
