package verdict

import (
	"encoding/json"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// Addresses of the test measurements. Nothing is ever sent to them.
const (
	domain  = "example.org"
	siteIP  = "93.184.216.34"
	siteIP2 = "93.184.216.35"
	siteV6  = "2606:2800:220:1::34"
	cdnIP   = "151.101.1.10"
	lieIP   = "36.86.63.185"
	sysRes  = "udp://10.0.0.1:53"
	ctlRes  = "udp://9.9.9.9:53"
	dohRes  = "https://dns.example/dns-query"
	httpsU  = "https://example.org/"
	httpU   = "http://example.org/"
	title   = "Example Domain"
	bodyLen = 10000
)

// opt changes a test measurement; obs changes one vantage point's observations.
type (
	opt func(*measurement.Measurement)
	obs func(*measurement.Observations)
)

// meas builds a measurement of target (a URL or tcp://HOST:PORT).
func meas(target string, opts ...opt) *measurement.Measurement {
	m := &measurement.Measurement{
		ID:            "0123456789abcdef0123456789abcdef",
		SchemaVersion: measurement.SchemaVersion,
		Target:        target,
		Kind:          measurement.KindWeb,
		StartedAt:     time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		Software:      measurement.Software{Name: "pantau", Version: "test"},
		Resolvers:     []measurement.ResolverInfo{},
		Observations:  emptyObs(),
		Fingerprints:  []measurement.FingerprintMatch{},
	}
	if rest, ok := strings.CutPrefix(target, "tcp://"); ok {
		m.Kind = measurement.KindTCP
		host, port, _ := net.SplitHostPort(rest)
		m.Domain = host
		m.Port, _ = strconv.Atoi(port)
	} else {
		u, _ := url.Parse(target)
		m.Domain = u.Hostname()
		m.Port = 80
		if u.Scheme == "https" {
			m.Port = 443
		}
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

func emptyObs() measurement.Observations {
	return measurement.Observations{DNS: []measurement.DNSQuery{}, TCP: []measurement.TCPConnect{}, TLS: []measurement.TLSHandshake{}, HTTP: []measurement.HTTPRequest{}}
}

func probe(os ...obs) opt {
	return func(m *measurement.Measurement) { apply(&m.Observations, os) }
}

func control(os ...obs) opt {
	return func(m *measurement.Measurement) {
		c := &measurement.Control{Helper: "https://helper.example/", Attempts: []measurement.ControlAttempt{}, Observations: emptyObs()}
		apply(&c.Observations, os)
		m.Control = c
	}
}

func controlFailed(f string) opt {
	return func(m *measurement.Measurement) {
		m.Control = &measurement.Control{Failure: &f, Attempts: []measurement.ControlAttempt{}, Observations: emptyObs()}
	}
}

func fingerprint(name, location, where string) opt {
	return func(m *measurement.Measurement) {
		m.Fingerprints = append(m.Fingerprints, measurement.FingerprintMatch{Name: name, Scope: "isp", Location: location, PatternType: "full", Pattern: "x", Confidence: 100, Where: where})
	}
}

// Canary of the test runs: a benign name other than the target's.
const (
	canaryName  = "example.net"
	canaryIP    = "93.184.215.14"
	canarySHA   = "5f2a1c2d3e4b5a6978a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607"
	portalSHA   = "0d1c2b3a49586776a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f00f1e"
	canaryTitle = "Example Domain"
)

// canary sets the run's canary as the engine records it: the name resolved to addrs
// (those in reserved ranges listed as bogons), then http://NAME/ fetched, ending at
// url with status, body hash and title.
func canary(addrs []string, url string, status int, sha, title string) opt {
	return func(m *measurement.Measurement) {
		c := &measurement.Canary{Name: canaryName, Addrs: addrs, URL: url, Status: status, BodySHA256: sha, Title: title, TimeMS: 30}
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a); err == nil && (ip.IsPrivate() || ip.IsLoopback()) {
				c.Bogons = append(c.Bogons, a)
			}
		}
		m.Canary = c
	}
}

// normalCanary is an ordinary network: the canary resolved publicly and got its page.
func normalCanary() opt {
	return canary([]string{canaryIP}, "http://"+canaryName+"/", 200, canarySHA, canaryTitle)
}

func apply(o *measurement.Observations, os []obs) {
	for _, f := range os {
		f(o)
	}
}

func all(os ...obs) obs { return func(o *measurement.Observations) { apply(o, os) } }

// query adds one DNS question with its answers (NOERROR) to the observations.
func query(resolver, transport string, system bool, qtype string, addrs ...string) obs {
	return func(o *measurement.Observations) {
		q := measurement.DNSQuery{Resolver: resolver, Transport: transport, System: system, Query: domain, QType: qtype, Rcode: "NOERROR", Answers: []measurement.DNSAnswer{}}
		for _, a := range addrs {
			q.Answers = append(q.Answers, measurement.DNSAnswer{Name: domain, Type: qtype, TTL: 60, Data: a})
		}
		if len(addrs) == 0 {
			q.Failure = measurement.Failure(failure.DNSNoAnswer)
		}
		o.DNS = append(o.DNS, q)
	}
}

// sys is an answer of the system resolver (at the control: of its resolver).
func sys(qtype string, addrs ...string) obs { return query(sysRes, "udp", true, qtype, addrs...) }

func doh(qtype string, addrs ...string) obs { return query(dohRes, "doh", false, qtype, addrs...) }

// sysFail is a failed question to the system resolver.
func sysFail(qtype, f string) obs {
	return func(o *measurement.Observations) {
		rcode := map[string]string{failure.DNSNXDomain: "NXDOMAIN", failure.DNSServfail: "SERVFAIL", failure.DNSRefused: "REFUSED", failure.DNSNoAnswer: "NOERROR"}[f]
		o.DNS = append(o.DNS, measurement.DNSQuery{Resolver: sysRes, Transport: "udp", System: true, Query: domain, QType: qtype, Rcode: rcode, Answers: []measurement.DNSAnswer{}, Failure: &f})
	}
}

// last changes the last DNS question.
func last(f func(q *measurement.DNSQuery)) obs {
	return func(o *measurement.Observations) { f(&o.DNS[len(o.DNS)-1]) }
}

func asn(n uint32) obs {
	return last(func(q *measurement.DNSQuery) {
		for i := range q.Answers {
			q.Answers[i].ASN = n
		}
	})
}

func bogons(addrs ...string) obs {
	return last(func(q *measurement.DNSQuery) { q.Bogons = append(q.Bogons, addrs...) })
}

func late(rcode string, addrs ...string) obs {
	return last(func(q *measurement.DNSQuery) {
		r := measurement.DNSReply{Rcode: rcode, Answers: []measurement.DNSAnswer{}, RTTMS: 40}
		for _, a := range addrs {
			r.Answers = append(r.Answers, measurement.DNSAnswer{Name: domain, Type: q.QType, TTL: 60, Data: a})
		}
		q.LateReplies = append(q.LateReplies, r)
	})
}

// lastHop changes the last HTTP hop.
func lastHop(f func(h *measurement.HTTPRequest)) obs {
	return func(o *measurement.Observations) { f(&o.HTTP[len(o.HTTP)-1]) }
}

// connect adds a connect to ip (from the probe's DNS); f "" is success.
func connect(ip, f string) obs { return connectFrom(ip, measurement.OriginProbe, f) }

func connectFrom(ip, origin, f string) obs {
	return func(o *measurement.Observations) {
		port := 443
		o.TCP = append(o.TCP, measurement.TCPConnect{IP: ip, Port: port, Origin: origin, Failure: measurement.Failure(f)})
	}
}

// handshake adds a TLS handshake with the real name; valid means a valid certificate.
func handshake(ip, sni, f string, valid bool) obs {
	return func(o *measurement.Observations) {
		h := measurement.TLSHandshake{IP: ip, Port: 443, SNI: sni, Failure: measurement.Failure(f), CertValid: valid}
		if valid || failure.IsCertificate(f) {
			issuer := "CN=Real CA"
			if !valid {
				issuer = "CN=Middlebox CA"
			}
			h.Certificates = []measurement.Certificate{{Subject: "CN=" + sni, Issuer: issuer, DNSNames: []string{sni}, SHA256: "ab"}}
		}
		o.TLS = append(o.TLS, h)
	}
}

// swapped adds the repeat with an innocuous SNI.
func swapped(ip, f string) obs {
	return func(o *measurement.Observations) {
		o.TLS = append(o.TLS, measurement.TLSHandshake{IP: ip, Port: 443, SNI: "example.com", SNISwap: true, Failure: measurement.Failure(f)})
	}
}

// get adds one hop of a fetch that got a reply.
func get(u, ip string, status int, n int64, t string) obs {
	return func(o *measurement.Observations) {
		o.HTTP = append(o.HTTP, measurement.HTTPRequest{URL: u, Method: "GET", Address: addr(u, ip), Status: status, BodyLength: n, Title: t})
	}
}

// located sets the Location header of the last hop.
func located(loc string) obs {
	return lastHop(func(h *measurement.HTTPRequest) { h.Headers = map[string]string{"Location": loc} })
}

// hashed sets the body hash of the last hop.
func hashed(sha string) obs {
	return lastHop(func(h *measurement.HTTPRequest) { h.BodySHA256 = sha })
}

// serverSide adds a match of a false-positive fingerprint (scope fp): a page known not
// to be a block page.
func serverSide(name, location, where string) opt {
	return func(m *measurement.Measurement) {
		m.Fingerprints = append(m.Fingerprints, measurement.FingerprintMatch{Name: name, Scope: "fp", Location: location, PatternType: "contains", Pattern: "x", Confidence: 5, Where: where})
	}
}

// getFail adds one hop of a fetch that failed.
func getFail(u, ip, f string) obs {
	return func(o *measurement.Observations) {
		o.HTTP = append(o.HTTP, measurement.HTTPRequest{URL: u, Method: "GET", Address: addr(u, ip), Failure: &f})
	}
}

func addr(u, ip string) string {
	if ip == "" {
		return ""
	}
	port := "80"
	if strings.HasPrefix(u, "https://") {
		port = "443"
	}
	return net.JoinHostPort(ip, port)
}

// site is a healthy HTTPS fetch of example.org at ip, as either vantage point sees it.
func site(ip string) obs {
	return all(sys("A", ip), connect(ip, ""), handshake(ip, domain, "", true), get(httpsU, ip, 200, bodyLen, title))
}

// plainSite is a healthy plain-HTTP fetch of example.org at ip.
func plainSite(ip string) obs {
	return all(sys("A", ip), connect(ip, ""), get(httpU, ip, 200, bodyLen, title))
}

// tc is one table case: the measurement and what its verdict must say.
type tc struct {
	name     string
	m        *measurement.Measurement
	status   string
	method   string
	evidence []string // substrings that some evidence item must contain
	absent   []string // substrings that no evidence item may contain
	reason   string   // substring of the reason, if set
}

func run(t *testing.T, cases []tc) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, err := json.Marshal(c.m)
			if err != nil {
				t.Fatal(err)
			}
			v := Of(c.m)
			t.Logf("%s/%s: %s\n%s", v.Status, v.Method, v.Reason, strings.Join(v.Evidence, "\n"))
			after, _ := json.Marshal(c.m)
			if string(before) != string(after) {
				t.Errorf("Of mutated the measurement")
			}
			if v.Status != c.status || v.Method != c.method {
				t.Errorf("got %s/%s, want %s/%s\nreason: %s\nevidence: %q", v.Status, v.Method, c.status, c.method, v.Reason, v.Evidence)
			}
			if err := sentence(v.Reason); err != "" {
				t.Errorf("reason %q: %s", v.Reason, err)
			}
			if c.reason != "" && !strings.Contains(v.Reason, c.reason) {
				t.Errorf("reason %q does not contain %q", v.Reason, c.reason)
			}
			if len(c.evidence) == 0 {
				t.Errorf("the case names no key fact to find in the evidence")
			}
			for _, want := range c.evidence {
				if !containsAny(v.Evidence, want) {
					t.Errorf("no evidence contains %q: %q", want, v.Evidence)
				}
			}
			for _, not := range c.absent {
				if containsAny(v.Evidence, not) {
					t.Errorf("some evidence contains %q: %q", not, v.Evidence)
				}
			}
			m := *c.m
			m.Verdict = v
			if err := m.Validate(m.StartedAt); err != nil {
				t.Errorf("measurement with this verdict does not validate: %v", err)
			}
		})
	}
}

