package store

import (
	"bytes"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// LineProtocol is the line protocol Write sends for it, and its number of points.
func LineProtocol(it Item) (string, int, error) {
	var l lineSink
	if err := mapItem(it, &l, new(scratch)); err != nil {
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

// EncodeRawJSON is the raw field's JSON of m.
func EncodeRawJSON(m *measurement.Measurement) (string, error) {
	b, _, err := rawJSON(m, new(bytes.Buffer), false)
	return string(b), err
}

// EncodeRawJSONLP is the raw field's JSON of m escaped as a line-protocol string field,
// as Write encodes it (escaped false: too long for one chunk, or not covered by the
// plan, and the JSON is plain).
func EncodeRawJSONLP(m *measurement.Measurement) (s string, escaped bool, err error) {
	b, escaped, err := rawJSON(m, new(bytes.Buffer), true)
	return string(b), escaped, err
}

// LineProtocolBatch encodes items as Write does (one buffer and scratch for the batch)
// and returns the number of bytes.
func LineProtocolBatch(items []Item) (int, error) {
	l := lineSink{buf: getLineBuf()}
	var sc scratch
	for _, it := range items {
		if err := mapItem(it, &l, &sc); err != nil {
			return 0, err
		}
		l.end()
	}
	n := len(l.buf)
	putLineBuf(l.buf)
	return n, nil
}
