package qa

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/fingerprint"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/testpki"
)

// The QA internet lives on 127.0.1.0/24, declared a lab range, so that 127.0.0.1 stays
// what it is on the real internet: a reserved (bogon) answer.
var labCIDRs = []netip.Prefix{netip.MustParsePrefix("127.0.1.0/24")}

// Addresses of the QA internet, after OONI's netemx names.
const (
	addrExample    = "127.0.1.10" // www.example.com, www.example.org
	addrIDN        = "127.0.1.11" // яндекс.рф (xn--d1acpjx3f.xn--p1ai)
	addrCDNNode    = "127.0.1.12" // another CDN node of www.example.com: the same page and certificate
	addrExpired    = "127.0.1.20" // expired.badssl.com: an expired certificate
	addrWrongHost  = "127.0.1.21" // wrong.host.badssl.com: a certificate for another name
	addrUntrusted  = "127.0.1.22" // untrusted-root.badssl.com: a certificate from an unknown CA
	addrCloudflare = "127.0.1.30" // www.cloudflare-cache.com: a challenge for the probe
	addrLargeFile  = "127.0.1.40" // largefile.com: a body far beyond the body cap
	addrISPProxy   = "127.0.1.50" // the ISP's transparent proxy to www.example.com
	addrBitly      = "127.0.1.60" // bit.ly: redirects
	addrHTTPBin    = "127.0.1.61" // httpbin.com: broken and endless redirects
	addrIDBlock    = "127.0.1.97" // an Indonesian ISP's block page (Internet Positif, a builtin fingerprint)
	addrRefusing   = "127.0.1.98" // an ISP box that refuses every connection
	addrBlockPage  = "127.0.1.99" // the public block page (HTTP only)
)

// idnName is яндекс.рф in A-labels.
const idnName = "xn--d1acpjx3f.xn--p1ai"

// controlUA is the control helper's User-Agent: the Cloudflare server challenges every
// other client, as Cloudflare challenges the probe's network but not the helper's.
const controlUA = "pantau-qa-control"

// honest is what an uncensored resolver answers.
var honest = zone{
	"www.example.com":           {addrs: []string{addrExample}},
	"www.example.org":           {addrs: []string{addrExample}},
	idnName:                     {addrs: []string{addrIDN}},
	"expired.badssl.com":        {addrs: []string{addrExpired}},
	"wrong.host.badssl.com":     {addrs: []string{addrWrongHost}},
	"untrusted-root.badssl.com": {addrs: []string{addrUntrusted}},
	"www.cloudflare-cache.com":  {addrs: []string{addrCloudflare}},
	"largefile.com":             {addrs: []string{addrLargeFile}},
	"bit.ly":                    {addrs: []string{addrBitly}},
	"httpbin.com":               {addrs: []string{addrHTTPBin}},
}

// world is the running QA internet: its servers share one HTTPS and one HTTP port
// number on every address.
type world struct {
	ca         *testpki.CA
	tlsPort    int
	httpPort   int
	closedPort int // nothing listens on it at www.example.com
}

// examplePage is www.example.com's page, as in netemx.
var examplePage = page("Default Web Page", "<h1>Default Web Page</h1><p>This is the default web page of the QA environment."+
	strings.Repeat(" Lorem ipsum dolor sit amet, consectetur adipiscing elit.", 20)+"</p>")

// blockPage is the public block page of netemx: no known fingerprint matches it.
var blockPage = page("Access Denied", "<p>This request has been blocked by the ISP.</p>")

// newWorld starts every server of the QA internet.
func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{ca: testpki.NewCA(t, "Pantau QA CA")}
	// The first listener picks the port numbers; the others reuse them on their address.
	tlsLn := listenOn(t, addrExample, 0)
	httpLn := listenOn(t, addrExample, 0)
	w.tlsPort, w.httpPort = tlsLn.Addr().(*net.TCPAddr).Port, httpLn.Addr().(*net.TCPAddr).Port
	_ = tlsLn.Close()
	_ = httpLn.Close()
	w.closedPort = freePort(t, addrExample)

	w.site(t, addrExample, examplePage, "www.example.com", "www.example.org")
	w.site(t, addrCDNNode, examplePage, "www.example.com", "www.example.org")
	w.site(t, addrIDN, page("Яндекс", "<p>Найдётся всё</p>"), idnName)
	now := time.Now()
	expired := w.ca.Leaf(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour), "expired.badssl.com")
	serveHTTP(t, addrExpired, w.tlsPort, examplePage, &expired)
	wrong := w.ca.Valid(t, "badssl.com")
	serveHTTP(t, addrWrongHost, w.tlsPort, examplePage, &wrong)
	untrusted := testpki.NewCA(t, "Untrusted Root CA").Valid(t, "untrusted-root.badssl.com", "www.example.com")
	serveHTTP(t, addrUntrusted, w.tlsPort, examplePage, &untrusted)
	w.site(t, addrCloudflare, cloudflare(), "www.cloudflare-cache.com")
	w.site(t, addrLargeFile, largeFile(), "largefile.com")
	for _, p := range []int{w.tlsPort, w.httpPort} {
		forward(t, listenOn(t, addrISPProxy, p), net.JoinHostPort(addrExample, strconv.Itoa(p)))
	}
	w.site(t, addrBitly, w.bitly(), "bit.ly")
	w.site(t, addrHTTPBin, httpbin(), "httpbin.com")
	serveHTTP(t, addrBlockPage, w.httpPort, blockPage, nil)
	serveHTTP(t, addrIDBlock, w.httpPort, page("Internet Positif", "<p>Situs ini diblokir.</p>"), nil)
	return w
}

