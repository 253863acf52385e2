package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
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

// decodeBatch decodes the items of a well-formed batch straight from it, in one scan
// instead of splitting it first: for each item, its measurement or its error, exactly as
// DecodeItem gives them for the item alone (splitBatch's items). It reports false for
// any batch splitFast refuses, for the caller to split with splitBatch. An item decoded
// successfully is a well-formed JSON value, so it ends where splitFast's skip would end
// it; an item that fails is skipped as splitFast does, and its error is DecodeItem's.
func decodeBatch(b []byte, maxItems int, now time.Time) ([]*measurement.Measurement, []error, bool) {
	d := decoders.Get().(*decoder)
	defer d.release()
	d.w = make([]byte, len(b)) // the one copy the strings of all items point into
	copy(d.w, b)
	p := measurementPlan()
	var ms []*measurement.Measurement
	var errs []error
	ok := scanBatch(d, b, maxItems, func(d *decoder) bool {
		start := d.i
		m := new(measurement.Measurement)
		err := d.value(p, reflect.ValueOf(m).Elem())
		if err == nil {
			if err = m.Validate(now); err == nil {
				m.Normalise()
				ms, errs = append(ms, m), append(errs, nil)
				return true
			}
		} else {
			d.i, d.path = start, d.path[:0]
			if !d.skip(0) {
				return false
			}
		}
		if _, err2 := DecodeItem(d.b[start:d.i], now); err2 != nil {
			err = err2 // the item's own message (byte offsets are the item's)
		}
		ms, errs = append(ms, nil), append(errs, err)
		return true
	})
	return ms, errs, ok
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
