package qa

import (
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// Verdict shorthands.
const (
	accessible   = measurement.StatusAccessible
	blocked      = measurement.StatusBlocked
	down         = measurement.StatusDown
	inconclusive = measurement.StatusInconclusive
	byDNS        = measurement.MethodDNS
)

// control says which control the probe asks.
type controlKind int

const (
	honestControl controlKind = iota // a helper resolving with the honest zone (or its override)
	brokenControl                    // a helper that resets every connection
)

// scenario is one of OONI's QA cases: the probe's and the control's DNS (the honest
// zone with overrides), the control, and the verdict Pantau must reach, with a check of
// the observations that prove the situation was really built.
type scenario struct {
	name    string // OONI's test case name
	input   string // {tls}, {http}, {closed} stand for the QA ports
	probe   zone   // overrides of the probe's resolver
	inject  zone   // names an on-path injector answers first, before the probe's resolver
	control zone   // overrides of the control's resolver
	ctrl    controlKind
	status  string
	method  string
	check   func(t *testing.T, m *measurement.Measurement)
}

// gone deletes a name from a zone (NXDOMAIN).
var gone = record{rcode: -1}

func at(addr string) record { return record{addrs: []string{addr}} }

// scenarios are OONI's in-process reproducible cases: everything that differs between
// the probe and the control is DNS (each has its own resolver) or the helper itself.
// Where OONI spoofs DNS replies on the path (netem DPISpoofDNSResponse), an injector
// answers first and the honest resolver later; where OONI reconfigures the ISP's
// resolver, the probe's resolver itself lies.
var scenarios = []scenario{
	{name: "successWithHTTP", input: "http://www.example.com:{http}/", status: accessible,
		check: wantFinal(200, "Default Web Page", "")},
	{name: "successWithHTTPS", input: "https://www.example.com:{tls}/", status: accessible,
		check: wantFinal(200, "Default Web Page", "")},

	{name: "badSSLWithExpiredCertificate", input: "https://expired.badssl.com:{tls}/", status: down,
		check: wantTLS(addrExpired, failure.SSLInvalidCert)},
	{name: "badSSLWithWrongServerName", input: "https://wrong.host.badssl.com:{tls}/", status: down,
		check: wantTLS(addrWrongHost, failure.SSLInvalidHostname)},
	{name: "badSSLWithUnknownAuthorityWithConsistentDNS", input: "https://untrusted-root.badssl.com:{tls}/", status: down,
		check: wantTLS(addrUntrusted, failure.SSLUnknownAuth)},
	{name: "badSSLWithUnknownAuthorityWithInconsistentDNS", input: "https://www.example.com:{tls}/",
		inject: zone{"www.example.com": at(addrUntrusted)},
		status: blocked, method: byDNS, check: wantTLS(addrUntrusted, failure.SSLUnknownAuth)},

	{name: "cloudflareCAPTCHAWithHTTP", input: "http://www.cloudflare-cache.com:{http}/", status: inconclusive,
		check: wantFinal(403, "Just a moment...", "")},
	{name: "cloudflareCAPTCHAWithHTTPS", input: "https://www.cloudflare-cache.com:{tls}/", status: inconclusive,
		check: wantFinal(403, "Just a moment...", "")},

	{name: "controlFailureWithSuccessfulHTTPWebsite", input: "http://www.example.org:{http}/", ctrl: brokenControl,
		status: inconclusive, check: wantControlFailure},
	{name: "controlFailureWithSuccessfulHTTPSWebsite", input: "https://www.example.org:{tls}/", ctrl: brokenControl,
		status: accessible, check: wantControlFailure},

	// getaddrinfo on Android turns an empty answer into android_dns_cache_no_data; a
	// resolver's empty NOERROR is the same fact on the wire.
	{name: "dnsBlockingAndroidDNSCacheNoData", input: "https://www.example.com:{tls}/",
		probe: zone{"www.example.com": {}}, status: blocked, method: byDNS, check: wantDNS(failure.DNSNoAnswer)},
	{name: "dnsBlockingBOGON", input: "https://www.example.com:{tls}/",
		probe: zone{"www.example.com": at("10.10.34.35")}, status: blocked, method: byDNS, check: wantDNS(failure.DNSBogon, "10.10.34.35")},
	{name: "dnsBlockingNXDOMAIN", input: "https://www.example.com:{tls}/",
		probe: zone{"www.example.com": gone}, status: blocked, method: byDNS, check: wantDNS(failure.DNSNXDomain)},

	{name: "dnsHijackingToLocalhostWithHTTP", input: "http://www.example.com:{http}/",
		inject: zone{"www.example.com": at("127.0.0.1")}, status: blocked, method: byDNS, check: wantDNS(failure.DNSBogon, "127.0.0.1")},
	{name: "dnsHijackingToLocalhostWithHTTPS", input: "https://www.example.com:{tls}/",
		inject: zone{"www.example.com": at("127.0.0.1")}, status: blocked, method: byDNS, check: wantDNS(failure.DNSBogon, "127.0.0.1")},
	{name: "dnsHijackingToProxyWithHTTPURL", input: "http://www.example.com:{http}/",
		inject: zone{"www.example.com": at(addrISPProxy)}, status: accessible, check: wantFinal(200, "Default Web Page", addrISPProxy)},
	{name: "dnsHijackingToProxyWithHTTPSURL", input: "https://www.example.com:{tls}/",
		inject: zone{"www.example.com": at(addrISPProxy)}, status: accessible, check: wantFinal(200, "Default Web Page", addrISPProxy)},

	// The ISP's resolver itself sends the name to the transparent proxy.
	{name: "dnsHijackingToProxyWithHTTPURL_byResolver", input: "http://www.example.com:{http}/",
		probe: zone{"www.example.com": at(addrISPProxy)}, status: accessible, check: wantFinal(200, "Default Web Page", addrISPProxy)},
	{name: "dnsHijackingToProxyWithHTTPSURL_byResolver", input: "https://www.example.com:{tls}/",
		probe: zone{"www.example.com": at(addrISPProxy)}, status: accessible, check: wantFinal(200, "Default Web Page", addrISPProxy)},

	// A name that no longer exists (NXDOMAIN at the control) that the ISP still
	// censors by pointing it at its block page. The resolver's own NXDOMAIN comes after
	// the forged reply and agrees with the control: an injection (rule 1.3). The control,
	// finding no address, fetches through the probe's forged one, so its "page" is the
	// block page itself and cannot show a transparent proxy.
	{name: "ghostDNSBlockingWithHTTP", input: "http://itsat.info:{http}/",
		inject: zone{"itsat.info": at(addrBlockPage)}, status: blocked, method: byDNS,
		check: wantFinal(200, "Access Denied", addrBlockPage)},
	{name: "ghostDNSBlockingWithHTTPS", input: "https://itsat.info:{tls}/",
		inject: zone{"itsat.info": at(addrBlockPage)}, status: blocked, method: byDNS,
		check: wantTCP(addrBlockPage, failure.ConnectionRefused)},
	// The same with the ISP's resolver itself answering (no later NXDOMAIN to give it
	// away): a known block page names the censor (rule 1.5); without a page nothing does,
	// as NXDOMAIN rewriting or a stale control would look the same.
	{name: "ghostDNSBlockingWithHTTP_knownBlockPage", input: "http://itsat.info:{http}/",
		probe: zone{"itsat.info": at(addrIDBlock)}, status: blocked, method: byDNS,
		check: wantFinal(200, "Internet Positif", addrIDBlock)},
	{name: "ghostDNSBlockingWithHTTPS_byResolver", input: "https://itsat.info:{tls}/",
		probe: zone{"itsat.info": at(addrBlockPage)}, status: inconclusive,
		check: wantTCP(addrBlockPage, failure.ConnectionRefused)},

	{name: "httpDiffWithInconsistentDNS", input: "http://www.example.com:{http}/",
		inject: zone{"www.example.com": at(addrBlockPage)}, status: blocked, method: byDNS,
		check: wantFinal(200, "Access Denied", addrBlockPage)},

	{name: "idnaWithoutCensorshipLowercase", input: "http://яндекс.рф:{http}/", status: accessible,
		check: all(wantFinal(200, "Яндекс", addrIDN), wantIDN("яндекс.рф"))},
	{name: "idnaWithoutCensorshipWithFirstLetterUppercase", input: "http://Яндекс.рф:{http}/", status: accessible,
		check: all(wantFinal(200, "Яндекс", addrIDN), wantIDN("Яндекс.рф"))},

	{name: "largeFileWithHTTP", input: "http://largefile.com:{http}/", status: accessible, check: wantTruncated},
	{name: "largeFileWithHTTPS", input: "https://largefile.com:{tls}/", status: accessible, check: wantTruncated},

	// The site's own DNS says 127.0.0.1, for everyone.
	{name: "localhostWithHTTP", input: "http://www.example.com:{http}/",
		probe: zone{"www.example.com": at("127.0.0.1")}, control: zone{"www.example.com": at("127.0.0.1")}, status: down},
	{name: "localhostWithHTTPS", input: "https://www.example.com:{tls}/",
		probe: zone{"www.example.com": at("127.0.0.1")}, control: zone{"www.example.com": at("127.0.0.1")}, status: down},

	// A Location of only "http://" ends the chain at the redirect, at both vantage points.
	{name: "redirectWithBrokenLocationForHTTP", input: "http://httpbin.com:{http}/broken-redirect-http",
		status: accessible, check: wantFinal(302, "", addrHTTPBin)},
	{name: "redirectWithBrokenLocationForHTTPS", input: "https://httpbin.com:{tls}/broken-redirect-https",
		status: accessible, check: wantFinal(302, "", addrHTTPBin)},
	{name: "redirectWithConsistentDNSAndThenNXDOMAIN", input: "https://bit.ly:{tls}/21645",
		inject: zone{"www.example.com": {}}, status: blocked, method: byDNS, check: wantFinal(0, "", "")},
	{name: "redirectWithMoreThanTenRedirectsAndHTTP", input: "http://httpbin.com:{http}/redirect/0", status: down,
		check: wantFinalFailure(failure.HTTPTooManyRedir)},
	{name: "redirectWithMoreThanTenRedirectsAndHTTPS", input: "https://httpbin.com:{tls}/redirect/0", status: down,
		check: wantFinalFailure(failure.HTTPTooManyRedir)},

	{name: "tcpBlockingConnectionRefusedWithInconsistentDNS", input: "http://www.example.org:{http}/",
		inject: zone{"www.example.org": at(addrRefusing)}, status: blocked, method: byDNS,
		check: wantTCP(addrRefusing, failure.ConnectionRefused)},

	{name: "websiteDownNXDOMAIN", input: "http://www.example.xyz:{http}/", status: down, check: wantDNS(failure.DNSNXDomain)},
	{name: "websiteDownNoAddrs", input: "http://www.example.com:{http}/",
		probe:   zone{"www.example.com": {cname: "web01.example.com"}},
		control: zone{"www.example.com": {cname: "web01.example.com"}}, status: down, check: wantDNS(failure.DNSNoAnswer)},
	{name: "websiteDownTCPConnect", input: "http://www.example.com:{closed}/", status: down,
		check: wantTCP(addrExample, failure.ConnectionRefused)},
}

// TestOONIQA measures every scenario against one QA internet, each with its own probe
// resolver and control helper.
func TestOONIQA(t *testing.T) { runScenarios(t, newWorld(t), scenarios) }

// runScenarios measures each scenario in parallel and checks its verdict and observations.
func runScenarios(t *testing.T, w *world, list []scenario) {
	for _, s := range list {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			eng := w.probeEngine(t, honest.with(s.probe), s.inject)
			var m *measurement.Measurement
			switch s.ctrl {
			case brokenControl:
				m = measure(t, eng, w.url(s.input), w.brokenControl(t))
			default:
				m = measure(t, eng, w.url(s.input), w.controlClient(t, honest.with(s.control)))
			}
			if m.Verdict.Status != s.status || m.Verdict.Method != s.method {
				t.Errorf("verdict %s/%s (%s; evidence %q), want %s/%s", m.Verdict.Status, m.Verdict.Method,
					m.Verdict.Reason, m.Verdict.Evidence, s.status, s.method)
			}
			if s.check != nil {
				s.check(t, m)
			}
			if t.Failed() {
				b, _ := json.MarshalIndent(m, "", "  ")
				t.Logf("measurement:\n%s", b)
			}
		})
	}
}

