package spool

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// An entry file is one header line, the measurement's JSON and a newline:
//
//	pantau-spool/1 <length of the JSON in bytes> <SHA-256 of the JSON in hex>\n
//	{"id":"…",…}\n
//
// The length tells a truncated file from a damaged one; the checksum catches the rest.
const (
	formatTag = "pantau-spool/1"
	entryExt  = ".entry"
	tmpExt    = ".tmp"
	reasonExt = ".reason"
	seqDigits = 20 // a uint64 in decimal, zero-padded, so names sort in enqueue order
	maxIDLen  = 64 // of the ID part of a file name; the real ID is in the JSON
)

// encode returns the file content for m and the length of its JSON.
func encode(m *measurement.Measurement) ([]byte, int64, error) {
	js, err := json.Marshal(m)
	if err != nil {
		return nil, 0, fmt.Errorf("spool: encoding measurement %s: %w", m.ID, err)
	}
	sum := sha256.Sum256(js)
	b := make([]byte, 0, len(js)+len(formatTag)+90)
	b = fmt.Appendf(b, "%s %d %s\n", formatTag, len(js), hex.EncodeToString(sum[:]))
	b = append(b, js...)
	return append(b, '\n'), int64(len(js)), nil
}

// decode checks and parses an entry file; it returns the measurement and the length of
// its JSON.
func decode(b []byte) (*measurement.Measurement, int64, error) {
	head, rest, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return nil, 0, fmt.Errorf("no header line in %d bytes", len(b))
	}
	f := strings.Fields(string(head))
	if len(f) != 3 || f[0] != formatTag {
		return nil, 0, fmt.Errorf("header %.60q: want %q, a length and a SHA-256", head, formatTag)
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || n < 0 {
		return nil, 0, fmt.Errorf("header %.60q: bad length", head)
	}
	switch got := int64(len(rest)); {
	case got < n+1:
		return nil, 0, fmt.Errorf("truncated: %d of %d bytes after the header", got, n+1)
	case got > n+1 || rest[n] != '\n':
		return nil, 0, fmt.Errorf("%d bytes after the header, want %d", got, n+1)
	}
	js := rest[:n]
	sum := sha256.Sum256(js)
	if hex.EncodeToString(sum[:]) != f[2] {
		return nil, 0, errors.New("checksum mismatch")
	}
	var m measurement.Measurement
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, 0, fmt.Errorf("measurement JSON: %w", err)
	}
	if m.ID == "" {
		return nil, 0, errors.New("measurement JSON: no id")
	}
	return &m, n, nil
}

// entryName is the file name of the entry with sequence number seq.
func entryName(seq uint64, id string) string {
	return fmt.Sprintf("%0*d-%s%s", seqDigits, seq, fileID(id), entryExt)
}

// parseName returns the sequence number of an entry file name.
func parseName(name string) (uint64, bool) {
	if len(name) < seqDigits+2+len(entryExt) || name[seqDigits] != '-' || !strings.HasSuffix(name, entryExt) {
		return 0, false
	}
	seq, err := strconv.ParseUint(name[:seqDigits], 10, 64)
	return seq, err == nil
}

// fileID keeps an ID usable in a file name.
func fileID(id string) string {
	s := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, id)
	return s[:min(len(s), maxIDLen)]
}
