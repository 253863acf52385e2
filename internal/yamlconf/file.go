// Package yamlconf decodes the project's YAML files (probe.yaml, collector.yaml, the
// schedules and the orders) one way. A file holds one document, decoded strictly into a Go
// struct whose fields are typed values that parse themselves as they are decoded
// (Duration, Prefix, dnsquery.Resolver, ...), so that nothing is checked as a string and
// parsed again later. An unknown or repeated key, a value of the wrong kind and a value
// that does not parse are problems; the checks that span fields come after decoding, from
// Validate methods that return FieldErrors. Every problem of a file is found in one pass;
// each reads "FILE:LINE: FIELD: what is wrong", in the order of the lines.
//
// The mappings are walked here rather than by yaml.v3's Decoder with KnownFields: yaml.v3
// reports a problem as "line N: text" alone, without the path of the field, and getting
// the line back out of its text would tie the messages to its wording. YAML syntax, and
// the tags of numbers and booleans, are yaml.v3's.
package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// File decodes one YAML file and collects its problems.
type File struct {
	name      string
	lines     map[string]int // field path → line of its key or list item; "" → the document
	undecoded []string       // fields whose value did not decode
	problems  []problem
}

// problem is one problem of the file; line 0 is about the whole file.
type problem struct {
	line int
	err  error
}

// NewFile returns a File for the file called name, the name its errors start with.
func NewFile(name string) *File {
	return &File{name: name, lines: map[string]int{"": 1}}
}

// Name returns the file's name.
func (f *File) Name() string { return f.name }

// Decode decodes the YAML document in b into v, a pointer to a struct, over the values
// already there: a key that is absent or null leaves its field as it is. It records
// every problem and reports whether b holds a document; with nothing but comments, or
// a null document, it returns false and v is untouched. A second document is a problem.
func (f *File) Decode(b []byte, v any) bool {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return false
		}
		f.syntax(err, b)
		return true
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		f.record(more.Line, "", errors.New("a second YAML document: want one per file"))
	} else if !errors.Is(err, io.EOF) {
		f.syntax(err, b)
	}
	if len(doc.Content) == 0 || isNull(deref(doc.Content[0])) {
		return false
	}
	root := deref(doc.Content[0])
	f.lines[""] = root.Line
	f.value(root, reflect.ValueOf(v).Elem(), "")
	return true
}

// syntax records a YAML syntax error: yaml.v3's message, which names the line, without its
// "yaml: " prefix. A value starting with * (a cron spec) is the usual cause: it reads as an
// alias, so a hint follows when the file has one unquoted.
func (f *File) syntax(err error, b []byte) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if unquotedStar(b) {
		msg += ` (quote a value that starts with *: cron: "*/15 * * * *")`
	}
	f.undecoded = append(f.undecoded, "")
	f.problems = append(f.problems, problem{0, fmt.Errorf("%s: %s", f.name, msg)})
}

// unquotedStar reports whether a line of b reads "key: *" followed by something that
// cannot start an alias name.
func unquotedStar(b []byte) bool {
	for _, line := range strings.Split(string(b), "\n") {
		_, v, ok := strings.Cut(line, ":")
		v = strings.TrimLeft(v, " \t")
		if ok && len(v) > 1 && v[0] == '*' && !isAliasChar(v[1]) {
			return true
		}
	}
	return false
}

func isAliasChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// FieldError is a problem with one field of a decoded value, named by its path as written
// in the file ("lists[0].path", "alerts.webhooks[1].url"). Validate methods return them,
// joined, and File.Add gives each the line of its field.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Err.Error()
	}
	return e.Field + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// Errorf returns a *FieldError about field.
func Errorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Add records the problems joined in err. A *FieldError is located at its field's line,
// unless that field, or one around it, did not decode: the check would only repeat that
// problem (a "missing" for a value that was there but bad). Any other error is about the
// file as a whole.
func (f *File) Add(err error) {
	for _, e := range split(err) {
		fe, ok := e.(*FieldError)
		switch {
		case !ok:
			f.problems = append(f.problems, problem{0, fmt.Errorf("%s: %w", f.name, e)})
		case !f.failed(fe.Field):
			f.record(f.Line(fe.Field), fe.Field, fe.Err)
		}
	}
}

// Errorf records a problem of field, as Add does.
func (f *File) Errorf(field, format string, args ...any) {
	f.Add(Errorf(field, format, args...))
}

// At returns err located at field: "FILE:LINE: FIELD: err".
func (f *File) At(field string, err error) error {
	return locate(f.name, f.Line(field), field, err)
}

// Line returns the line of field, or of the closest field around it that the file gives
// (a missing key is reported where its mapping starts).
func (f *File) Line(field string) int {
	for {
		if l, ok := f.lines[field]; ok {
			return l
		}
		field = parent(field)
	}
}

// Err returns the problems recorded, in the order of their lines (those about the whole
// file first), joined; or nil.
func (f *File) Err() error {
	slices.SortStableFunc(f.problems, func(a, b problem) int { return a.line - b.line })
	errs := make([]error, len(f.problems))
	for i, p := range f.problems {
		errs[i] = p.err
	}
	return errors.Join(errs...)
}

// record records a problem of field at line.
func (f *File) record(line int, field string, err error) {
	f.problems = append(f.problems, problem{line, locate(f.name, line, field, err)})
}

func locate(name string, line int, field string, err error) error {
	if field == "" {
		return fmt.Errorf("%s:%d: %w", name, line, err)
	}
	return fmt.Errorf("%s:%d: %s: %w", name, line, field, err)
}

// failed reports whether field, or a field around it, did not decode.
func (f *File) failed(field string) bool {
	for _, p := range f.undecoded {
		if p == "" || p == field || strings.HasPrefix(field, p) && strings.ContainsRune(".[", rune(field[len(p)])) {
			return true
		}
	}
	return false
}

// parent returns the path around field: "a.b[2].c" → "a.b[2]" → "a.b" → "a" → "".
func parent(field string) string {
	if i := strings.LastIndexAny(field, ".["); i >= 0 {
		return field[:i]
	}
	return ""
}

// split returns the errors joined in err, however deep (nil: none).
func split(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		if err == nil {
			return nil
		}
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, split(e)...)
	}
	return out
}