// wantDNS checks the probe's A question: its failure and its addresses.
func wantDNS(fail string, addrs ...string) func(*testing.T, *measurement.Measurement) {
	return func(t *testing.T, m *measurement.Measurement) {
		t.Helper()
		for _, q := range m.DNS {
			if q.QType != dns.TypeToString[dns.TypeA] {
				continue
			}
			if deref(q.Failure) != fail || !slices.Equal(q.Addrs(), addrs) {
				t.Errorf("DNS A: failure %q addrs %v, want %q %v", deref(q.Failure), q.Addrs(), fail, addrs)
			}
			return
		}
		t.Errorf("no A question in %+v", m.DNS)
	}
}

// wantTCP checks the probe's connect to ip.
func wantTCP(ip, fail string) func(*testing.T, *measurement.Measurement) {
	return func(t *testing.T, m *measurement.Measurement) {
		t.Helper()
		for _, c := range m.TCP {
			if c.IP == ip {
				if deref(c.Failure) != fail {
					t.Errorf("TCP %s:%d failure %q, want %q", ip, c.Port, deref(c.Failure), fail)
				}
				return
			}
		}
		t.Errorf("no connect to %s in %+v", ip, m.TCP)
	}
}

// wantTLS checks the probe's real-SNI handshake at ip.
func wantTLS(ip, fail string) func(*testing.T, *measurement.Measurement) {
	return func(t *testing.T, m *measurement.Measurement) {
		t.Helper()
		for _, h := range m.TLS {
			if h.IP == ip && !h.SNISwap {
				if deref(h.Failure) != fail {
					t.Errorf("TLS %s failure %q, want %q", ip, deref(h.Failure), fail)
				}
				return
			}
		}
		t.Errorf("no handshake with %s in %+v", ip, m.TLS)
	}
}

