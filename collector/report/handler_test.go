package report_test

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
)

const token = "s3cret-admin-token"

// call makes a request and returns the status, the headers and the body.
func call(t *testing.T, method, u, auth, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func get(t *testing.T, u string) (int, http.Header, string) { return call(t, "GET", u, "", "") }

func csvRows(t *testing.T, body string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV %q: %v", body, err)
	}
	return rows
}

func TestHandler(t *testing.T) {
	st, _, _ := fixture(t)
	dir := filepath.Join(t.TempDir(), "orders")
	svc := newService(t, st, dir, end)
	srv := httptest.NewServer(svc.Handler(token))
	defer srv.Close()
	api := srv.URL + "/api/v1"
	q := "domain=t.me&network=Telkomsel&from=2017-07-10T00:00:00Z&to=" + url.QueryEscape(end.Format(time.RFC3339))

	t.Run("timeline", func(t *testing.T) {
		code, _, body := get(t, api+"/timeline?"+q)
		var got struct{ Timelines []struct{ Current string } }
		if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got.Timelines) != 1 || got.Timelines[0].Current != "blocked" {
			t.Fatalf("timeline: %d %v %s", code, err, body)
		}
		code, h, body := get(t, api+"/timeline?"+q+"&format=csv")
		rows := csvRows(t, body)
		if code != 200 || h.Get("Content-Type") != "text/csv; charset=utf-8" || len(rows) != 3 ||
			strings.Join(rows[0], ",") != "domain,network,probe,kind,state,method,since,confirmed,first_seen,last_seen,until,measurements,disagreeing,probes,gap_reason" ||
			rows[1][4] != "accessible" || rows[2][4] != "blocked" || rows[2][5] != "dns" {
			t.Errorf("timeline CSV: %d %s %q", code, h.Get("Content-Type"), rows)
		}
		// Unix seconds work as well; per=probe gives one timeline per probe.
		code, _, body = get(t, api+"/timeline?domain=t.me&network=Telkomsel&per=probe&from=1499644800&to=1500508800&format=csv")
		periods := map[string]int{}
		for _, r := range csvRows(t, body)[1:] {
			if r[3] == "period" {
				periods[r[2]+"/"+r[4]]++
			}
		}
		if want := "map[tsel-1/accessible:1 tsel-1/blocked:1 tsel-2/accessible:1 tsel-2/blocked:1]"; code != 200 || fmt.Sprint(periods) != want {
			t.Errorf("per probe CSV: %d periods %v, want %s", code, periods, want)
		}
	})
	t.Run("changes", func(t *testing.T) {
		code, _, body := get(t, api+"/changes?since=2017-07-14T00:00:00Z&until=2017-07-20T00:00:00Z")
		var got struct {
			Changes []struct{ Domain, Network, To string }
		}
		if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got.Changes) != 32 {
			t.Fatalf("changes: %d %v %d", code, err, len(got.Changes))
		}
		code, _, body = get(t, api+"/changes?since=2017-07-14T00:00:00Z&until=2017-07-20T00:00:00Z&format=csv")
		if rows := csvRows(t, body); code != 200 || len(rows) != 33 || strings.Join(rows[0], ",") != "domain,network,probe,from,to,method,at,confirmed" {
			t.Errorf("changes CSV: %d %q", code, rows[:min(2, len(rows))])
		}
	})
	t.Run("orders and compliance", func(t *testing.T) {
		code, _, body := get(t, api+"/orders")
		var list struct{ Orders []struct{ ID string } }
		if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list.Orders) != 2 ||
			list.Orders[0].ID != "kominfo-2017-telegram-block" || list.Orders[1].ID != "kominfo-2017-telegram-unblock" {
			t.Fatalf("orders: %d %v %s", code, err, body)
		}
		code, _, body = get(t, api+"/orders?format=csv")
		if rows := csvRows(t, body); code != 200 || len(rows) != 3 || rows[1][0] != "kominfo-2017-telegram-block" || rows[1][4] != "blocked" {
			t.Errorf("orders CSV: %d %q", code, rows)
		}
		if code, _, body := get(t, api+"/orders/kominfo-2017-telegram-unblock"); code != 200 || !strings.Contains(body, `"expect":"accessible"`) {
			t.Errorf("order: %d %s", code, body)
		}
		if code, _, body := get(t, api+"/orders/nope"); code != 404 || body != `{"error":"order \"nope\": not found"}`+"\n" {
			t.Errorf("unknown order: %d %s", code, body)
		}
		if code, _, body := get(t, api+"/orders/nope/compliance"); code != 404 || body != `{"error":"order \"nope\": not found"}`+"\n" {
			t.Errorf("unknown order's compliance: %d %s", code, body)
		}
		code, _, body = get(t, api+"/orders/kominfo-2017-telegram-block/compliance?at=2017-07-20T00:00:00Z")
		var rep struct {
			Status     string
			Historical bool
			AsOf       string `json:"as_of"`
			Networks   []struct{ Network, Status string }
		}
		if err := json.Unmarshal([]byte(body), &rep); code != 200 || err != nil || rep.Status != "non-compliant" || len(rep.Networks) != 4 ||
			rep.Historical || rep.AsOf != "" {
			t.Fatalf("compliance: %d %v %s", code, err, body)
		}
		code, _, body = get(t, api+"/orders/kominfo-2017-telegram-block/compliance?at=2017-07-20T00:00:00Z&format=csv")
		rows := csvRows(t, body)
		if code != 200 || len(rows) != 1+4*11 || rows[0][3] != "network" || rows[0][7] != "domain" ||
			rows[0][18] != "as_of" || rows[1][18] != "now" {
			t.Fatalf("compliance CSV: %d %d rows %q", code, len(rows), rows[0])
		}
		// A report for a time before the service's clock (end) says as of when.
		code, _, body = get(t, api+"/orders/kominfo-2017-telegram-block/compliance?at=2017-07-19T00:00:00Z")
		if !strings.Contains(body, `"historical":true,"as_of":"2017-07-19T00:00:00Z"`) {
			t.Errorf("past compliance: %d %s", code, body[:min(len(body), 400)])
		}
		code, _, body = get(t, api+"/orders/kominfo-2017-telegram-block/compliance?at=2017-07-19T00:00:00Z&format=csv")
		if past := csvRows(t, body); code != 200 || past[1][18] != "2017-07-19T00:00:00Z" {
			t.Errorf("past compliance CSV: %d %q", code, past[:min(2, len(past))])
		}
		for _, r := range rows[1:] {
			if r[3] == "Indosat Ooredoo" && r[7] == "t.me" && r[8] != "non-compliant" {
				t.Errorf("Indosat t.me: %q", r)
			}
		}
	})
	t.Run("evidence", func(t *testing.T) {
		code, h, body := get(t, api+"/evidence?domain=t.me&network=Telkomsel&at=2017-07-16T12:00:00Z")
		if code != 200 || h.Get("Content-Disposition") != `attachment; filename="evidence-t.me-Telkomsel-20170716T120000Z.json"` {
			t.Fatalf("evidence: %d %q %.300s", code, h.Get("Content-Disposition"), body)
		}
		var b struct {
			State  string
			SHA256 string
			Items  []struct {
				SHA256 string
				Raw    json.RawMessage
			} `json:"measurements"`
		}
		if err := json.Unmarshal([]byte(body), &b); err != nil || b.State != "blocked" || len(b.Items) != report.MaxEvidence {
			t.Fatalf("evidence: %v %s %d", err, b.State, len(b.Items))
		}
		whole := sha256.New()
		for _, it := range b.Items {
			if sum := sha256.Sum256(it.Raw); hex.EncodeToString(sum[:]) != it.SHA256 {
				t.Errorf("raw as served does not hash to %s", it.SHA256)
			}
			whole.Write([]byte(it.SHA256))
		}
		if hex.EncodeToString(whole.Sum(nil)) != b.SHA256 {
			t.Errorf("bundle hash %s, want %x", b.SHA256, whole.Sum(nil))
		}
	})
	t.Run("window cut at now", func(t *testing.T) {
		// A window ending after the service's clock (2017-07-20) ends at now: the last
		// measurements' state holds there, no gap runs on into the future.
		code, _, body := get(t, api+"/timeline?domain=t.me&network=Telkomsel&from=2017-07-19T00:00:00Z&to=2017-07-25T00:00:00Z")
		var r struct {
			Timelines []struct {
				To      time.Time `json:"to"`
				Current string    `json:"current"`
				Gaps    []any     `json:"gaps"`
			} `json:"timelines"`
		}
		if err := json.Unmarshal([]byte(body), &r); code != 200 || err != nil || len(r.Timelines) != 1 {
			t.Fatalf("timeline: %d %v %.300s", code, err, body)
		}
		if tl := r.Timelines[0]; !tl.To.Equal(end) || tl.Current != "blocked" || len(tl.Gaps) != 0 {
			t.Errorf("to %s, current %s, gaps %v; want %s, blocked, none", tl.To, tl.Current, tl.Gaps, end)
		}
	})
	t.Run("evidence CSV", func(t *testing.T) {
		code, h, body := get(t, api+"/evidence?domain=t.me&network=Telkomsel&at=2017-07-16T12:00:00Z&format=csv")
		if code != 200 || h.Get("Content-Disposition") != `attachment; filename="evidence-t.me-Telkomsel-20170716T120000Z.csv"` {
			t.Fatalf("evidence CSV: %d %q %.300s", code, h.Get("Content-Disposition"), body)
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(rows) != report.MaxEvidence+1 {
			t.Fatalf("evidence CSV: %v, %d rows", err, len(rows))
		}
		col := map[string]int{}
		for i, name := range rows[0] {
			col[name] = i
		}
		whole := sha256.New()
		for _, r := range rows[1:] {
			if r[col["domain"]] != "t.me" || r[col["network"]] != "Telkomsel" || r[col["state"]] != "blocked" || r[col["probe_network"]] != "Telkomsel" {
				t.Errorf("row %q", r)
			}
			if sum := sha256.Sum256([]byte(r[col["raw"]])); hex.EncodeToString(sum[:]) != r[col["sha256"]] {
				t.Errorf("raw in the CSV does not hash to %s", r[col["sha256"]])
			}
			whole.Write([]byte(r[col["sha256"]]))
		}
		if got := hex.EncodeToString(whole.Sum(nil)); got != rows[1][col["bundle_sha256"]] {
			t.Errorf("bundle hash %s, want %s", rows[1][col["bundle_sha256"]], got)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for _, tc := range []struct{ path, want string }{
			{"/timeline?" + q + "&colour=red&limit=3", "colour, limit: unknown parameter (this endpoint takes domain, format, from, network, per, probe, to)"},
			{"/timeline?domain=t.me&domain=x", "domain: given 2 times"},
			{"/timeline?network=Telkomsel", "domain: required"},
			{"/timeline?domain=t.me&from=yesterday", `from: "yesterday" is neither RFC 3339 (2017-07-14T00:00:00Z) nor Unix seconds`},
			{"/timeline?domain=t.me&from=-5", "from: -5 is not a Unix time from 0 to 7258118400"},
			{"/timeline?domain=t.me&from=2017-07-20T00:00:00Z&to=2017-07-10T00:00:00Z", "from: 2017-07-20T00:00:00Z is not before to 2017-07-10T00:00:00Z"},
			{"/timeline?domain=t.me&from=2017-01-01T00:00:00Z&to=2017-07-10T00:00:00Z", "from: 2017-01-01T00:00:00Z to 2017-07-10T00:00:00Z is longer than 90 days"},
			{"/timeline?domain=t.me&per=day", `per: "day" is not network or probe`},
			{"/timeline?domain=t.me&format=xml", `format: "xml" is not json or csv`},
			{"/timeline?domain=" + url.QueryEscape(`t.me") |> drop()`), `domain: "t.me\") |> drop()" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
			{"/timeline?domain=" + url.QueryEscape("bücher.example"), `domain: "bücher.example" is not ASCII: give an internationalised name in its A-label form (xn--…)`},
			{"/timeline?domain=" + url.QueryEscape("[2001:67c:4e8:f004::a]"), `domain: "[2001:67c:4e8:f004::a]": give the IPv6 address without brackets: 2001:67c:4e8:f004::a`},
			{"/evidence?domain=t.me%2Fx&network=Telkomsel&at=2017-07-14T00:00:00Z", `domain: "t.me/x" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
			{"/changes?since=2017-01-01T00:00:00Z&until=2017-07-10T00:00:00Z", "since: 2017-01-01T00:00:00Z to 2017-07-10T00:00:00Z is longer than 90 days"},
			// The service's clock is 2017-07-20: a window may end later (it is cut at now),
			// but not start later.
			{"/timeline?domain=t.me&from=2017-07-21T00:00:00Z&to=2017-07-22T00:00:00Z", "from: 2017-07-21T00:00:00Z is in the future"},
			{"/evidence?domain=t.me&network=Telkomsel&at=2017-07-21T00:00:00Z", "at: 2017-07-21T00:00:00Z is in the future"},
			{"/orders?all=1", "all: unknown parameter (this endpoint takes format)"},
			{"/orders/kominfo-2017-telegram-block/compliance?at=soon", `at: "soon" is neither RFC 3339 (2017-07-14T00:00:00Z) nor Unix seconds`},
			{"/evidence?domain=t.me&network=Telkomsel", "at: required"},
			{"/evidence?domain=t.me&at=2017-07-16T12:00:00Z", "network: required"},
		} {
			code, _, body := get(t, api+tc.path)
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); code != 400 || err != nil || e.Error != tc.want {
				t.Errorf("%s: %d %s, want 400 %q", tc.path, code, body, tc.want)
			}
		}
	})
	t.Run("admin uploads", func(t *testing.T) {
		order := "id: test-order\nauthority: A\nreference: R\ndomains: [t.me]\nexpect: blocked\neffective: 2017-07-20T00:00:00Z\ngrace: 1d\nnetworks: [Telkomsel]\n"
		bearer := "Bearer " + token
		for _, tc := range []struct {
			method, path, auth, body string
			code                     int
			want                     string
		}{
			{"PUT", "/orders/test-order", "", order, 401, `{"error":"authorization: a bearer token is required"}`},
			{"PUT", "/orders/test-order", "Bearer wrong", order, 403, `{"error":"authorization: wrong admin token"}`},
			{"PUT", "/orders/test-order", "Basic " + token, order, 401, `{"error":"authorization: a bearer token is required"}`},
			{"PUT", "/orders/other-id", bearer, order, 400, `{"error":"id: the path names order \"other-id\", the YAML order \"test-order\""}`},
			{"PUT", "/orders/test-order", bearer, strings.Replace(order, "reference: R\n", "reference: R\ncolour: red\n", 1), 400, `{"error":"upload.yaml:4: field \"colour\" not found"}`},
			{"PUT", "/orders/test-order", bearer, "id: [\n", 400, `{"error":"upload.yaml: line 1: did not find expected node content"}`},
			{"POST", "/orders", bearer, order, 201, `"id":"test-order"`},
			{"POST", "/orders", bearer, order, 409, `{"error":"order \"test-order\" exists: PUT /api/v1/orders/test-order replaces it"}`},
			{"PUT", "/orders/test-order", bearer, strings.Replace(order, "reference: R", "reference: R2", 1), 200, `"reference":"R2"`},
		} {
			code, _, body := call(t, tc.method, api+tc.path, tc.auth, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("%s %s (%q): %d %s, want %d %s", tc.method, tc.path, tc.auth, code, body, tc.code, tc.want)
			}
		}
		if o, ok := svc.Order("test-order"); !ok || o.Reference != "R2" {
			t.Errorf("uploaded order: %+v %v", o, ok)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "test-order.yaml")); err != nil || !strings.Contains(string(b), "reference: R2") {
			t.Errorf("order file: %v %s", err, b)
		}
		// A new Service loads it from the folder.
		if o, ok := newService(t, st, dir, end).Order("test-order"); !ok || o.Reference != "R2" {
			t.Errorf("reloaded order: %+v %v", o, ok)
		}
	})
	t.Run("admin disabled", func(t *testing.T) {
		off := httptest.NewServer(svc.Handler(""))
		defer off.Close()
		if code, _, body := call(t, "PUT", off.URL+"/api/v1/orders/x", "Bearer ", "id: x"); code != 404 || body != `{"error":"admin API disabled: no admin token is configured"}`+"\n" {
			t.Errorf("disabled admin: %d %s", code, body)
		}
		noDir := httptest.NewServer(newService(t, st, "", end).Handler(token))
		defer noDir.Close()
		if code, _, body := call(t, "POST", noDir.URL+"/api/v1/orders", "Bearer "+token, "id: x"); code != 403 || !strings.Contains(body, "no orders_dir") {
			t.Errorf("no orders dir: %d %s", code, body)
		}
	})
}

func TestHandlerUnavailable(t *testing.T) {
	st, err := store.New(store.Config{URL: "http://127.0.0.1:1", Bucket: "pantau/autogen"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(newService(t, st, "", end).Handler(token))
	defer srv.Close()
	for _, p := range []string{"/timeline?domain=t.me", "/changes", "/orders/kominfo-2017-telegram-block/compliance", "/evidence?domain=t.me&network=Telkomsel&at=1500000000"} {
		code, h, body := get(t, srv.URL+"/api/v1"+p)
		if code != 503 || h.Get("Retry-After") != "5" || body != `{"error":"storage unavailable: try again shortly"}`+"\n" {
			t.Errorf("%s: %d %q %s", p, code, h.Get("Retry-After"), body)
		}
	}
	// Orders need no storage.
	if code, _, _ := get(t, srv.URL+"/api/v1/orders"); code != 200 {
		t.Errorf("orders: %d", code)
	}
}
