package engine

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/fingerprint"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/testpki"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// page serves body as HTML.
func page(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, body)
	}
}

// redirectTo redirects with code and no body.
func redirectTo(w http.ResponseWriter, loc string, code int) {
	w.Header().Set("Location", loc)
	w.WriteHeader(code)
}

// resolveTo returns a resolver that knows only host, at 127.0.0.1.
func resolveTo(host string) func(context.Context, string) ([]string, error) {
	return func(_ context.Context, h string) ([]string, error) {
		if h != host {
			return nil, failure.New(failure.DNSNXDomain, nil)
		}
		return []string{"127.0.0.1"}, nil
	}
}

func TestFetch(t *testing.T) {
	ca := testpki.NewCA(t, "Pantau Test CA")
	const home = "<html><head><TITLE lang=en>\n  Hello &amp;\n World </TITLE></head><body>hi</body></html>"
	const blockPage = "<title>Blocked</title>This site is blocked."
	plain := serveHTTP(t, page(home), nil)
	block := serveHTTP(t, page(blockPage), nil)
	redir := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		redirectTo(w, fmt.Sprintf("http://block.example:%d/blocked", block), http.StatusFound)
	}), nil)
	loop := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		redirectTo(w, "/"+strconv.Itoa(n+1), http.StatusMovedPermanently)
	}), nil)
	big := serveHTTP(t, page(strings.Repeat("a", 5000)), nil)
	secure := serveHTTP(t, page(home), &tls.Config{Certificates: []tls.Certificate{ca.Valid(t, "site.example")}})
	wrongName := serveHTTP(t, page(home), &tls.Config{Certificates: []tls.Certificate{ca.Valid(t, "other.example")}})
	resetAfterRequest := serveConns(t, func(c *net.TCPConn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			reset(c)
		}
	})
	silent := serveConns(t, func(c *net.TCPConn) {
		_, _ = io.Copy(io.Discard, c)
	})
	endlessHead := serveConns(t, func(c *net.TCPConn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		line := []byte("X-Filler: " + strings.Repeat("a", 1000) + "\r\n")
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\n"); err != nil {
			return
		}
		for {
			if _, err := c.Write(line); err != nil {
				return
			}
		}
	})
	closed := freePort(t)

	ok := func(u string, port int, title, body string, h map[string]string) measurement.HTTPRequest {
		return measurement.HTTPRequest{
			URL: u, Method: "GET", Address: "127.0.0.1:" + itoa(port), Status: 200, Headers: h,
			BodyLength: int64(len(body)), BodySHA256: sha(body), Title: title,
		}
	}
	htmlHeaders := func(body string) map[string]string {
		return map[string]string{"Content-Type": "text/html", "Content-Length": itoa(len(body))}
	}
	loopHops := make([]measurement.HTTPRequest, maxRedirects)
	for i := range loopHops {
		p := "/" + itoa(i)
		if i == 0 {
			p = "/"
		}
		loopHops[i] = measurement.HTTPRequest{
			URL: "http://site.example:" + itoa(loop) + p, Method: "GET", Address: "127.0.0.1:" + itoa(loop), Status: 301,
			Headers:    map[string]string{"Location": "/" + itoa(i+1), "Content-Length": "0"},
			BodySHA256: sha(""),
		}
	}
	loopHops[maxRedirects-1].Failure = measurement.Failure(failure.HTTPTooManyRedir)
	tests := []struct {
		name  string
		url   string
		addrs []string
		cfg   Config
		want  []measurement.HTTPRequest
	}{
		{"page", fmt.Sprintf("http://site.example:%d/", plain), []string{"127.0.0.1"}, Config{},
			[]measurement.HTTPRequest{ok(fmt.Sprintf("http://site.example:%d/", plain), plain, "Hello & World", home, htmlHeaders(home))}},
		{"second address", fmt.Sprintf("http://site.example:%d/", plain), []string{"127.0.0.2", "127.0.0.1"}, Config{},
			[]measurement.HTTPRequest{ok(fmt.Sprintf("http://site.example:%d/", plain), plain, "Hello & World", home, htmlHeaders(home))}},
		{"redirect to block page", fmt.Sprintf("http://site.example:%d/", redir), []string{"127.0.0.1"}, Config{}, []measurement.HTTPRequest{
			{
				URL: fmt.Sprintf("http://site.example:%d/", redir), Method: "GET", Address: "127.0.0.1:" + itoa(redir), Status: 302,
				Headers:    map[string]string{"Location": fmt.Sprintf("http://block.example:%d/blocked", block), "Content-Length": "0"},
				BodySHA256: sha(""),
			},
			ok(fmt.Sprintf("http://block.example:%d/blocked", block), block, "Blocked", blockPage, htmlHeaders(blockPage)),
		}},
		{"too many redirects", fmt.Sprintf("http://site.example:%d/", loop), []string{"127.0.0.1"}, Config{}, loopHops},
		{"truncated", fmt.Sprintf("http://site.example:%d/", big), []string{"127.0.0.1"}, Config{BodyCap: 1000}, []measurement.HTTPRequest{{
			URL: fmt.Sprintf("http://site.example:%d/", big), Method: "GET", Address: "127.0.0.1:" + itoa(big), Status: 200,
			Headers:    map[string]string{"Content-Type": "text/html"}, // chunked: longer than the server's buffer
			BodyLength: 1000, BodyTruncated: true, BodySHA256: sha(strings.Repeat("a", 1000)),
		}}},
		{"https", fmt.Sprintf("https://site.example:%d/", secure), []string{"127.0.0.1"}, Config{},
			[]measurement.HTTPRequest{ok(fmt.Sprintf("https://site.example:%d/", secure), secure, "Hello & World", home, htmlHeaders(home))}},
		{"https wrong name", fmt.Sprintf("https://site.example:%d/", wrongName), []string{"127.0.0.1"}, Config{}, []measurement.HTTPRequest{{
			URL: fmt.Sprintf("https://site.example:%d/", wrongName), Method: "GET", Address: "127.0.0.1:" + itoa(wrongName),
			Failure: measurement.Failure(failure.SSLInvalidHostname),
		}}},
		{"reset after request", fmt.Sprintf("http://site.example:%d/", resetAfterRequest), []string{"127.0.0.1"}, Config{}, []measurement.HTTPRequest{{
			URL: fmt.Sprintf("http://site.example:%d/", resetAfterRequest), Method: "GET", Address: "127.0.0.1:" + itoa(resetAfterRequest),
			Failure: measurement.Failure(failure.ConnectionReset),
		}}},
		{"silence", fmt.Sprintf("http://site.example:%d/", silent), []string{"127.0.0.1"}, Config{Timeouts: Timeouts{HTTP: 300 * time.Millisecond}}, []measurement.HTTPRequest{{
			URL: fmt.Sprintf("http://site.example:%d/", silent), Method: "GET", Address: "127.0.0.1:" + itoa(silent),
			Failure: measurement.Failure(failure.GenericTimeout),
		}}},
		{"endless head", fmt.Sprintf("http://site.example:%d/", endlessHead), []string{"127.0.0.1"}, Config{}, []measurement.HTTPRequest{{
			URL: fmt.Sprintf("http://site.example:%d/", endlessHead), Method: "GET", Address: "127.0.0.1:" + itoa(endlessHead),
			Failure: measurement.Failure(failure.HTTPInvalidReply),
		}}},
		{"guard", fmt.Sprintf("http://site.example:%d/", plain), []string{"127.0.0.1"}, Config{DialGuard: refuseLoopback}, []measurement.HTTPRequest{{
			URL: fmt.Sprintf("http://site.example:%d/", plain), Method: "GET", Address: "127.0.0.1:" + itoa(plain),
			Failure: measurement.Failure(failure.RefusedPrivate),
		}}},
		{"refused", fmt.Sprintf("http://site.example:%d/", closed), []string{"127.0.0.1"}, Config{}, []measurement.HTTPRequest{{
			URL: fmt.Sprintf("http://site.example:%d/", closed), Method: "GET", Address: "127.0.0.1:" + itoa(closed),
			Failure: measurement.Failure(failure.ConnectionRefused),
		}}},
		{"redirect lookup fails", fmt.Sprintf("http://elsewhere.example:%d/", redir), []string{"127.0.0.1"}, Config{}, []measurement.HTTPRequest{
			{
				URL: fmt.Sprintf("http://elsewhere.example:%d/", redir), Method: "GET", Address: "127.0.0.1:" + itoa(redir), Status: 302,
				Headers:    map[string]string{"Location": fmt.Sprintf("http://block.example:%d/blocked", block), "Content-Length": "0"},
				BodySHA256: sha(""),
			},
			{URL: fmt.Sprintf("http://block.example:%d/blocked", block), Method: "GET", Failure: measurement.Failure(failure.DNSNXDomain)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.RootCAs = ca.Pool
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			resolve := resolveTo("block.example")
			if tt.name == "redirect lookup fails" {
				resolve = resolveTo("nothing.example")
			}
			got, fps := New(tt.cfg, nil).fetch(t.Context(), u, tt.addrs, resolve)
			for i := range got {
				got[i].TimeMS = 0
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("hops =\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
			if len(fps) != 0 {
				t.Errorf("fingerprints = %+v without a set", fps)
			}
		})
	}
}

func TestHTTPStep(t *testing.T) {
	port := serveHTTP(t, page("<title>Home</title>"), nil)
	tg, err := target.Parse(fmt.Sprintf("http://site.example:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	r := &run{t: tg, obs: &measurement.Observations{TCP: []measurement.TCPConnect{
		{IP: "127.0.0.2", Port: port, Origin: measurement.OriginProbe, Failure: measurement.Failure(failure.ConnectionRefused)},
		{IP: "127.0.0.3", Port: port, Origin: measurement.OriginControl},
		{IP: "127.0.0.1", Port: port, Origin: measurement.OriginProbe},
	}}, resolve: resolveTo("nothing.example")}
	New(Config{}, nil).httpStep(t.Context(), r)
	if len(r.obs.HTTP) != 1 || r.obs.HTTP[0].Address != "127.0.0.1:"+itoa(port) || r.obs.HTTP[0].Title != "Home" {
		t.Errorf("http = %s", dump(r.obs.HTTP))
	}
}

// TestHTTPStepFallback checks that without a connected address the step still tries the
// probe's addresses (and records why it failed), and that without any it records nothing.
func TestHTTPStepFallback(t *testing.T) {
	closed := freePort(t)
	tg, err := target.Parse(fmt.Sprintf("http://site.example:%d/", closed))
	if err != nil {
		t.Fatal(err)
	}
	r := &run{t: tg, obs: &measurement.Observations{}}
	e := New(Config{}, nil)
	e.httpStep(t.Context(), r)
	if len(r.obs.HTTP) != 0 {
		t.Errorf("http without addresses = %s", dump(r.obs.HTTP))
	}
	r.addEndpoint("127.0.0.3", measurement.OriginControl)
	r.addEndpoint("127.0.0.1", measurement.OriginProbe)
	e.httpStep(t.Context(), r)
	if len(r.obs.HTTP) != 1 || r.obs.HTTP[0].Address != "127.0.0.1:"+itoa(closed) || deref(r.obs.HTTP[0].Failure) != failure.ConnectionRefused {
		t.Errorf("http = %s", dump(r.obs.HTTP))
	}
}

func TestReadBody(t *testing.T) {
	const body = "0123456789"
	tests := []struct {
		name      string
		limit     int64
		keep      string
		n         int64
		truncated bool
	}{
		{"short", 100, "0123", 10, false},
		{"exactly the cap", 10, "0123", 10, false},
		{"over the cap", 7, "0123", 7, true},
		{"cap within kept part", 3, "012", 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// one byte per read exercises every boundary; keep starts at capacity 1
			// and grows to 4
			scratch := make([]byte, 3)
			kept, n, sum, truncated, err := readBody(iotest.OneByteReader(strings.NewReader(body)), tt.limit, make([]byte, 0, 1), 4, &scratch)
			if err != nil || string(kept) != tt.keep || n != tt.n || truncated != tt.truncated || hex.EncodeToString(sum) != sha(body[:tt.n]) {
				t.Errorf("readBody = %q, %d, %x, %v, %v", kept, n, sum, truncated, err)
			}
		})
	}
	var scratch []byte // allocated by readBody when the body outgrows keep
	_, n, _, _, err := readBody(iotest.TimeoutReader(strings.NewReader(body)), 100, nil, 4, &scratch)
	if n != 4 || err != iotest.ErrTimeout {
		t.Errorf("readBody with a failing reader = %d, %v; want 4, %v", n, err, iotest.ErrTimeout)
	}
}