// wantFinal checks the probe's last HTTP hop: status, title and (when not empty) the
// address it was fetched from.
func wantFinal(status int, title, ip string) func(*testing.T, *measurement.Measurement) {
	return func(t *testing.T, m *measurement.Measurement) {
		t.Helper()
		if len(m.HTTP) == 0 {
			t.Fatalf("no HTTP request")
		}
		last := m.HTTP[len(m.HTTP)-1]
		host, _, _ := splitHostPort(last.Address)
		if last.Status != status || last.Title != title || (ip != "" && host != ip) {
			t.Errorf("last hop %s via %s: status %d title %q failure %q, want %d %q via %s",
				last.URL, last.Address, last.Status, last.Title, deref(last.Failure), status, title, ip)
		}
	}
}

// wantFinalFailure checks the failure of the probe's last HTTP hop.
func wantFinalFailure(fail string) func(*testing.T, *measurement.Measurement) {
	return func(t *testing.T, m *measurement.Measurement) {
		t.Helper()
		if len(m.HTTP) == 0 || deref(m.HTTP[len(m.HTTP)-1].Failure) != fail {
			t.Errorf("HTTP %+v: want the last hop to fail with %s", m.HTTP, fail)
		}
	}
}

// wantIDN checks that an internationalised target was measured in A-labels and that
// the measurement keeps the name as given.
func wantIDN(given string) func(*testing.T, *measurement.Measurement) {
	return func(t *testing.T, m *measurement.Measurement) {
		t.Helper()
		if m.Domain != idnName || !strings.Contains(m.Input, given) {
			t.Errorf("domain %q input %q, want %q and the input as given (%s)", m.Domain, m.Input, idnName, given)
		}
	}
}

