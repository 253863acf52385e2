package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// The reference decoder: the same strict rules built on encoding/json (a Decoder.Token
// walk that checks, then json.Decoder.Decode; a batch split by the Decoder), slow but
// simple to read. The tests and fuzzers check that DecodeItem and DecodeBatch accept and
// refuse exactly what it does, with the same messages and the same values.

// ReferenceDecodeItem is DecodeItem through encoding/json. fromCheck says the error came
// from the strict check (not from the decode after it, whose messages may differ).
func ReferenceDecodeItem(b []byte, now time.Time) (m *measurement.Measurement, fromCheck bool, err error) {
	if err := refCheckJSON(b, measurementType); err != nil {
		return nil, true, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var out measurement.Measurement
	if err := dec.Decode(&out); err != nil {
		return nil, false, errors.New(jsonError(err))
	}
	if err := out.Validate(now); err != nil {
		return nil, false, err
	}
	out.Normalise()
	return &out, false, nil
}

// refCheckJSON walks the JSON document b along the Go type t and reports the first value
// encoding/json would accept loosely or refuse without saying where: an unknown or
// duplicate key (keys match exactly, not case-insensitively), a value of the wrong JSON
// type, null for a field that cannot be null, a number out of range, a bad time, and data
// after the document. Errors name the path, e.g. `dns[0].answers[1].ttl`.
func refCheckJSON(b []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	c := refChecker{dec: dec}
	if err := c.value(t, ""); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("data after the JSON object at byte %d", dec.InputOffset())
	}
	return nil
}

type refChecker struct{ dec *json.Decoder }

// token reads the next token; a syntax error names the path it was found in.
func (c *refChecker) token(path string) (json.Token, error) {
	tok, err := c.dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%s%s", refAt(path), jsonError(err))
	}
	return tok, nil
}

// refAt prefixes an error message with path, when there is one.
func refAt(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

// value checks the next JSON value against t.
func (c *refChecker) value(t reflect.Type, path string) error {
	tok, err := c.token(path)
	if err != nil {
		return err
	}
	if tok == nil { // null
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			return nil
		}
		return c.mismatch(path, tok, t)
	}
	orig := t // for messages: "a string or null"
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		s, ok := tok.(string)
		if !ok {
			return c.mismatch(path, tok, orig)
		}
		var tt time.Time
		if err := tt.UnmarshalText([]byte(s)); err != nil {
			return fmt.Errorf("%s%q is not an RFC 3339 time", refAt(path), clip(s))
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return c.mismatch(path, tok, orig)
		}
		return c.object(refFieldsOf(t), path)
	case reflect.Map:
		if tok != json.Delim('{') {
			return c.mismatch(path, tok, orig)
		}
		return c.mapValues(t, path)
	case reflect.Slice:
		if tok != json.Delim('[') {
			return c.mismatch(path, tok, orig)
		}
		for i := 0; c.dec.More(); i++ {
			if err := c.value(t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err := c.token(path)
		return err
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return c.mismatch(path, tok, orig)
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return c.mismatch(path, tok, orig)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		n, ok := tok.(json.Number)
		if !ok {
			return c.mismatch(path, tok, orig)
		}
		return refNumber(path, string(n), t)
	default:
		return fmt.Errorf("%scannot check a %s", refAt(path), t)
	}
	return nil
}

// object checks the members of an object whose '{' was read.
func (c *refChecker) object(fields map[string]reflect.Type, path string) error {
	seen := map[string]bool{}
	for c.dec.More() {
		tok, err := c.token(path)
		if err != nil {
			return err
		}
		key, _ := tok.(string) // object keys are always strings
		p := key
		if path != "" {
			p = path + "." + key
		}
		ft, ok := fields[key]
		switch {
		case !ok:
			return fmt.Errorf("%sunknown field %q", refAt(path), clip(key))
		case seen[key]:
			return fmt.Errorf("%s: given twice", p)
		}
		seen[key] = true
		if err := c.value(ft, p); err != nil {
			return err
		}
	}
	_, err := c.token(path)
	return err
}

// mapValues checks the members of a JSON object decoded into a Go map with string keys.
func (c *refChecker) mapValues(t reflect.Type, path string) error {
	seen := map[string]bool{}
	for c.dec.More() {
		tok, err := c.token(path)
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		p := fmt.Sprintf("%s[%q]", path, clip(key))
		if seen[key] {
			return fmt.Errorf("%s: given twice", p)
		}
		seen[key] = true
		if err := c.value(t.Elem(), p); err != nil {
			return err
		}
	}
	_, err := c.token(path)
	return err
}

// refNumber checks that the JSON number s fits t.
func refNumber(path, s string, t reflect.Type) error {
	var err error
	kind := "an integer"
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		_, err = strconv.ParseInt(s, 10, t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		kind = "an unsigned integer"
		_, err = strconv.ParseUint(s, 10, t.Bits())
	default:
		kind = "a number"
		_, err = strconv.ParseFloat(s, t.Bits())
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%s%s is out of range for %s", refAt(path), clip(s), kind)
	}
	return fmt.Errorf("%s%s is not %s", refAt(path), clip(s), kind)
}

// mismatch describes a JSON value of the wrong type.
func (c *refChecker) mismatch(path string, tok json.Token, t reflect.Type) error {
	var got string
	switch tok.(type) {
	case nil:
		got = "null"
	case string:
		got = "a string"
	case bool:
		got = "a boolean"
	case json.Number:
		got = "a number"
	case json.Delim:
		got = "an object"
		if tok == json.Delim('[') {
			got = "an array"
		}
	}
	if path == "" {
		return fmt.Errorf("want a JSON object, got %s", got)
	}
	return fmt.Errorf("%s: cannot be %s (want %s)", path, got, want(t))
}

// refFieldsOf maps the JSON names of struct t's fields to their types, with the fields of
// embedded structs without a JSON name promoted unless an outer field has their name,
// as encoding/json does.
func refFieldsOf(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var embedded []reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported() && !f.Anonymous:
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			embedded = append(embedded, f.Type)
		case name == "":
			out[f.Name] = f.Type
		default:
			out[name] = f.Type
		}
	}
	for _, e := range embedded {
		for k, v := range refFieldsOf(e) {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}

// ReferenceSplitBatch splits a batch (a JSON array, or JSON values one after another)
// into its items with encoding/json's Decoder, without decoding them: DecodeBatch must
// find the same items, or refuse the batch with the same error.
func ReferenceSplitBatch(b []byte, maxItems int) ([]json.RawMessage, error) {
	b = bytes.Trim(b, " \t\r\n")
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
			return false, TooManyError(maxItems)
		}
		items = append(items, raw)
		return true, nil
	}
	if b[0] != '[' {
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
	if dec.InputOffset() != int64(len(b)) {
		return nil, fmt.Errorf("body: data after the JSON array at byte %d", dec.InputOffset())
	}
	return items, nil
}