func containsAny(items []string, s string) bool {
	for _, it := range items {
		if strings.Contains(it, s) {
			return true
		}
	}
	return false
}

// sentence returns why s is not one plain sentence, or "".
func sentence(s string) string {
	switch {
	case s == "":
		return "empty"
	case !unicode.IsUpper([]rune(s)[0]):
		return "does not start with a capital letter"
	case !strings.HasSuffix(s, "."):
		return "does not end with a full stop"
	case strings.ContainsAny(s, "\n\t"):
		return "contains a line break or tab"
	}
	body := s[:len(s)-1]
	for _, sep := range []string{". ", "? ", "! "} {
		for i := strings.Index(body, sep); i >= 0; {
			rest := []rune(body[i+len(sep):])
			if len(rest) > 0 && unicode.IsUpper(rest[0]) {
				return "contains more than one sentence"
			}
			j := strings.Index(body[i+1:], sep)
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return ""
}

func TestSentence(t *testing.T) {
	for s, want := range map[string]string{
		"The ISP's resolver answered with 36.86.63.185 instead.": "",
		"":                   "empty",
		"lower case.":        "does not start with a capital letter",
		"No stop":            "does not end with a full stop",
		"One. Two.":          "contains more than one sentence",
		"Line\nbreak.":       "contains a line break or tab",
		"Version 1.2 is ok.": "",
	} {
		if got := sentence(s); got != want {
			t.Errorf("sentence(%q) = %q, want %q", s, got, want)
		}
	}
}