// all runs every check.
func all(checks ...func(*testing.T, *measurement.Measurement)) func(*testing.T, *measurement.Measurement) {
	return func(t *testing.T, m *measurement.Measurement) {
		t.Helper()
		for _, c := range checks {
			c(t, m)
		}
	}
}

// wantTruncated checks that the large body was fetched up to the cap, not failed.
func wantTruncated(t *testing.T, m *measurement.Measurement) {
	t.Helper()
	if len(m.HTTP) == 0 {
		t.Fatal("no HTTP request")
	}
	last := m.HTTP[len(m.HTTP)-1]
	if last.Status != 200 || !last.BodyTruncated || last.Failure != nil {
		t.Errorf("last hop: status %d truncated %v failure %q, want 200, truncated, no failure",
			last.Status, last.BodyTruncated, deref(last.Failure))
	}
}

// wantControlFailure checks that the control was asked and failed.
func wantControlFailure(t *testing.T, m *measurement.Measurement) {
	t.Helper()
	if m.Control == nil || m.Control.Failure == nil {
		t.Errorf("control %+v, want a failure", m.Control)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// splitHostPort is net.SplitHostPort that tolerates an empty address.
func splitHostPort(a string) (string, string, error) {
	if a == "" {
		return "", "", nil
	}
	return net.SplitHostPort(a)
}
