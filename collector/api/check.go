package api

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

	"github.com/pantau-dev/pantau/measurement"
)

var (
	measurementType = reflect.TypeFor[measurement.Measurement]()
	heartbeatType   = reflect.TypeFor[measurement.Heartbeat]()
	timeType        = reflect.TypeFor[time.Time]()
)

// checkJSON walks the JSON document b along the Go type t and reports the first value
// encoding/json would accept loosely or refuse without saying where: an unknown or
// duplicate key (keys match exactly, not case-insensitively), a value of the wrong JSON
// type, null for a field that cannot be null, a number out of range, a bad time, and data
// after the document. Errors name the path, e.g. `dns[0].answers[1].ttl`.
func checkJSON(b []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	c := checker{dec: dec}
	if err := c.value(t, ""); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("data after the JSON object at byte %d", dec.InputOffset())
	}
	return nil
}

type checker struct{ dec *json.Decoder }

// token reads the next token; a syntax error names the path it was found in.
func (c *checker) token(path string) (json.Token, error) {
	tok, err := c.dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%s%s", at(path), jsonError(err))
	}
	return tok, nil
}

// at prefixes an error message with path, when there is one.
func at(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

// value checks the next JSON value against t.
func (c *checker) value(t reflect.Type, path string) error {
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
			return fmt.Errorf("%s%q is not an RFC 3339 time", at(path), clip(s))
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return c.mismatch(path, tok, orig)
		}
		return c.object(fieldsOf(t), path)
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
		return number(path, string(n), t)
	default:
		return fmt.Errorf("%scannot check a %s", at(path), t)
	}
	return nil
}

// object checks the members of an object whose '{' was read.
func (c *checker) object(fields map[string]reflect.Type, path string) error {
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
			return fmt.Errorf("%sunknown field %q", at(path), clip(key))
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
func (c *checker) mapValues(t reflect.Type, path string) error {
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

// number checks that the JSON number s fits t.
func number(path, s string, t reflect.Type) error {
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
		return fmt.Errorf("%s%s is out of range for %s", at(path), clip(s), kind)
	}
	return fmt.Errorf("%s%s is not %s", at(path), clip(s), kind)
}

// mismatch describes a JSON value of the wrong type.
func (c *checker) mismatch(path string, tok json.Token, t reflect.Type) error {
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

// want names the JSON form of t.
func want(t reflect.Type) string {
	if t == timeType {
		return "an RFC 3339 time string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return want(t.Elem()) + " or null"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an unsigned integer"
	}
	return "a number"
}

// fieldsOf maps the JSON names of struct t's fields to their types, with the fields of
// embedded structs without a JSON name promoted unless an outer field has their name,
// as encoding/json does.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
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
		for k, v := range fieldsOf(e) {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}