func TestTitle(t *testing.T) {
	long := strings.Repeat("é", 250)
	tests := []struct{ body, want string }{
		{"<html><head><title>Plain</title>", "Plain"},
		{"<TITLE>Upper</TiTlE>", "Upper"},
		{"<title lang=\"en\">\n\t A  &lt;b&gt; &amp; c \n</title>", "A <b> & c"},
		{"<titles>no</titles><title>yes</title>", "yes"},
		{"<title>unterminated", ""},
		{"no title at all", ""},
		{"<title>" + long + "</title>", long[:400]}, // 200 two-byte runes
	}
	for _, tt := range tests {
		if got := title([]byte(tt.body)); got != tt.want {
			t.Errorf("title(%.40q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

// BenchmarkFetch measures one plain fetch of a small page (connect, request, body).
func BenchmarkFetch(b *testing.B) {
	port := serveHTTP(b, page("<title>Bench</title>"+strings.Repeat("x", 8<<10)), nil)
	u, err := url.Parse(fmt.Sprintf("http://site.example:%d/", port))
	if err != nil {
		b.Fatal(err)
	}
	e := New(Config{}, nil)
	b.ReportAllocs()
	for b.Loop() {
		hops, _ := e.fetch(b.Context(), u, []string{"127.0.0.1"}, nil)
		if len(hops) != 1 || hops[0].Failure != nil {
			b.Fatalf("hops = %s", dump(hops))
		}
	}
}

// TestFetchFingerprints checks that every hop is matched: the redirect by its Location
// header, the block page by its body.
func TestFetchFingerprints(t *testing.T) {
	const blockPage = "<title>Blocked</title>This site is blocked."
	block := serveHTTP(t, page(blockPage), nil)
	redir := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		redirectTo(w, fmt.Sprintf("http://block.example:%d/blocked", block), http.StatusFound)
	}), nil)
	const csv = "name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,expected_countries,source,exp_url,notes\n" +
		"test_redirect,isp,,header.location,contains,block.example,9,ID,test,,\n" +
		"test_body,nat,,body,contains,This site is blocked,10,ID,test,,\n" +
		"test_unrelated,nat,,body,contains,not on any page,10,ID,test,,\n"
	fps, err := fingerprint.Load(strings.NewReader(csv), "test.csv")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(fmt.Sprintf("http://site.example:%d/", redir))
	if err != nil {
		t.Fatal(err)
	}
	e := New(Config{Fingerprints: fingerprint.NewSet(fps)}, nil)
	hops, got := e.fetch(t.Context(), u, []string{"127.0.0.1"}, resolveTo("block.example"))
	want := []measurement.FingerprintMatch{
		{
			Name: "test_redirect", Scope: "isp", Location: "header.location", PatternType: "contains", Pattern: "block.example", Confidence: 9,
			Where: fmt.Sprintf("http[0] header.location %q", fmt.Sprintf("http://block.example:%d/blocked", block)),
		},
		{
			Name: "test_body", Scope: "nat", Location: "body", PatternType: "contains", Pattern: "This site is blocked", Confidence: 10,
			Where: "http[1] body",
		},
	}
	if len(hops) != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("hops = %s\nfingerprints = %s\nwant %s", dump(hops), dump(got), dump(want))
	}
}