// site serves h on addr over HTTPS (a valid certificate for names) and plain HTTP.
func (w *world) site(t *testing.T, addr string, h http.Handler, names ...string) {
	t.Helper()
	cert := w.ca.Valid(t, names...)
	serveHTTP(t, addr, w.tlsPort, h, &cert)
	serveHTTP(t, addr, w.httpPort, h, nil)
}

// url expands the placeholders of a scenario's input: {tls}, {http} and {closed} ports.
func (w *world) url(s string) string {
	return strings.NewReplacer("{tls}", strconv.Itoa(w.tlsPort), "{http}", strconv.Itoa(w.httpPort),
		"{closed}", strconv.Itoa(w.closedPort)).Replace(s)
}

// bitly redirects like the shortener of OONI's redirect scenarios: /nx to
// www.example.com over HTTPS (whose name the ISP's resolver says does not exist).
func (w *world) bitly() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, w.url("https://www.example.com:{tls}/"), http.StatusFound)
	})
}

// httpbin answers /broken-redirect-http(s) with a Location of only "http://" or
// "https://", and /redirect/N with a redirect to /redirect/N+1, without end.
func httpbin() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/broken-redirect-http":
			rw.Header().Set("Location", "http://")
			rw.WriteHeader(http.StatusFound)
		case r.URL.Path == "/broken-redirect-https":
			rw.Header().Set("Location", "https://")
			rw.WriteHeader(http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/redirect/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/redirect/"))
			http.Redirect(rw, r, "/redirect/"+strconv.Itoa(n+1), http.StatusFound)
		default:
			http.NotFound(rw, r)
		}
	})
}

// cloudflare serves the site to the control helper and Cloudflare's managed challenge
// (403, cf-mitigated: challenge, "Just a moment...") to everyone else.
func cloudflare() http.Handler {
	site := page("Cloudflare Cache Example", strings.Repeat("<p>Cached content served from the edge.</p>", 60))
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.UserAgent() == controlUA {
			site.ServeHTTP(rw, r)
			return
		}
		rw.Header().Set("Server", "cloudflare")
		rw.Header().Set("Cf-Mitigated", "challenge")
		rw.Header().Set("Content-Type", "text/html; charset=UTF-8")
		rw.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(rw, `<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>`+
			`<body><noscript>Enable JavaScript and cookies to continue</noscript></body></html>`)
	})
}

// largeFile serves 4 MiB, eight times the engine's default body cap.
func largeFile() http.Handler {
	chunk := []byte(strings.Repeat("0123456789abcdef", 4096))
	return http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/octet-stream")
		for range 64 {
			if _, err := rw.Write(chunk); err != nil {
				return
			}
		}
	})
}

// timeouts keep every scenario short: nothing in process takes long unless it hangs.
var timeouts = engine.Timeouts{DNS: time.Second, TCP: time.Second, TLS: 2 * time.Second, HTTP: 5 * time.Second, Target: 15 * time.Second}

// probeEngine is the probe: its system resolver answers from z, after the injector's
// replies for the names in inject. It waits for late replies long enough to see the
// resolver's own reply after an injected one.
func (w *world) probeEngine(t *testing.T, z, inject zone) *engine.Engine {
	t.Helper()
	return engine.New(engine.Config{
		SystemResolvers: []dnsquery.Resolver{serveZone(t, z, inject)}, LateWait: 10 * injectDelay,
		LabCIDRs: labCIDRs, RootCAs: w.ca.Pool,
		Fingerprints: fingerprint.NewSet(fingerprint.Builtin()), Timeouts: timeouts,
		Software: measurement.Software{Name: "pantau-probe", Version: "qa"},
	}, nil)
}

// controlClient runs a real control helper whose resolver answers from z and returns
// the probe's client for it.
func (w *world) controlClient(t *testing.T, z zone) *control.Client {
	t.Helper()
	guard := control.Guard(labCIDRs)
	eng := engine.New(engine.Config{SystemResolvers: []dnsquery.Resolver{serveZone(t, z, nil)}, LabCIDRs: labCIDRs,
		RootCAs: w.ca.Pool, DialGuard: guard, Timeouts: timeouts, UserAgent: controlUA}, nil)
	srv := httptest.NewServer(control.NewHandler(eng, control.HandlerOptions{Guard: guard}, nil))
	t.Cleanup(srv.Close)
	return newClient(t, srv.URL+"/api/v1/control")
}

// brokenControl returns a client for a helper whose every connection is reset.
func (w *world) brokenControl(t *testing.T) *control.Client {
	t.Helper()
	ln := listenOn(t, "127.0.0.1", 0)
	resetAll(t, ln)
	return newClient(t, "http://"+ln.Addr().String()+"/api/v1/control")
}

func newClient(t *testing.T, url string) *control.Client {
	t.Helper()
	c, err := control.NewClient([]string{url}, nil, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// measure measures input with the probe's zone and the given control.
func measure(t *testing.T, eng *engine.Engine, input string, ctrl engine.Controller) *measurement.Measurement {
	t.Helper()
	tg, err := target.Parse(input)
	if err != nil {
		t.Fatalf("target %q: %v", input, err)
	}
	return eng.Measure(context.Background(), tg, ctrl)
}
