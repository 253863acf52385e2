package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/pantau-dev/pantau/measurement"
)

// tooMany is the error for a batch with more than that many items (413).
type tooMany int

func (n tooMany) Error() string {
	return fmt.Sprintf("body: more than %d measurements in one batch", int(n))
}

// splitBatch splits a JSON array (or newline-delimited JSON, as `probe measure` prints)
// into its items without decoding them. Every item is syntactically valid JSON; a batch
// with more than maxItems items is a tooMany error. A well-formed batch takes one fast
// scan (splitFast); anything else goes through encoding/json, whose error messages
// probes have always seen.
func splitBatch(b []byte, maxItems int) ([]json.RawMessage, error) {
	if items, ok := splitFast(b, maxItems); ok {
		return items, nil
	}
	return splitBatchSlow(b, maxItems)
}

// splitBatchSlow is splitBatch through encoding/json's Decoder.
func splitBatchSlow(b []byte, maxItems int) ([]json.RawMessage, error) {
	b = bytes.Trim(b, " \t\r\n") // JSON's white space, not Unicode's
	if len(b) == 0 {
		return nil, errors.New("body: empty; want a JSON array of measurements")
	}
	var items []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	next := func(what string) (bool, error) {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, fmt.Errorf("body: %s %d: %s", what, len(items), jsonError(err))
		}
		if len(items) == maxItems {
			return false, tooMany(maxItems)
		}
		items = append(items, raw)
		return true, nil
	}
	if b[0] != '[' {
		// Newline-delimited JSON: values one after another until the end.
		for {
			more, err := next("line item")
			if err != nil {
				return nil, err
			}
			if !more {
				return items, nil
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("body: %s", jsonError(err))
	}
	for dec.More() {
		if _, err := next("item"); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("body: %s", jsonError(err))
	}
	// b is trimmed: the closing bracket must be its last byte.
	if dec.InputOffset() != int64(len(b)) {
		return nil, fmt.Errorf("body: data after the JSON array at byte %d", dec.InputOffset())
	}
	return items, nil
}

// DecodeItem decodes one measurement strictly and validates it at now. Unknown fields
// (matched case-sensitively), JSON values of the wrong type, null where the field cannot
// be null, numbers out of range, bad times and trailing data are errors that name the
// field as a path, e.g. `dns[0].answers[1].ttl: -1 is out of range for an unsigned
// integer`; Validate's errors follow, one a line. Empty lists decode as [].
func DecodeItem(b []byte, now time.Time) (*measurement.Measurement, error) {
	var m measurement.Measurement
	if err := decodeStrict(b, measurementPlan(), reflect.ValueOf(&m).Elem()); err != nil {
		return nil, err
	}
	if err := m.Validate(now); err != nil {
		return nil, err
	}
	m.Normalise()
	return &m, nil
}

// jsonError describes a syntax error with its byte offset, without the "json: " prefix.
func jsonError(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON near byte %d: %s", se.Offset, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "malformed JSON: unexpected end of input"
	}
	msg := err.Error()
	if len(msg) > 6 && msg[:6] == "json: " {
		msg = msg[6:]
	}
	return msg
}
