package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
	"github.com/pantau-dev/pantau/internal/ratelimit"
)

var secret = []byte("collector-api-test-secret-0123456789abcdef")

// claims is the identity of the probe most tests submit as.
var claims = auth.Claims{Probe: "jkt-telkomsel-01", Network: "Telkomsel", Country: "ID", ASN: 23693}

// fixture is the API on a real store, verifier and limiter, served over HTTP.
type fixture struct {
	url            string // the API's base URL
	influx, bucket string // where the store writes
	verifier       *auth.Verifier
}

// newFixture serves the API on a fresh database of the shared InfluxDB; opts adjust the
// options before the server is made.
func newFixture(t *testing.T, opts ...func(*api.Options)) *fixture {
	t.Helper()
	url, _ := influxtest.Server(t)
	return fixtureOn(t, url, influxtest.NewBucket(t), opts...)
}

// fixtureOn serves the API on the given InfluxDB and bucket.
func fixtureOn(t *testing.T, influx, bucket string, opts ...func(*api.Options)) *fixture {
	t.Helper()
	st, err := store.New(store.Config{URL: influx, Bucket: bucket, Timeout: 20 * time.Second}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	v, err := auth.NewVerifier(secret, []string{"probe:sby-revoked-01"})
	if err != nil {
		t.Fatal(err)
	}
	o := api.Options{Store: st, Verifier: v, Limiter: ratelimit.New(1000, 1000, 0)}
	for _, f := range opts {
		f(&o)
	}
	srv := httptest.NewServer(api.New(o, quiet()))
	t.Cleanup(srv.Close)
	return &fixture{url: srv.URL, influx: influx, bucket: bucket, verifier: v}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// token issues a token for c signed with the test secret.
func token(t testing.TB, c auth.Claims) string {
	t.Helper()
	tok, err := auth.Issue(secret, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// reply is an HTTP answer read in full.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// errorText is the "error" member of a JSON error answer.
func (r reply) errorText(t testing.TB) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("HTTP %d answer %q is not a JSON error: %v", r.status, r.body, err)
	}
	return e.Error
}

// do sends a request; hdr holds extra headers ("Authorization" among them, if any).
func do(t testing.TB, method, url string, body []byte, hdr map[string]string) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// post submits body to the ingest endpoint with tok.
func (f *fixture) post(t testing.TB, tok string, body []byte, hdr map[string]string) reply {
	t.Helper()
	h := bearer(tok)
	for k, v := range hdr {
		h[k] = v
	}
	return do(t, http.MethodPost, f.url+"/api/v1/measurements", body, h)
}

// batch encodes ms as a JSON array.
func batch(t testing.TB, ms ...*measurement.Measurement) []byte {
	t.Helper()
	return []byte(measurementtest.JSON(t, ms))
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// submit posts ms as a gzipped JSON array and requires every one to be accepted.
func (f *fixture) submit(t testing.TB, tok string, ms ...*measurement.Measurement) api.IngestResponse {
	t.Helper()
	r := f.post(t, tok, gz(t, batch(t, ms...)), map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/json"})
	if r.status != http.StatusOK {
		t.Fatalf("submit: HTTP %d %s", r.status, r.body)
	}
	resp := decode[api.IngestResponse](t, r)
	if resp.Accepted != len(ms) || resp.Rejected != 0 {
		t.Fatalf("submit: %s", r.body)
	}
	return resp
}

func decode[T any](t testing.TB, r reply) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
	return v
}

// query gets one page of the query API; params is the query string.
func (f *fixture) query(t testing.TB, params string) api.QueryResponse {
	t.Helper()
	r := do(t, http.MethodGet, f.url+"/api/v1/measurements?"+params, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("query %s: HTTP %d %s", params, r.status, r.body)
	}
	return decode[api.QueryResponse](t, r)
}

// all follows the cursor through every page of params with page size limit.
func (f *fixture) all(t testing.TB, params string, limit int) []api.QueryItem {
	t.Helper()
	var out []api.QueryItem
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("more than 1000 pages")
		}
		p := params + "&limit=" + strconv.Itoa(limit)
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		page := f.query(t, p)
		if len(page.Measurements) > limit {
			t.Fatalf("page of %d, limit %d", len(page.Measurements), limit)
		}
		out = append(out, page.Measurements...)
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

// count is how many points of measurement name have an id field in the fixture's bucket.
func (f *fixture) count(t testing.TB, name string) int {
	t.Helper()
	return influxtest.Count(t, f.influx, f.bucket, name, "id")
}

// metric returns the value of the metric line that starts with name (labels included).
func (f *fixture) metric(t testing.TB, name string) string {
	t.Helper()
	r := do(t, http.MethodGet, f.url+"/metrics", nil, nil)
	for _, line := range strings.Split(string(r.body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("no metric %s in\n%s", name, r.body)
	return ""
}

// window returns from= and to= around now for the query API.
func window() string {
	now := time.Now().UTC()
	return "from=" + now.Add(-48*time.Hour).Format(time.RFC3339) + "&to=" + now.Add(time.Hour).Format(time.RFC3339)
}
