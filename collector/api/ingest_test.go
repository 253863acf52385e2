package api_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// TestRoundTripEveryField ingests measurements with every field populated and reads them
// back with every filter: the same JSON comes back, stored under the token's identity.
func TestRoundTripEveryField(t *testing.T) {
	f := newFixture(t)
	tok := token(t, claims)
	started := time.Now().UTC().Add(-time.Hour).Truncate(time.Second).Add(123456789)
	m := measurementtest.Full("example.com", started)
	other := measurementtest.Simple("t.me", started.Add(time.Second))
	before := time.Now()
	resp := f.submit(t, tok, m, other)
	after := time.Now()
	if want := (api.IngestResponse{Accepted: 2, Items: []api.ItemResult{
		{Index: 0, ID: m.ID, Status: "accepted"}, {Index: 1, ID: other.ID, Status: "accepted"}}}); measurementtest.JSON(t, resp) != measurementtest.JSON(t, want) {
		t.Errorf("answer %s, want %s", measurementtest.JSON(t, resp), measurementtest.JSON(t, want))
	}
	q := url.Values{"domain": {"example.com"}, "network": {claims.Network}, "probe": {claims.Probe},
		"from": {started.Add(-time.Second).Format(time.RFC3339)}, "to": {started.Add(time.Second).Format(time.RFC3339)}}
	page := f.query(t, q.Encode())
	if len(page.Measurements) != 1 || page.Next != "" {
		t.Fatalf("got %d measurements, next %q; want 1", len(page.Measurements), page.Next)
	}
	got := page.Measurements[0]
	if measurementtest.JSON(t, got.Measurement) != measurementtest.JSON(t, m) {
		t.Errorf("measurement differs:\n got %s\nwant %s", measurementtest.JSON(t, got.Measurement), measurementtest.JSON(t, m))
	}
	want := store.Identity{Probe: claims.Probe, Network: claims.Network, Country: claims.Country, ASN: claims.ASN}
	if got.Probe != want {
		t.Errorf("stored as %+v, want the token's %+v", got.Probe, want)
	}
	if got.ReceivedAt.Before(before.Truncate(time.Millisecond)) || got.ReceivedAt.After(after) {
		t.Errorf("received_at %s, not between %s and %s", got.ReceivedAt, before, after)
	}
	if got.SourceASN != 0 || got.SourceOrg != "" {
		t.Errorf("source %d %q without a geolocation database", got.SourceASN, got.SourceOrg)
	}
	// Each filter excludes what it should.
	for _, p := range []string{"domain=example.org", "network=Indosat", "probe=other-01"} {
		if n := len(f.query(t, p+"&"+window()).Measurements); n != 0 {
			t.Errorf("%s: %d measurements, want 0", p, n)
		}
	}
	if n := len(f.query(t, window()).Measurements); n != 2 {
		t.Errorf("no filter: %d measurements, want 2", n)
	}
}

// TestNDJSONAndPlainBodies accepts newline-delimited JSON and uncompressed bodies.
func TestNDJSONAndPlainBodies(t *testing.T) {
	f := newFixture(t)
	tok := token(t, claims)
	start := time.Now().Add(-time.Hour)
	a, b := measurementtest.Simple("a.example", start), measurementtest.Simple("b.example", start.Add(time.Millisecond))
	nd := measurementtest.JSON(t, a) + "\n" + measurementtest.JSON(t, b) + "\n"
	for _, tc := range []struct {
		name string
		body []byte
		hdr  map[string]string
	}{
		{"ndjson", []byte(nd), map[string]string{"Content-Type": "application/x-ndjson"}},
		{"ndjson gzip", gz(t, []byte(nd)), map[string]string{"Content-Encoding": "gzip"}},
		{"array identity", batch(t, a, b), map[string]string{"Content-Encoding": "identity"}},
	} {
		r := f.post(t, tok, tc.body, tc.hdr)
		if r.status != http.StatusOK || decode[api.IngestResponse](t, r).Accepted != 2 {
			t.Errorf("%s: HTTP %d %s", tc.name, r.status, r.body)
		}
	}
	if n := f.count(t, store.Reach); n != 2 {
		t.Errorf("%d reach points, want 2", n)
	}
}

