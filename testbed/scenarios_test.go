//go:build testbed

package testbed

import (
	"net"
	"slices"
	"testing"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// Verdict shorthands.
const (
	accessible   = measurement.StatusAccessible
	blocked      = measurement.StatusBlocked
	down         = measurement.StatusDown
	inconclusive = measurement.StatusInconclusive
)

// withControl are the scenarios measured with the control helper: one per censorship
// mechanism of the lab, plus the uncensored and the really-down cases.
var withControl = []scenario{
	{"https://web.telegram.org/", accessible, "", func(t *testing.T, m *measurement.Measurement) {
		wantDNS(t, m, "", siteAddr("web.telegram.org"))
		wantTCP(t, m, siteAddr("web.telegram.org"), 443, "")
		// Only SSL_CERT_FILE makes the lab CA trusted.
		wantTLS(t, m, siteAddr("web.telegram.org"), "web.telegram.org", false, "", true)
		wantHTTP(t, m, net.JoinHostPort(siteAddr("web.telegram.org"), "443"), 200, "Telegram Web", "")
		wantTimes(t, m)
	}},
	{"https://t.me/", blocked, measurement.MethodDNS, func(t *testing.T, m *measurement.Measurement) {
		wantDNS(t, m, "", blockPageAddr)
		wantFingerprint(t, m, "lab.id_dns", "dns")
		wantControlDNS(t, m, siteAddr("t.me"))
	}},
	{"http://t.me/", blocked, measurement.MethodDNS, func(t *testing.T, m *measurement.Measurement) {
		wantDNS(t, m, "", blockPageAddr)
		wantFingerprint(t, m, "lab.id_dns", "dns")
		wantFingerprint(t, m, "lab.id_body", "body")
		wantHTTP(t, m, net.JoinHostPort(blockPageAddr, "80"), 200, blockPageTitle, "")
	}},
	{"https://flora.web.telegram.org/", blocked, measurement.MethodDNS, func(t *testing.T, m *measurement.Measurement) {
		wantDNS(t, m, failure.DNSNXDomain)
		wantControlDNS(t, m, siteAddr("flora.web.telegram.org"))
	}},
	{"https://telegram.me/", blocked, measurement.MethodDNS, func(t *testing.T, m *measurement.Measurement) {
		wantDNS(t, m, failure.DNSRefused)
		wantControlDNS(t, m, siteAddr("telegram.me"))
	}},
	{"https://venus.web.telegram.org/", blocked, measurement.MethodTCP, func(t *testing.T, m *measurement.Measurement) {
		wantDNS(t, m, "", siteAddr("venus.web.telegram.org"))
		wantTCP(t, m, siteAddr("venus.web.telegram.org"), 443, failure.GenericTimeout)
		wantControlTCP(t, m, siteAddr("venus.web.telegram.org"), 443, "")
	}},
	{"https://pluto.web.telegram.org/", blocked, measurement.MethodTLS, func(t *testing.T, m *measurement.Measurement) {
		ip := siteAddr("pluto.web.telegram.org")
		wantTCP(t, m, ip, 443, "")
		wantTLS(t, m, ip, "pluto.web.telegram.org", false, failure.ConnectionReset, false)
		wantSNISwapHandshake(t, m, ip)
	}},
	{"http://telegram.org/", blocked, measurement.MethodHTTP, func(t *testing.T, m *measurement.Measurement) {
		wantTCP(t, m, siteAddr("telegram.org"), 80, "")
		wantHTTP(t, m, net.JoinHostPort(siteAddr("telegram.org"), "80"), 0, "", failure.ConnectionReset)
		wantControlHTTP(t, m, 200)
	}},
	{"http://plain.example/", accessible, "", func(t *testing.T, m *measurement.Measurement) {
		wantHTTP(t, m, net.JoinHostPort(siteAddr("plain.example"), "80"), 200, "Plain HTTP", "")
	}},
	{"https://down.example/", down, "", func(t *testing.T, m *measurement.Measurement) {
		wantTCP(t, m, downAddr, 443, failure.ConnectionRefused)
		wantControlTCP(t, m, downAddr, 443, failure.ConnectionRefused)
	}},
	{"https://nxdomain.example/", down, "", func(t *testing.T, m *measurement.Measurement) {
		wantDNS(t, m, failure.DNSNXDomain)
	}},
	{"tcp://" + dcBlackholed + ":443", blocked, measurement.MethodTCP, func(t *testing.T, m *measurement.Measurement) {
		wantTCP(t, m, dcBlackholed, 443, failure.GenericTimeout)
		wantControlTCP(t, m, dcBlackholed, 443, "")
	}},
	{"tcp://" + dcReachable + ":443", accessible, "", func(t *testing.T, m *measurement.Measurement) {
		wantTCP(t, m, dcReachable, 443, "")
	}},
}

// withoutControl are measured without a helper: interference without certainty is
// inconclusive, a fingerprinted block page is not.
var withoutControl = []scenario{
	// An authentic page with a valid certificate for the name, which only the site can
	// present, shows the site reachable without a control (docs/verdicts.md, rule 7).
	{"https://web.telegram.org/", accessible, "", nil},
	{"https://t.me/", blocked, measurement.MethodDNS, func(t *testing.T, m *measurement.Measurement) {
		wantFingerprint(t, m, "lab.id_dns", "dns")
	}},
	{"http://t.me/", blocked, measurement.MethodDNS, func(t *testing.T, m *measurement.Measurement) {
		wantFingerprint(t, m, "lab.id_body", "body")
	}},
	{"https://venus.web.telegram.org/", inconclusive, "", func(t *testing.T, m *measurement.Measurement) {
		wantTCP(t, m, siteAddr("venus.web.telegram.org"), 443, failure.GenericTimeout)
	}},
	{"https://pluto.web.telegram.org/", inconclusive, "", func(t *testing.T, m *measurement.Measurement) {
		wantTLS(t, m, siteAddr("pluto.web.telegram.org"), "pluto.web.telegram.org", false, failure.ConnectionReset, false)
	}},
	{"http://telegram.org/", inconclusive, "", func(t *testing.T, m *measurement.Measurement) {
		wantHTTP(t, m, net.JoinHostPort(siteAddr("telegram.org"), "80"), 0, "", failure.ConnectionReset)
	}},
	{"tcp://" + dcBlackholed + ":443", inconclusive, "", func(t *testing.T, m *measurement.Measurement) {
		wantTCP(t, m, dcBlackholed, 443, failure.GenericTimeout)
	}},
}

// hijacked are measured with a foreign resolver that the ISP hijacks.
var hijacked = []scenario{
	{"https://t.me/", blocked, measurement.MethodDNS, func(t *testing.T, m *measurement.Measurement) {
		wantDNS(t, m, "", blockPageAddr)
		wantFingerprint(t, m, "lab.id_dns", "dns")
	}},
	{"https://web.telegram.org/", accessible, "", nil},
}

// systemA returns the probe's A question to its system resolver.
func systemA(t *testing.T, m *measurement.Measurement) *measurement.DNSQuery {
	t.Helper()
	for i, q := range m.DNS {
		if q.System && q.QType == "A" {
			return &m.DNS[i]
		}
	}
	t.Fatalf("%s: no A question to a system resolver in %+v", m.Target, m.DNS)
	return nil
}

// wantDNS checks the system resolver's A reply: its failure and its addresses.
func wantDNS(t *testing.T, m *measurement.Measurement, fail string, addrs ...string) {
	t.Helper()
	q := systemA(t, m)
	if got := deref(q.Failure); got != fail || !slices.Equal(q.Addrs(), addrs) {
		t.Errorf("system DNS %s A: failure %q addrs %v, want %q %v", q.Resolver, got, q.Addrs(), fail, addrs)
	}
}

// wantControlDNS checks that the control resolved the target to addr.
func wantControlDNS(t *testing.T, m *measurement.Measurement, addr string) {
	t.Helper()
	if m.Control == nil {
		t.Fatal("no control")
	}
	for _, q := range m.Control.DNS {
		if q.QType == "A" && slices.Contains(q.Addrs(), addr) {
			return
		}
	}
	t.Errorf("control DNS %+v: no A answer %s", m.Control.DNS, addr)
}

func findTCP(obs []measurement.TCPConnect, ip string, port int) *measurement.TCPConnect {
	for i, c := range obs {
		if c.IP == ip && c.Port == port {
			return &obs[i]
		}
	}
	return nil
}

// wantTCP checks the probe's connect to ip:port.
func wantTCP(t *testing.T, m *measurement.Measurement, ip string, port int, fail string) {
	t.Helper()
	c := findTCP(m.TCP, ip, port)
	if c == nil {
		t.Errorf("no TCP connect to %s:%d in %+v", ip, port, m.TCP)
		return
	}
	if got := deref(c.Failure); got != fail {
		t.Errorf("TCP %s:%d failure %q, want %q", ip, port, got, fail)
	}
}

// wantControlTCP checks the control's connect to ip:port.
func wantControlTCP(t *testing.T, m *measurement.Measurement, ip string, port int, fail string) {
	t.Helper()
	if m.Control == nil {
		t.Fatal("no control")
	}
	c := findTCP(m.Control.TCP, ip, port)
	if c == nil {
		t.Errorf("no control TCP connect to %s:%d in %+v", ip, port, m.Control.TCP)
		return
	}
	if got := deref(c.Failure); got != fail {
		t.Errorf("control TCP %s:%d failure %q, want %q", ip, port, got, fail)
	}
}

// wantTLS checks the probe's handshake with ip (the swapped one when swap).
func wantTLS(t *testing.T, m *measurement.Measurement, ip, sni string, swap bool, fail string, valid bool) {
	t.Helper()
	for _, h := range m.TLS {
		if h.IP == ip && h.SNISwap == swap {
			if h.SNI != sni || deref(h.Failure) != fail || h.CertValid != valid {
				t.Errorf("TLS %s sni %q failure %q cert_valid %v, want sni %q failure %q cert_valid %v",
					ip, h.SNI, deref(h.Failure), h.CertValid, sni, fail, valid)
			}
			return
		}
	}
	t.Errorf("no TLS handshake (sni_swap %v) with %s in %+v", swap, ip, m.TLS)
}

// wantSNISwapHandshake checks that the repeat with an innocuous SNI completed the
// handshake: no failure, or only one about the certificate (it is pluto's, not the
// innocuous name's), with the server's certificate recorded.
func wantSNISwapHandshake(t *testing.T, m *measurement.Measurement, ip string) {
	t.Helper()
	for _, h := range m.TLS {
		if h.IP == ip && h.SNISwap {
			if f := deref(h.Failure); f != "" && !failure.IsCertificate(f) {
				t.Errorf("SNI swap (%s) with %s failed: %s", h.SNI, ip, f)
			}
			if len(h.Certificates) == 0 || !slices.Contains(h.Certificates[0].DNSNames, "pluto.web.telegram.org") {
				t.Errorf("SNI swap with %s: certificates %+v, want pluto's", ip, h.Certificates)
			}
			return
		}
	}
	t.Errorf("no SNI swap handshake with %s in %+v", ip, m.TLS)
}

// wantHTTP checks that one of the probe's requests went to address with this status,
// title and failure.
func wantHTTP(t *testing.T, m *measurement.Measurement, address string, status int, title, fail string) {
	t.Helper()
	for _, r := range m.HTTP {
		if r.Address == address {
			if r.Status != status || r.Title != title || deref(r.Failure) != fail {
				t.Errorf("HTTP %s via %s: status %d title %q failure %q, want %d %q %q",
					r.URL, address, r.Status, r.Title, deref(r.Failure), status, title, fail)
			}
			return
		}
	}
	t.Errorf("no HTTP request to %s in %+v", address, m.HTTP)
}

// wantControlHTTP checks the control's last request's status.
func wantControlHTTP(t *testing.T, m *measurement.Measurement, status int) {
	t.Helper()
	if m.Control == nil || len(m.Control.HTTP) == 0 {
		t.Fatalf("no control HTTP in %+v", m.Control)
	}
	last := m.Control.HTTP[len(m.Control.HTTP)-1]
	if last.Status != status || last.Failure != nil {
		t.Errorf("control HTTP %s: status %d failure %q, want %d", last.URL, last.Status, deref(last.Failure), status)
	}
}

// wantFingerprint checks that the named fingerprint matched at location.
func wantFingerprint(t *testing.T, m *measurement.Measurement, name, location string) {
	t.Helper()
	for _, f := range m.Fingerprints {
		if f.Name == name && f.Location == location {
			return
		}
	}
	t.Errorf("fingerprint %s (%s) did not match; matches: %+v", name, location, m.Fingerprints)
}

// wantTimes checks that every connect, handshake and request recorded how long it took.
func wantTimes(t *testing.T, m *measurement.Measurement) {
	t.Helper()
	for _, c := range m.TCP {
		if c.TimeMS <= 0 {
			t.Errorf("TCP %s:%d: time_ms %v", c.IP, c.Port, c.TimeMS)
		}
	}
	for _, h := range m.TLS {
		if h.TimeMS <= 0 {
			t.Errorf("TLS %s (sni %s): time_ms %v", h.IP, h.SNI, h.TimeMS)
		}
	}
	for _, r := range m.HTTP {
		if r.TimeMS <= 0 {
			t.Errorf("HTTP %s: time_ms %v", r.URL, r.TimeMS)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
