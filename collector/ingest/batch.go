package ingest

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

// maxSkipDepth is the deepest nesting of arrays and objects in a batch's item, as in
// encoding/json (its maxNestingDepth): the scan accepts the batches encoding/json reads.
const maxSkipDepth = 10000

// TooManyError refuses a batch of more than that many items (HTTP 413).
type TooManyError int

func (n TooManyError) Error() string {
	return fmt.Sprintf("body: more than %d measurements in one batch", int(n))
}

// DecodeBatch decodes a batch of measurements in one scan: a JSON array, or JSON values
// one after another (newline-delimited JSON, as `probe measure` prints). For each item
// it returns the measurement, decoded, validated at now and normalised, or the item's
// error, exactly DecodeItem's for the item alone (the measurement is then nil). A batch
// that is empty, malformed or of more than maxItems items is refused whole: the error
// starts with "body: " and says what encoding/json's Decoder finds wrong, with the
// item's index and the byte offset; it is a TooManyError when a well-formed item follows
// the first maxItems.
func DecodeBatch(b []byte, maxItems int, now time.Time) ([]*measurement.Measurement, []error, error) {
	ms, _, errs, err := DecodeBatchRaw(b, maxItems, now)
	return ms, errs, err
}

// DecodeBatchRaw is DecodeBatch that also returns each item's JSON value as submitted: the
// bytes of b from its first to its last byte, without the white space around it (slices
// of b). The measurements' strings without escapes are slices of b too, so b must not
// change once given (the request body of a batch never does); a batch of hundreds of
// kilobytes is then not copied.
func DecodeBatchRaw(b []byte, maxItems int, now time.Time) ([]*measurement.Measurement, [][]byte, []error, error) {
	d := decoders.Get().(*decoder)
	defer d.release()
	d.w, d.ro = b, true
	p := measurementPlan()
	var ms []*measurement.Measurement
	var raws [][]byte
	var errs []error
	ok := d.scanBatch(b, maxItems, func() bool {
		start := d.i
		m := new(measurement.Measurement)
		err := d.value(p, reflect.ValueOf(m).Elem())
		if err == nil {
			m, err = validated(m, now)
		} else {
			// Refused: the item ends where its JSON value ends, if it is well-formed.
			d.i, d.path = start, d.path[:0]
			if !d.skip(0) {
				return false
			}
			m, err = nil, describe(err, d.b[start:d.i])
		}
		ms, errs = append(ms, m), append(errs, err)
		raws = append(raws, b[start:d.i:d.i])
		return true
	})
	if !ok {
		return nil, nil, nil, batchError(b, maxItems)
	}
	return ms, raws, errs, nil
}

// scanBatch walks the batch b, calling item with d.i at the start of each of its values
// (at most maxItems): the elements of a JSON array, or JSON values one after another.
// item consumes one value, or reports false when it is malformed. scanBatch reports
// whether b is a well-formed batch of at most maxItems items; it accepts exactly the
// batches encoding/json's Decoder reads (batchError describes the others). d.b is b
// without its trailing white space.
func (d *decoder) scanBatch(b []byte, maxItems int, item func() bool) bool {
	d.b, d.i = b, 0
	d.space()
	end := len(b)
	for end > d.i && isSpace(b[end-1]) {
		end--
	}
	d.b = b[:end]
	if d.i == end {
		return false
	}
	if b[d.i] != '[' {
		// White space between the values is optional, as for encoding/json's Decoder
		// (`{}{}` is two values).
		for n := 0; d.i < end; n++ {
			if n == maxItems || !item() {
				return false
			}
			d.space()
		}
		return true
	}
	d.i++
	for n := 0; ; n++ {
		d.space()
		if d.i < end && b[d.i] == ']' && d.i+1 == end {
			return true
		}
		if n > 0 {
			if d.i >= end || b[d.i] != ',' {
				return false
			}
			d.i++
			d.space()
		}
		if n == maxItems || !item() {
			return false
		}
	}
}

// batchError describes what is wrong with a batch scanBatch refused, as encoding/json's
// Decoder reads it: the first malformed item, with its index and encoding/json's message
// and byte offset, a malformed array, data after it, or TooManyError when a well-formed
// item follows the first maxItems. Newline-delimited items are "line item"s.
func batchError(b []byte, maxItems int) error {
	b = bytes.Trim(b, " \t\r\n") // JSON's white space, not Unicode's
	if len(b) == 0 {
		return errors.New("body: empty; want a JSON array of measurements")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	n := 0
	// next reads one item; false at the end of the input.
	next := func(what string) (bool, error) {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, fmt.Errorf("body: %s %d: %s", what, n, jsonError(err))
		}
		if n == maxItems {
			return false, TooManyError(maxItems)
		}
		n++
		return true, nil
	}
	if b[0] != '[' {
		for {
			more, err := next("line item")
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
	} else if err := arrayError(dec, int64(len(b)), next); err != nil {
		return err
	}
	// Not reached while scanBatch and encoding/json agree (FuzzDecodeBatch checks).
	return errors.New("body: malformed JSON")
}

// arrayError is batchError for a JSON array of size bytes, read by dec; next reads an item.
func arrayError(dec *json.Decoder, size int64, next func(what string) (bool, error)) error {
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("body: %s", jsonError(err))
	}
	for dec.More() {
		if _, err := next("item"); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("body: %s", jsonError(err))
	}
	// The batch is trimmed: the closing bracket must be its last byte.
	if dec.InputOffset() != size {
		return fmt.Errorf("body: data after the JSON array at byte %d", dec.InputOffset())
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// skip consumes one JSON value and reports whether it is well-formed (nested at most
// maxSkipDepth deep).
func (d *decoder) skip(depth int) bool {
	d.space()
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '{' || c == '[':
		if depth >= maxSkipDepth {
			return false
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		d.i++
		d.space()
		if d.i < len(d.b) && d.b[d.i] == closing {
			d.i++
			return true
		}
		for {
			if c == '{' {
				d.space()
				if d.i >= len(d.b) || d.b[d.i] != '"' {
					return false
				}
				if _, _, _, err := d.str(); err != nil || d.colon() != nil {
					return false
				}
			}
			if !d.skip(depth + 1) {
				return false
			}
			d.space()
			switch {
			case d.i >= len(d.b):
				return false
			case d.b[d.i] == ',':
				d.i++
			case d.b[d.i] == closing:
				d.i++
				return true
			default:
				return false
			}
		}
	case c == '"':
		_, _, _, err := d.str()
		return err == nil
	case c == 't':
		return d.literal("true") == nil
	case c == 'f':
		return d.literal("false") == nil
	case c == 'n':
		return d.literal("null") == nil
	case c == '-' || c >= '0' && c <= '9':
		return d.number() == nil
	}
	return false
}
