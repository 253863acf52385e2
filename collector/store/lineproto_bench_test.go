package store

import (
	"bytes"
	"testing"
)

// BenchmarkStringFieldJSON escapes a measurement's JSON as a string field (the raw field).
func BenchmarkStringFieldJSON(b *testing.B) {
	raw := bytes.Repeat([]byte(`{"id":"0123456789abcdef","kind":"web","title":"a \"b\"\\c","n":[1,2]},`), 40)
	buf := make([]byte, 0, 4*len(raw))
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		buf = appendStringField(buf[:0], raw)
	}
}
