package yamlconf

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// ScalarForm is implemented by a struct that may also be written as a single value (a
// schedule's list given as its path alone): a scalar goes to UnmarshalScalar, a mapping
// is decoded field by field.
type ScalarForm interface {
	UnmarshalScalar(n *yaml.Node) error
}

// value decodes n into v, the field at path field, records its problems and reports
// whether there were none. Null leaves v as it is. A type with an UnmarshalYAML method
// parses itself; structs are mappings (keys from the yaml tags), slices are lists, and
// strings, booleans and numbers are scalars.
func (f *File) value(n *yaml.Node, v reflect.Value, field string) bool {
	n = deref(n)
	if isNull(n) {
		return true
	}
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.New(v.Type().Elem()))
		return f.value(n, v.Elem(), field)
	}
	if u, ok := v.Addr().Interface().(ScalarForm); ok && n.Kind == yaml.ScalarNode {
		return f.check(field, u.UnmarshalScalar(n))
	}
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		return f.check(field, u.UnmarshalYAML(n))
	}
	switch v.Kind() {
	case reflect.Struct:
		return f.mapping(n, v, field)
	case reflect.Slice:
		return f.sequence(n, v, field)
	}
	return f.check(field, scalar(n, v))
}

// check records err, if any, as the problem of field, whose value did not decode.
func (f *File) check(field string, err error) bool {
	if err == nil {
		return true
	}
	f.undecoded = append(f.undecoded, field)
	f.record(f.Line(field), field, err)
	return false
}

// mapping decodes a mapping into the struct v. An unknown key, or one given twice, is a
// problem.
func (f *File) mapping(n *yaml.Node, v reflect.Value, field string) bool {
	if n.Kind != yaml.MappingNode {
		return f.check(field, fmt.Errorf("want a mapping, found %s", describe(n)))
	}
	fields := structFields(v.Type())
	first := map[string]int{}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		path := k.Value
		if field != "" {
			path = field + "." + k.Value
		}
		if line, dup := first[k.Value]; dup {
			f.record(k.Line, path, fmt.Errorf("given twice (first at line %d)", line))
			ok = false
			continue
		}
		first[k.Value] = k.Line
		index, known := fields[k.Value]
		if !known {
			f.record(k.Line, field, fmt.Errorf("field %q not found", k.Value))
			ok = false
			continue
		}
		f.lines[path] = k.Line
		ok = f.value(val, v.Field(index), path) && ok
	}
	return ok
}

// structFields maps the keys of struct type t to its field indexes: the yaml tag's name,
// or the field's name in lower case; unexported fields and "-" are left out.
func structFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		switch {
		case !sf.IsExported() || name == "-":
			continue
		case name == "":
			name = strings.ToLower(sf.Name)
		}
		out[name] = i
	}
	return out
}

// sequence decodes a list into the slice v, replacing what it held. An empty (null) item
// is a problem. An item with a problem is kept, as far as it decoded, so that the checks
// after decoding name each item by its index in the file.
func (f *File) sequence(n *yaml.Node, v reflect.Value, field string) bool {
	if n.Kind != yaml.SequenceNode {
		return f.check(field, fmt.Errorf("want a list, found %s", describe(n)))
	}
	out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	ok := true
	for i, item := range n.Content {
		path := fmt.Sprintf("%s[%d]", field, i)
		f.lines[path] = item.Line
		e := reflect.New(v.Type().Elem()).Elem()
		if isNull(deref(item)) {
			ok = f.check(path, errors.New("missing")) && ok
		} else {
			ok = f.value(item, e, path) && ok
		}
		out = reflect.Append(out, e)
	}
	v.Set(out)
	return ok
}

// scalar decodes a scalar into a string, a boolean or a number. A boolean must be written
// true or false, a whole number as one (not quoted): yaml.v3's tags say which it is.
func scalar(n *yaml.Node, v reflect.Value) error {
	var want string
	var tags []string
	switch v.Kind() {
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want, tags = "true or false", []string{"!!bool"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		want, tags = "a whole number", []string{"!!int"}
	case reflect.Float32, reflect.Float64:
		want, tags = "a number", []string{"!!int", "!!float"}
	default:
		return fmt.Errorf("a %s cannot be read from YAML", v.Type())
	}
	switch {
	case n.Kind != yaml.ScalarNode:
		return fmt.Errorf("want %s, found %s", want, describe(n))
	case v.Kind() == reflect.String:
		v.SetString(n.Value)
		return nil
	}
	for _, tag := range tags {
		if n.ShortTag() == tag && n.Decode(v.Addr().Interface()) == nil {
			return nil
		}
	}
	return fmt.Errorf("want %s, found %q", want, n.Value)
}

// ParseScalar is the UnmarshalYAML of a value written as one string: it parses n, which
// must be a scalar, with parse.
func ParseScalar[T any](n *yaml.Node, parse func(string) (T, error)) (T, error) {
	if n = deref(n); n.Kind != yaml.ScalarNode {
		var zero T
		return zero, fmt.Errorf("want a string, found %s", describe(n))
	}
	return parse(n.Value)
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is null: an absent value.
func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what n is, for errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}
