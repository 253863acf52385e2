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
	var items []json.RawMessage
	ok := scanBatch(&decoder{}, b, maxItems, func(d *decoder) bool {
		start := d.i
		if !d.skip(0) {
			return false
		}
		items = append(items, d.b[start:d.i:d.i])
		return true
	})
	return items, ok
}

// scanBatch walks a batch as splitFast does, calling item with d.i at the start of each
// item (at most maxItems); item consumes one JSON value, or reports false when it is
// malformed. d.b is b without its trailing white space.
func scanBatch(d *decoder, b []byte, maxItems int, item func(d *decoder) bool) bool {
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
	n := 0
	if b[d.i] != '[' {
		for d.i < end {
			if n == maxItems || !item(d) || d.i < end && !isSpace(b[d.i]) {
				return false
			}
			n++
			d.space()
		}
		return true
	}
	d.i++
	for ; ; n++ {
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
		if n == maxItems {
			return false
		}
		d.space()
		if !item(d) {
			return false
		}
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
