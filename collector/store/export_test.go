package store

import (
	"bytes"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// LineProtocol is the line protocol Write sends for it, and its number of points.
func LineProtocol(it Item) (string, int, error) {
	var l lineSink
	c, err := contentOf(it, new(bytes.Buffer))
	if err != nil {
		return "", 0, err
	}
	if err := mapItem(it, c, &l, new(scratch)); err != nil {
		return "", 0, err
	}
	l.end()
	return string(l.buf), l.points, nil
}

// HeartbeatLineProtocol is the line protocol WriteHeartbeat sends for it, and its number
// of points.
func HeartbeatLineProtocol(it HeartbeatItem) (string, int, error) {
	var l lineSink
	if err := mapHeartbeat(it, &l); err != nil {
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

// EncodeRawJSON is the raw field's JSON of m, for an item without submitted bytes.
func EncodeRawJSON(m *measurement.Measurement) (string, error) {
	b, err := rawJSON(m, new(bytes.Buffer))
	return string(b), err
}

// LineProtocolBatch encodes items as Write does (one buffer and scratch for the batch)
// and returns the number of bytes.
func LineProtocolBatch(items []Item) (int, error) {
	l := lineSink{buf: getLineBuf()}
	var sc scratch
	for _, it := range items {
		c, err := contentOf(it, &sc.json)
		if err != nil {
			return 0, err
		}
		if err := mapItem(it, c, &l, &sc); err != nil {
			return 0, err
		}
		l.end()
	}
	n := len(l.buf)
	putLineBuf(l.buf)
	return n, nil
}
