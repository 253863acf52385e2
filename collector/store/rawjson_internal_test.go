package store

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestAppendStringModes pins both outputs of the one JSON string escaper byte for byte:
// plain JSON (encoding/json without HTML escaping) and the same JSON escaped as part of a
// line-protocol string field, for every kind of byte it escapes.
func TestAppendStringModes(t *testing.T) {
	for _, tc := range []struct{ in, plain, lp string }{
		{"", `""`, `\"\"`},
		{"plain text <a&b> ~", `"plain text <a&b> ~"`, `\"plain text <a&b> ~\"`},
		{`say "hi"`, `"say \"hi\""`, `\"say \\\"hi\\\"\"`},
		{`C:\dir`, `"C:\\dir"`, `\"C:\\\\dir\"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`, `\"\\b\\f\\n\\r\\t\"`},
		{"\x00\x1f\x7f", `"\u0000\u001f` + "\x7f" + `"`, `\"\\u0000\\u001f` + "\x7f" + `\"`},
		{"a\xffb\xc3", `"a\ufffdb\ufffd"`, `\"a\\ufffdb\\ufffd\"`},
		{"x\u2028y\u2029", `"x\u2028y\u2029"`, `\"x\\u2028y\\u2029\"`},
		{"é☂😀", `"é☂😀"`, `\"é☂😀\"`},
	} {
		if got := string(appendString([]byte("prefix"), tc.in, false)); got != "prefix"+tc.plain {
			t.Errorf("appendString(%q) = %s, want prefix%s", tc.in, got, tc.plain)
		}
		if got := string(appendString(nil, tc.in, true)); got != tc.lp {
			t.Errorf("appendString(%q, lp) = %s, want %s", tc.in, got, tc.lp)
		}
		// The table itself: plain is encoding/json's, lp is plain escaped as the client
		// library escapes a string field.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(tc.in); err != nil || strings.TrimSuffix(buf.String(), "\n") != tc.plain {
			t.Errorf("encoding/json gives %s (%v), the table %s", buf.String(), err, tc.plain)
		}
		if want := strings.NewReplacer(`"`, `\"`, `\`, `\\`).Replace(tc.plain); tc.lp != want {
			t.Errorf("the table's lp %s, want %s", tc.lp, want)
		}
	}
}
