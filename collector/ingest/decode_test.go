package ingest_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/ingest"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// edit returns the JSON of measurementtest.Full changed by f, which gets it as generic JSON.
func edit(t *testing.T, f func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(measurementtest.JSON(t, measurementtest.Full("example.com", time.Now().Add(-time.Hour)))), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	return measurementtest.JSON(t, m)
}

// get walks a path of keys and indices in generic JSON.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func TestDecodeItemErrors(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"bad enum", edit(t, func(m map[string]any) { get(m, "verdict").(map[string]any)["status"] = "maybe" }),
			`verdict.status: "maybe" is not one of accessible, blocked, down, inconclusive` + "\n" +
				`verdict.method: "http" is set but status is "maybe"`},
		{"unknown field", edit(t, func(m map[string]any) { m["probe"] = "someone-else" }), `unknown field "probe"`},
		{"unknown nested field", edit(t, func(m map[string]any) { get(m, "dns", 1).(map[string]any)["foo"] = 1 }),
			`dns[1]: unknown field "foo"`},
		{"case-insensitive match refused", edit(t, func(m map[string]any) { m["Domain"] = "evil.example" }), `unknown field "Domain"`},
		{"duplicate key", `{"id":"x",` + strings.TrimPrefix(measurementtest.JSON(t, measurementtest.Full("example.com", now)), "{"), `id: given twice`},
		{"string for int", edit(t, func(m map[string]any) { m["port"] = "443" }), `port: cannot be a string (want an integer)`},
		{"negative unsigned", edit(t, func(m map[string]any) { get(m, "dns", 0, "answers", 1).(map[string]any)["ttl"] = -1 }),
			`dns[0].answers[1].ttl: -1 is not an unsigned integer`},
		{"huge float", strings.Replace(measurementtest.JSON(t, measurementtest.Full("example.com", now)), `"runtime_ms":1234.567`, `"runtime_ms":1e400`, 1),
			`runtime_ms: 1e400 is out of range for a number`},
		{"huge int", strings.Replace(measurementtest.JSON(t, measurementtest.Full("example.com", now)), `"port":443,"started_at"`, `"port":99999999999999999999,"started_at"`, 1),
			`port: 99999999999999999999 is out of range for an integer`},
		{"fraction for int", edit(t, func(m map[string]any) { m["port"] = 1.5 }), `port: 1.5 is not an integer`},
		{"bad time", edit(t, func(m map[string]any) { m["started_at"] = "yesterday" }), `started_at: "yesterday" is not an RFC 3339 time`},
		{"number for time", edit(t, func(m map[string]any) { get(m, "tls", 0, "certificates", 1).(map[string]any)["not_after"] = 5 }),
			`tls[0].certificates[1].not_after: cannot be a number (want an RFC 3339 time string)`},
		{"null for string", edit(t, func(m map[string]any) { m["id"] = nil }), `id: cannot be null (want a string)`},
		{"object for list", edit(t, func(m map[string]any) { m["tcp"] = map[string]any{} }), `tcp: cannot be an object (want an array)`},
		{"map value", edit(t, func(m map[string]any) { get(m, "http", 0, "headers").(map[string]any)["Server"] = 1 }),
			`http[0].headers["Server"]: cannot be a number (want a string)`},
		{"pointer", edit(t, func(m map[string]any) { get(m, "control").(map[string]any)["failure"] = false }),
			`control.failure: cannot be a boolean (want a string or null)`},
		{"control observation", edit(t, func(m map[string]any) { get(m, "control", "dns", 0).(map[string]any)["qtype"] = "MX" }),
			`control.dns[0].qtype: "MX" is not one of A, AAAA`},
		{"newline in identifier", edit(t, func(m map[string]any) { m["target"] = "exa\nmple.com" }),
			`target: "exa\nmple.com" contains spaces or control characters`},
		{"newline in domain", edit(t, func(m map[string]any) { m["domain"] = "exa\nmple.com" }),
			`domain: "exa\nmple.com" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{"space in identifier", edit(t, func(m map[string]any) { get(m, "dns", 0).(map[string]any)["resolver"] = "udp://10.0.0.1:53 x" }),
			`dns[0].resolver: "udp://10.0.0.1:53 x" contains spaces or control characters`},
		{"newline in free text", edit(t, func(m map[string]any) { get(m, "http", 1).(map[string]any)["title"] = "a\nb" }),
			`http[1].title: "a\nb" contains control characters`},
		{"control character in free text", edit(t, func(m map[string]any) { get(m, "verdict").(map[string]any)["reason"] = "a\x01b" }),
			`verdict.reason: "a\x01b" contains control characters`},
		{"array", `[]`, `want a JSON object, got an array`},
		{"string", `"x"`, `want a JSON object, got a string`},
		{"trailing data", measurementtest.JSON(t, measurementtest.Simple("example.com", now)) + ` {}`, "data after the JSON object at byte "},
		{"truncated", `{"id":`, `id: malformed JSON: unexpected end of input`},
		{"garbage", `{"id" 5}`, `id: malformed JSON near byte 6: invalid character '5' after object key`},
		{"empty", ``, `malformed JSON: unexpected end of input`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ingest.DecodeItem([]byte(tc.in), now)
			if err == nil {
				t.Fatalf("accepted %+v", m)
			}
			if got := err.Error(); got != tc.want && !(strings.HasSuffix(tc.want, " ") && strings.HasPrefix(got, tc.want)) {
				t.Errorf("error\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestDecodeItemAccepts(t *testing.T) {
	now := time.Now()
	m := measurementtest.Full("example.com", now.Add(-time.Minute))
	got, err := ingest.DecodeItem([]byte(measurementtest.JSON(t, m)), now)
	if err != nil {
		t.Fatal(err)
	}
	if measurementtest.JSON(t, got) != measurementtest.JSON(t, m) {
		t.Errorf("decoded\n%s\nwant\n%s", measurementtest.JSON(t, got), measurementtest.JSON(t, m))
	}
	// Lists given as null or left out decode as [] (the wire format's stable shape).
	sm := measurementtest.Simple("example.com", now)
	in := strings.Replace(measurementtest.JSON(t, sm), `"dns":[]`, `"dns":null`, 1)
	in = strings.Replace(in, `"resolvers":[],`, ``, 1)
	got, err = ingest.DecodeItem([]byte(in), now)
	if err != nil {
		t.Fatal(err)
	}
	if measurementtest.JSON(t, got) != measurementtest.JSON(t, sm) {
		t.Errorf("decoded\n%s\nwant\n%s", measurementtest.JSON(t, got), measurementtest.JSON(t, sm))
	}
}

// TestDecodeBatch checks how a batch is split into items (each item's result: "ok" or
// the first line of its error) and the errors that refuse a whole batch.
func TestDecodeBatch(t *testing.T) {
	good := measurementtest.JSON(t, measurementtest.Simple("example.com", fuzzNow.Add(-time.Hour)))
	const object = `want a JSON object, got `
	for _, tc := range []struct {
		name, in string
		max      int
		want     []string
		err      string
	}{
		{"array", ` [ {"a":1} , 2,"x",null ] `, 10, []string{`unknown field "a"`, object + `a number`, object + `a string`, object + `null`}, ""},
		{"empty array", `[]`, 10, nil, ""},
		{"ndjson", "{\"a\":1}\n{\"b\":2}\r\n\n{}\n", 10, []string{`unknown field "a"`, `unknown field "b"`, `id: "": want 32 lower-case hex digits`}, ""},
		{"one object", `{"a":1}`, 10, []string{`unknown field "a"`}, ""},
		{"measurements", "[" + good + ",\n" + good + "]", 10, []string{"ok", "ok"}, ""},
		{"values run together", `{"a":1}{"b":2}"x"5` + good, 10, []string{`unknown field "a"`, `unknown field "b"`, object + `a string`, object + `a number`, "ok"}, ""},
		{"exactly max", `[1,2,3]`, 3, []string{object + `a number`, object + `a number`, object + `a number`}, ""},
		{"too many", `[1,2,3,4]`, 3, nil, "body: more than 3 measurements in one batch"},
		{"too many ndjson", "1\n2\n3\n4\n", 3, nil, "body: more than 3 measurements in one batch"},
		{"too many, then malformed", `[1,2,3,4,`, 3, nil, "body: more than 3 measurements in one batch"},
		{"malformed before too many", `[1,2,3,x]`, 3, nil, "body: item 3: malformed JSON near byte 4: invalid character 'x' looking for beginning of value"},
		{"empty", " \n\t", 10, nil, "body: empty; want a JSON array of measurements"},
		{"unclosed", `[{}`, 10, nil, "body: malformed JSON: unexpected end of input"},
		{"trailing comma", `[{},]`, 10, nil, "body: item 1: malformed JSON near byte 3: invalid character ']' looking for beginning of value"},
		{"extra bracket", `[{}]]`, 10, nil, "body: data after the JSON array at byte 4"},
		{"data after array", `[{}] {}`, 10, nil, "body: data after the JSON array at byte 4"},
		{"stray bracket in ndjson", "{}\n]\n{}", 10, nil, "body: line item 1: malformed JSON near byte 4: invalid character ']' looking for beginning of value"},
		{"truncated item", `[{"a":`, 10, nil, "body: item 0: malformed JSON: unexpected end of input"},
		{"refused item, then malformed", `[{"a":1},{"b"}]`, 10, nil, "body: item 1: malformed JSON near byte 12: invalid character '}' after object key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, errs, err := ingest.DecodeBatch([]byte(tc.in), tc.max, fuzzNow)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %s", err, tc.err)
				}
				if tc.err[:len("body: more")] == "body: more" && !errors.As(err, new(ingest.TooManyError)) {
					t.Errorf("%T is not a TooManyError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, m := range ms {
				switch {
				case errs[i] != nil && m == nil:
					got = append(got, strings.SplitN(errs[i].Error(), "\n", 2)[0])
				case errs[i] == nil && m != nil:
					got = append(got, "ok")
				default:
					t.Fatalf("item %d: measurement %v and error %v", i, m, errs[i])
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("items %q, want %q", got, tc.want)
			}
		})
	}
}
