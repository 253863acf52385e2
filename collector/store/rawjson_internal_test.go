package store

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestAppendString pins the JSON string escaper byte for byte, for every kind of byte it
// escapes: encoding/json without HTML escaping.
func TestAppendString(t *testing.T) {
	for _, tc := range []struct{ in, plain string }{
		{"", `""`},
		{"plain text <a&b> ~", `"plain text <a&b> ~"`},
		{`say "hi"`, `"say \"hi\""`},
		{`C:\dir`, `"C:\\dir"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\x00\x1f\x7f", `"\u0000\u001f` + "\x7f" + `"`},
		{"a\xffb\xc3", `"a\ufffdb\ufffd"`},
		{"x\u2028y\u2029", `"x\u2028y\u2029"`},
		{"é☂😀", `"é☂😀"`},
	} {
		if got := string(appendString([]byte("prefix"), tc.in)); got != "prefix"+tc.plain {
			t.Errorf("appendString(%q) = %s, want prefix%s", tc.in, got, tc.plain)
		}
		// The table itself: plain is encoding/json's.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(tc.in); err != nil || strings.TrimSuffix(buf.String(), "\n") != tc.plain {
			t.Errorf("encoding/json gives %s (%v), the table %s", buf.String(), err, tc.plain)
		}
	}
}