// TestPerItemResults: invalid items are rejected by index and field, the others stored.
func TestPerItemResults(t *testing.T) {
	f := newFixture(t)
	tok := token(t, claims)
	start := time.Now().Add(-time.Hour)
	good1, good2 := measurementtest.Simple("a.example", start), measurementtest.Full("b.example", start)
	bad := measurementtest.Simple("c.example", start)
	bad.Verdict.Status = "maybe"
	badDomain := measurementtest.Simple("c.example", start)
	badDomain.Domain = "evil.example\nreach,probe=x"
	body := "[" + measurementtest.JSON(t, good1) + "," + measurementtest.JSON(t, bad) + "," + `{"id":5}` + "," + measurementtest.JSON(t, badDomain) + "," + measurementtest.JSON(t, good2) + "]"
	r := f.post(t, tok, []byte(body), nil)
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	want := api.IngestResponse{Accepted: 2, Rejected: 3, Items: []api.ItemResult{
		{Index: 0, ID: good1.ID, Status: "accepted"},
		{Index: 1, Status: "rejected", Error: `measurements[1]: verdict.status: "maybe" is not one of accessible, blocked, down, inconclusive`},
		{Index: 2, Status: "rejected", Error: `measurements[2]: id: cannot be a number (want a string)`},
		{Index: 3, Status: "rejected", Error: `measurements[3]: domain: "evil.example\nreach,probe=x" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{Index: 4, ID: good2.ID, Status: "accepted"},
	}}
	if got := decode[api.IngestResponse](t, r); measurementtest.JSON(t, got) != measurementtest.JSON(t, want) {
		t.Errorf("answer\n got %s\nwant %s", measurementtest.JSON(t, got), measurementtest.JSON(t, want))
	}
	if n := f.count(t, store.Reach); n != 2 {
		t.Errorf("%d reach points, want 2", n)
	}
	// Several problems in one item: one line each, every one with the index.
	bad.Port = 0
	r = f.post(t, tok, batch(t, bad), nil)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("all rejected: HTTP %d, want 422", r.status)
	}
	if got, want := decode[api.IngestResponse](t, r).Items[0].Error, `measurements[0]: port: 0 is out of range; `+
		`measurements[0]: verdict.status: "maybe" is not one of accessible, blocked, down, inconclusive`; got != want {
		t.Errorf("error\n got %s\nwant %s", got, want)
	}
}

// TestStorageRefusesOneItem: an item InfluxDB cannot take (a field type conflict: raw_1,
// which only JSON longer than 60,000 bytes writes, already holds integers) is rejected
// alone; the rest of the batch is stored.
func TestStorageRefusesOneItem(t *testing.T) {
	f := newFixture(t)
	start := time.Now().Add(-time.Hour)
	db, _, _ := strings.Cut(f.bucket, "/")
	conflict := fmt.Sprintf("reach,probe=conflict raw_1=1i %d\n", start.UnixNano())
	resp, err := http.Post(f.influx+"/write?db="+db, "text/plain", strings.NewReader(conflict))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("writing the conflicting point: HTTP %d", resp.StatusCode)
	}
	good, bad := measurementtest.Simple("a.example", start), measurementtest.Simple("b.example", start)
	for range 10 {
		bad.Verdict.Evidence = append(bad.Verdict.Evidence, strings.Repeat("x", 8000))
	}
	r := f.post(t, token(t, claims), batch(t, good, bad), nil)
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	got := decode[api.IngestResponse](t, r)
	if got.Accepted != 1 || got.Rejected != 1 || got.Items[0].Status != "accepted" || got.Items[1].ID != bad.ID || got.Items[1].Status != "rejected" ||
		!strings.HasPrefix(got.Items[1].Error, "measurements[1]: storage refused it: ") || !strings.Contains(got.Items[1].Error, `field type conflict: input field "raw_1"`) {
		t.Errorf("answer %s", measurementtest.JSON(t, got))
	}
	if n := f.count(t, store.Reach); n != 1 {
		t.Errorf("%d reach points, want 1", n)
	}
}

// TestResubmissionStoresNoDuplicate: a probe that retries a batch (its answer was lost)
// rewrites the same points.
func TestResubmissionStoresNoDuplicate(t *testing.T) {
	f := newFixture(t)
	tok := token(t, claims)
	start := time.Now().Add(-time.Hour)
	var ms []*measurement.Measurement
	for i := range 5 {
		ms = append(ms, measurementtest.Full(fmt.Sprintf("site%d.example", i), start.Add(time.Duration(i)*time.Millisecond)))
	}
	ms = append(ms, measurementtest.Simple("site0.example", ms[0].StartedAt)) // same series and millisecond
	f.submit(t, tok, ms...)
	counts := map[string]int{}
	for _, name := range []string{store.Reach, store.DNS, store.TCP, store.TLS, store.HTTP} {
		counts[name] = f.count(t, name)
	}
	if counts[store.Reach] != len(ms) || counts[store.DNS] != 5*2 {
		t.Fatalf("after one submission: %v", counts)
	}
	f.submit(t, tok, ms...)
	f.submit(t, tok, ms[2], ms[0])
	for name, n := range counts {
		if got := f.count(t, name); got != n {
			t.Errorf("%s: %d points after resubmitting, %d before", name, got, n)
		}
	}
	seen := map[string]int{}
	for _, it := range f.all(t, window(), 4) {
		seen[it.Measurement.ID]++
	}
	for _, m := range ms {
		if seen[m.ID] != 1 {
			t.Errorf("%s returned %d times", m.ID, seen[m.ID])
		}
	}
	if len(seen) != len(ms) {
		t.Errorf("%d measurements returned, want %d", len(seen), len(ms))
	}
}

// TestBadRequests: bodies refused whole, before anything is decoded or stored.
func TestBadRequests(t *testing.T) {
	const limit = 64 << 10
	f := newFixture(t, func(o *api.Options) { o.BodyBytes = limit; o.BatchItems = 3 })
	tok := token(t, claims)
	m := measurementtest.Simple("a.example", time.Now().Add(-time.Hour))
	four := batch(t, m, m, m, m)
	bomb := gz(t, bytes.Repeat([]byte(" "), 4*limit)) // 4× the limit once decompressed, tiny on the wire
	truncated := gz(t, batch(t, m))
	truncated = truncated[:len(truncated)/2]
	gzipHdr := map[string]string{"Content-Encoding": "gzip"}
	for _, tc := range []struct {
		name   string
		body   []byte
		hdr    map[string]string
		status int
		want   string
	}{
		{"body over the limit", append(batch(t, m), bytes.Repeat([]byte(" "), limit)...), nil, 413, "body: larger than 65536 bytes"},
		{"decompressed over the limit", bomb, gzipHdr, 413, "body: larger than 65536 bytes"},
		{"gzip over the limit on the wire", gz(t, noise(t, limit+1024)), gzipHdr, 413, "body: larger than 65536 bytes"},
		{"batch over the limit", four, nil, 413, "body: more than 3 measurements in one batch"},
		{"gzip batch over the limit", gz(t, four), gzipHdr, 413, "body: more than 3 measurements in one batch"},
		{"malformed JSON", []byte(`[{"id":"x"},{"id" "y"}]`), nil, 400, "body: item 1: malformed JSON near byte 17: invalid character '\"' after object key"},
		{"unclosed array", []byte(`[{"id":"x"}`), nil, 400, "body: malformed JSON: unexpected end of input"},
		{"data after the array", append(batch(t, m), []byte("]")...), nil, 400, fmt.Sprintf("body: data after the JSON array at byte %d", len(batch(t, m)))},
		{"empty", nil, nil, 400, "body: empty; want a JSON array of measurements"},
		{"not gzip", batch(t, m), gzipHdr, 400, "body: bad gzip: gzip: invalid header"},
		{"truncated gzip", truncated, gzipHdr, 400, "body: unexpected EOF"},
		{"unsupported encoding", batch(t, m), map[string]string{"Content-Encoding": "br"}, 415, `Content-Encoding "br" is not supported (want gzip or none)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.post(t, tok, tc.body, tc.hdr)
			if r.status != tc.status || r.errorText(t) != tc.want {
				t.Errorf("HTTP %d %q, want %d %q", r.status, r.errorText(t), tc.status, tc.want)
			}
		})
	}
	if n := f.count(t, store.Reach); n != 0 {
		t.Errorf("%d reach points stored from refused requests", n)
	}
	if got := f.metric(t, "pantau_ingest_bad_requests_total"); got != "12" {
		t.Errorf("bad requests counted %s, want 12", got)
	}
}

// noise returns n random bytes (gzip cannot shrink them).
func noise(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFreeTextRoundTrip: tabs, quotes, backslashes and non-ASCII in free text are stored
// and returned as sent.
func TestFreeTextRoundTrip(t *testing.T) {
	f := newFixture(t)
	m := measurementtest.Simple("a.example", time.Now().Add(-time.Hour))
	m.HTTP = []measurement.HTTPRequest{{URL: "https://a.example/", Method: "GET", Status: 200,
		Title: "Situs\tDiblokir \"Internet Positif\" \\ ☂ reach,x=y", TimeMS: 1}}
	m.Verdict.Reason = "tab\there, quote \" and backslash \\"
	f.submit(t, token(t, claims), m)
	got := f.query(t, "domain=a.example&"+window()).Measurements
	if len(got) != 1 || got[0].Measurement.HTTP[0].Title != m.HTTP[0].Title || got[0].Measurement.Verdict.Reason != m.Verdict.Reason {
		t.Fatalf("got %s", measurementtest.JSON(t, got))
	}
	if !strings.Contains(measurementtest.JSON(t, got[0].Measurement), `Situs\tDiblokir`) {
		t.Errorf("tab not kept: %s", measurementtest.JSON(t, got[0].Measurement))
	}
}
