// Package ingest decodes what probes upload to the collector, strictly and in one pass:
// a batch of measurements (DecodeBatch, DecodeItem) and other JSON documents such as a
// heartbeat (Unmarshal).
//
// Strict means that what encoding/json would accept loosely or refuse without saying
// where is an error naming the field as a path, e.g. `dns[0].answers[1].ttl: -1 is not
// an unsigned integer`: an unknown or duplicate key (keys match exactly, not
// case-insensitively), a value of the wrong JSON type, null for a field that cannot be
// null, a number out of range, a bad time, data after the document. DecodeBatch gives
// each item's error apart (the caller names the item by its index); a malformed batch is
// refused whole, naming the item where it went wrong. What the decoder accepts, it
// decodes exactly as encoding/json.Unmarshal would. Malformed JSON is described by
// encoding/json itself (on the error path only), with its byte offsets.
//
// The decoder is hand-written for speed (docs/scaling.md): one scanner walks the bytes
// once and sets the fields through a plan compiled once per Go type (plan.go). Its tests
// compare it with a reference built on encoding/json's Token walk (reference_test.go),
// on mutated measurements and under the fuzzers.
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

// DecodeItem decodes one measurement strictly (see the package comment), validates it
// at now and normalises it. Validate's errors come one a line. Lists given as null or
// left out decode as [].
func DecodeItem(b []byte, now time.Time) (*measurement.Measurement, error) {
	var m measurement.Measurement
	if err := decodeStrict(b, measurementPlan(), reflect.ValueOf(&m).Elem()); err != nil {
		return nil, err
	}
	return validated(&m, now)
}

// validated validates a decoded measurement at now and normalises it.
func validated(m *measurement.Measurement, now time.Time) (*measurement.Measurement, error) {
	if err := m.Validate(now); err != nil {
		return nil, err
	}
	m.Normalise()
	return m, nil
}

// Unmarshal decodes the JSON document b strictly (see the package comment) into v, a
// non-nil pointer. The plan of v's type is compiled on each call: for small documents
// such as a heartbeat.
func Unmarshal(b []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("ingest.Unmarshal: want a non-nil pointer, got %T", v)
	}
	return decodeStrict(b, compile(rv.Type().Elem()), rv.Elem())
}

// decodeStrict decodes the JSON document b into v (of p's type) in one pass, as the
// package comment says; errors name the path, e.g. `dns[0].answers[1].ttl`. What it
// accepts, it decodes exactly as encoding/json.Unmarshal would (FuzzDecodeItem checks).
func decodeStrict(b []byte, p *plan, v reflect.Value) error {
	// Strings are slices of one copy of the document: one allocation instead of one per
	// string (see unquote).
	d := decoders.Get().(*decoder)
	defer d.release()
	d.b, d.w, d.i = b, make([]byte, len(b)), 0
	copy(d.w, b)
	if err := d.value(p, v); err != nil {
		return describe(err, b)
	}
	d.space()
	if d.i < len(d.b) {
		return fmt.Errorf("data after the JSON object at byte %d", trailingOffset(b))
	}
	return nil
}

// describe returns the error of decoding the document doc: a syntax error is described
// by encoding/json, at the path where it was found; any other error is the decoder's.
func describe(err error, doc []byte) error {
	var se *syntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%s%s", at(se.path), syntaxMessage(doc))
	}
	return err
}

// syntaxError marks malformed JSON at byte off, found at path; describe turns it into
// encoding/json's message.
type syntaxError struct {
	path string
	off  int
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("%smalformed JSON near byte %d", at(e.path), e.off)
}

// syntaxMessage describes the first syntax error in b as encoding/json's Decoder does,
// with its byte offset.
func syntaxMessage(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	for {
		if _, err := dec.Token(); err != nil {
			return jsonError(err)
		}
	}
}

// trailingOffset is where encoding/json's Decoder is after reading the token that follows
// the first value of b.
func trailingOffset(b []byte) int64 {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw json.RawMessage
	_ = dec.Decode(&raw)
	_, _ = dec.Token()
	return dec.InputOffset()
}

// jsonError describes an encoding/json error with its byte offset, without the "json: "
// prefix.
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
