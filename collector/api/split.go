package api

import "encoding/json"

// maxSkipDepth bounds the nesting splitFast follows; deeper batches take the slow path
// (encoding/json's own limit is 10,000).
const maxSkipDepth = 1000

// splitFast splits a well-formed batch in one scan: a JSON array of at most maxItems
// values, or at most maxItems values each followed by white space or the end. Items are
// slices of b. It reports false for anything else (malformed, too many, values run
// together), which splitBatchSlow then decides with encoding/json's messages: it never
// accepts what splitBatchSlow refuses, nor splits differently (FuzzSplitBatch checks).
func splitFast(b []byte, maxItems int) ([]json.RawMessage, bool) {
	d := decoder{b: b}
	d.space()
	end := len(b)
	for end > d.i && isSpace(b[end-1]) {
		end--
	}
	d.b = b[:end]
	if d.i == end {
		return nil, false
	}
	var items []json.RawMessage
	if b[d.i] != '[' {
		for d.i < end {
			start := d.i
			if !d.skip(0) || d.i < end && !isSpace(b[d.i]) || len(items) == maxItems {
				return nil, false
			}
			items = append(items, b[start:d.i:d.i])
			d.space()
		}
		return items, true
	}
	d.i++
	for n := 0; ; n++ {
		d.space()
		if d.i < end && b[d.i] == ']' && d.i+1 == end {
			return items, true
		}
		if n > 0 {
			if d.i >= end || b[d.i] != ',' {
				return nil, false
			}
			d.i++
			d.space()
		}
		start := d.i
		if !d.skip(0) || len(items) == maxItems {
			return nil, false
		}
		items = append(items, b[start:d.i:d.i])
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// skip consumes one JSON value and reports whether it is well-formed.
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
