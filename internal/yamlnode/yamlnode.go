// Package yamlnode holds what the strict YAML decoders of schedules and orders share:
// walking yaml.v3 node trees and collecting every problem of a file, each as
// "FILE:LINE: FIELD: what is wrong", so that one pass reports them all.
package yamlnode

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Errors collects the problems of one file.
type Errors struct {
	File string
	Errs []error
}

// Errorf records a problem at line; field (may be empty) names the key.
func (e *Errors) Errorf(line int, field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	e.Errs = append(e.Errs, fmt.Errorf("%s:%d: %s", e.File, line, msg))
}

// Scalar returns a scalar's value; ok is false when n is null (absent) or not a scalar
// (reported).
func (e *Errors) Scalar(n *yaml.Node, field string) (string, bool) {
	n = Deref(n)
	if IsNull(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		e.Errorf(n.Line, field, "want a string, found %s", Kind(n))
		return "", false
	}
	return n.Value, true
}

// Required is Scalar for a value that must be given: null is reported as missing.
func (e *Errors) Required(n *yaml.Node, field string) (string, bool) {
	if IsNull(Deref(n)) {
		e.Errorf(n.Line, field, "missing")
		return "", false
	}
	return e.Scalar(n, field)
}

// Seq returns a sequence's items (aliases resolved); null is an empty sequence.
func (e *Errors) Seq(n *yaml.Node, field string) []*yaml.Node {
	if IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		e.Errorf(n.Line, field, "want a list, found %s", Kind(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		out[i] = Deref(item)
	}
	return out
}

// Deref follows aliases to the node they name.
func Deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is a null scalar (an absent value).
func IsNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// Kind names a node's kind for error messages.
func Kind(n *yaml.Node) string {
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
