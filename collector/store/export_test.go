package store

import (
	"bytes"

	"github.com/pantau-dev/pantau/measurement"
)

// LineProtocol is the line protocol Write sends for it, and its number of points.
func LineProtocol(it Item) (string, int, error) {
	var l lineSink
	if err := mapItem(it, &l, new(bytes.Buffer)); err != nil {
		return "", 0, err
	}
	l.end()
	return string(l.buf), l.points, nil
}

// Queued is the number of parts waiting for a shared write.
func Queued(s *Store) int {
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	return len(s.commit.queue)
}

// EncodeRawJSON is the raw field's JSON of m.
func EncodeRawJSON(m *measurement.Measurement) (string, error) {
	b, err := rawJSON(m, new(bytes.Buffer))
	return string(b), err
}
