//go:build testbed

package testbed

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// OONI's QA scenarios that need a middlebox on the probe's path only (the control must
// not see it): the rest run in process (testbed/qa). docs/verdicts.md, "OONI QA
// scenarios", has the table of both.

// Addresses of the QA part of the lab internet.
const (
	qaShort     = "10.77.100.110" // short.qa: a shortener redirecting to the hops below
	qaRefused   = "10.77.100.111" // refused.qa: the ISP answers its SYNs with RST
	qaReset     = "10.77.100.112" // reset.qa: reset on its SNI and on its Host header
	qaEOF       = "10.77.100.113" // eof.qa: the probe's connections are closed (FIN) after their first bytes
	qaTimeout   = "10.77.100.114" // timeout.qa: its ClientHello and request are dropped
	qaLargeFile = "10.77.100.115" // largefile.qa: 4 MiB, policed by the ISP to a trickle
	qaSNIProxy  = "10.77.100.116" // sni-proxy.qa: the ISP resolver sends it to qaProxy, and resets its SNI
	qaProxy     = "10.77.100.117" // the ISP's transparent proxy to sni-proxy.qa (DNAT in pt-net)
	qaDiff      = "10.77.100.118" // diff.qa: plain HTTP the ISP diverts to qaDenied
	qaDenied    = "10.77.100.97"  // the ISP's second block page: no fingerprint knows it
)

// qaDeniedTitle is the title of the unfingerprinted block page.
const qaDeniedTitle = "Access Denied"

// qaSites are added to the lab's sites: their addresses, honest DNS records and
// certificates come with it; those without http/https get their server from qaNginx or
// from the EOF box.
var qaSites = []site{
	{name: "short.qa", addr: qaShort},
	{name: "refused.qa", addr: qaRefused, https: true, http: true, title: "Refused hop"},
	{name: "reset.qa", addr: qaReset, https: true, http: true, title: "Reset hop"},
	{name: "eof.qa", addr: qaEOF},
	{name: "timeout.qa", addr: qaTimeout, https: true, http: true, title: "Timeout hop"},
	{name: "largefile.qa", addr: qaLargeFile},
	{name: "sni-proxy.qa", addr: qaSNIProxy, https: true, title: "SNI proxy site"},
	{name: "proxy.isp.qa", addr: qaProxy},
	{name: "diff.qa", addr: qaDiff},
	{name: "denied.isp.qa", addr: qaDenied},
}

// qaRedirects are short.qa's paths and where each redirects.
var qaRedirects = [][2]string{
	{"/refused-http", "http://refused.qa/"}, {"/refused-https", "https://refused.qa/"},
	{"/reset-http", "http://reset.qa/"}, {"/reset-https", "https://reset.qa/"},
	{"/eof-http", "http://eof.qa/"}, {"/eof-https", "https://eof.qa/"},
	{"/timeout-http", "http://timeout.qa/"}, {"/timeout-https", "https://timeout.qa/"},
}

// qaMiddleboxes are the QA scenarios' censorship: iptables rules as (namespace, args).
func qaMiddleboxes() [][]string {
	isp := func(args ...string) []string { return append([]string{nsISP}, args...) }
	str := func(port, s string, hex bool, target ...string) []string {
		kind := "--string"
		if hex {
			kind = "--hex-string"
		}
		return isp(append([]string{"-A", "FORWARD", "-i", "sub0", "-p", "tcp", "--dport", port, "-m", "string",
			"--algo", "bm", kind, s, "-j"}, target...)...)
	}
	rst := []string{"REJECT", "--reject-with", "tcp-reset"}
	return [][]string{
		// A hop whose address the ISP refuses: RST to every SYN.
		isp("-A", "FORWARD", "-i", "sub0", "-d", qaRefused, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"),
		// A hop reset on its SNI (HTTPS) and on its Host header (HTTP).
		str("443", "reset.qa", false, rst...),
		str("80", "Host: reset.qa|0d0a|", true, rst...),
		// A hop whose ClientHello and request vanish: the probe times out.
		str("443", "timeout.qa", false, "DROP"),
		str("80", "Host: timeout.qa|0d0a|", true, "DROP"),
		// SNI reset of a name the ISP's resolver also sends to its transparent proxy.
		str("443", "sni-proxy.qa", false, rst...),
		// Plain HTTP to diff.qa diverted to the ISP's unfingerprinted block page.
		isp("-t", "nat", "-A", "PREROUTING", "-i", "sub0", "-d", qaDiff, "-p", "tcp", "--dport", "80",
			"-j", "DNAT", "--to-destination", qaDenied+":80"),
		// Throttling: each of largefile.qa's flows to subscribers policed to 32 kB/s (a
		// burst of 64 kB lets a whole segment-offload packet through now and then).
		isp("-A", "FORWARD", "-i", "up0", "-s", qaLargeFile, "-p", "tcp", "-m", "hashlimit",
			"--hashlimit-above", "32kb/s", "--hashlimit-burst", "64kb", "--hashlimit-mode", "dstip,dstport",
			"--hashlimit-name", "qa-throttle", "-j", "DROP"),
		// The ISP's transparent proxy: everything to qaProxy reaches sni-proxy.qa.
		{nsNet, "-t", "nat", "-A", "PREROUTING", "-d", qaProxy, "-p", "tcp", "-j", "DNAT", "--to-destination", qaSNIProxy},
	}
}

// qaMiddleboxesUp installs qaMiddleboxes.
func qaMiddleboxesUp(t *testing.T) {
	for _, r := range qaMiddleboxes() {
		run(t, append([]string{"ip", "netns", "exec", r[0], "iptables", "-w"}, r[1:]...)...)
	}
}

// qaISPZones are the ISP resolver's QA lies.
func qaISPZones() string {
	return "\tlocal-zone: \"sni-proxy.qa.\" redirect\n\tlocal-data: \"sni-proxy.qa. 300 IN A " + qaProxy + "\"\n"
}

// qaNginx serves short.qa's redirects, largefile.qa's 4 MiB and the second block page.
func (l *lab) qaNginx() string {
	var b strings.Builder
	cert := l.certPath("short.qa")
	b.WriteString("\tserver {\n\t\tlisten " + qaShort + ":443 ssl;\n\t\tlisten " + qaShort + ":80;\n\t\tserver_name short.qa;\n")
	b.WriteString("\t\tssl_certificate " + cert + ".pem;\n\t\tssl_certificate_key " + cert + ".key;\n")
	for _, r := range qaRedirects {
		b.WriteString("\t\tlocation = " + r[0] + " { return 302 " + r[1] + "; }\n")
	}
	b.WriteString("\t}\n")
	cert = l.certPath("largefile.qa")
	b.WriteString("\tserver {\n\t\tlisten " + qaLargeFile + ":443 ssl;\n\t\tlisten " + qaLargeFile + ":80;\n\t\tserver_name largefile.qa;\n")
	b.WriteString("\t\tssl_certificate " + cert + ".pem;\n\t\tssl_certificate_key " + cert + ".key;\n")
	b.WriteString("\t\tlocation / { root " + filepath.Join(l.dir, "qa") + "; try_files /large.bin =404; }\n\t}\n")
	b.WriteString("\tserver {\n\t\tlisten " + qaDiff + ":80;\n\t\tserver_name diff.qa;\n")
	b.WriteString("\t\tlocation / { return 200 '<!DOCTYPE html><html><head><title>Diff site</title></head><body><h1>Diff site</h1>" +
		strings.Repeat("<p>The real page of diff.qa, much longer than any block page.</p>", 20) + "</body></html>\\n'; }\n\t}\n")
	b.WriteString("\tserver {\n\t\tlisten " + qaDenied + ":80 default_server;\n\t\tserver_name _;\n")
	b.WriteString("\t\tlocation / { return 200 '<!DOCTYPE html><html><head><title>" + qaDeniedTitle +
		"</title></head><body><p>This request has been blocked by the ISP.</p></body></html>\\n'; }\n\t}\n")
	return b.String()
}

// qaScenario is an OONI QA case in the lab.
type qaScenario struct {
	ooni string // OONI's test case name
	scenario
}

// hop is the redirect target's address on port.
func hop(ip, port string) string { return net.JoinHostPort(ip, port) }

var qaScenarios = []qaScenario{
	{"tcpBlockingConnectTimeout", scenario{"https://venus.web.telegram.org/", blocked, measurement.MethodTCP,
		func(t *testing.T, m *measurement.Measurement) {
			wantTCP(t, m, siteAddr("venus.web.telegram.org"), 443, failure.GenericTimeout)
		}}},
	{"tlsBlockingConnectionResetWithConsistentDNS", scenario{"https://pluto.web.telegram.org/", blocked, measurement.MethodTLS,
		func(t *testing.T, m *measurement.Measurement) {
			wantTLS(t, m, siteAddr("pluto.web.telegram.org"), "pluto.web.telegram.org", false, failure.ConnectionReset, false)
		}}},
	{"tlsBlockingConnectionResetWithInconsistentDNS", scenario{"https://sni-proxy.qa/", blocked, measurement.MethodTLS,
		func(t *testing.T, m *measurement.Measurement) {
			wantDNS(t, m, "", qaProxy)
			wantTLS(t, m, qaProxy, "sni-proxy.qa", false, failure.ConnectionReset, false)
		}}},
	{"httpBlockingConnectionReset", scenario{"http://telegram.org/", blocked, measurement.MethodHTTP,
		func(t *testing.T, m *measurement.Measurement) {
			wantHTTP(t, m, hop(siteAddr("telegram.org"), "80"), 0, "", failure.ConnectionReset)
		}}},
	{"httpDiffWithConsistentDNS", scenario{"http://diff.qa/", blocked, measurement.MethodHTTP,
		func(t *testing.T, m *measurement.Measurement) {
			wantDNS(t, m, "", qaDiff)
			wantHTTP(t, m, hop(qaDiff, "80"), 200, qaDeniedTitle, "")
			wantControlHTTP(t, m, 200)
		}}},
	{"redirectWithConsistentDNSAndThenConnectionRefusedForHTTP", scenario{"https://short.qa/refused-http", blocked,
		measurement.MethodTCP, wantHop(qaRefused, "80", failure.ConnectionRefused)}},
	{"redirectWithConsistentDNSAndThenConnectionRefusedForHTTPS", scenario{"https://short.qa/refused-https", blocked,
		measurement.MethodTCP, wantHop(qaRefused, "443", failure.ConnectionRefused)}},
	{"redirectWithConsistentDNSAndThenConnectionResetForHTTP", scenario{"https://short.qa/reset-http", blocked,
		measurement.MethodHTTP, wantHop(qaReset, "80", failure.ConnectionReset)}},
	{"redirectWithConsistentDNSAndThenConnectionResetForHTTPS", scenario{"https://short.qa/reset-https", blocked,
		measurement.MethodTLS, wantHop(qaReset, "443", failure.ConnectionReset)}},
	{"redirectWithConsistentDNSAndThenEOFForHTTP", scenario{"https://short.qa/eof-http", blocked,
		measurement.MethodHTTP, wantHop(qaEOF, "80", failure.EOF)}},
	{"redirectWithConsistentDNSAndThenEOFForHTTPS", scenario{"https://short.qa/eof-https", blocked,
		measurement.MethodTLS, wantHop(qaEOF, "443", failure.EOF)}},
	// The lab drops the request (HTTP) or the ClientHello (HTTPS) after the connect; the
	// hop's own connect and handshake are on record, so the step that failed is named
	// (docs/verdicts.md, HTTP 3).
	{"redirectWithConsistentDNSAndThenTimeoutForHTTP", scenario{"https://short.qa/timeout-http", blocked,
		measurement.MethodHTTP, wantHop(qaTimeout, "80", failure.GenericTimeout)}},
	{"redirectWithConsistentDNSAndThenTimeoutForHTTPS", scenario{"https://short.qa/timeout-https", blocked,
		measurement.MethodTLS, wantHop(qaTimeout, "443", failure.GenericTimeout)}},
	{"throttlingWithHTTP", scenario{"http://largefile.qa/", blocked, measurement.MethodHTTP, wantThrottled("80")}},
	{"throttlingWithHTTPS", scenario{"https://largefile.qa/", blocked, measurement.MethodHTTP, wantThrottled("443")}},
}

// wantHop checks that the probe's request to ip:port failed with fail while the
// control's fetch of the same target succeeded.
func wantHop(ip, port, fail string) func(*testing.T, *measurement.Measurement) {
	return func(t *testing.T, m *measurement.Measurement) {
		t.Helper()
		wantHTTP(t, m, hop(ip, port), 0, "", fail)
		wantControlHTTP(t, m, 200)
	}
}

// wantThrottled checks that the probe's fetch of largefile.qa on port timed out (after
// the reply began or before) while the control's completed.
func wantThrottled(port string) func(*testing.T, *measurement.Measurement) {
	return func(t *testing.T, m *measurement.Measurement) {
		t.Helper()
		for _, r := range m.HTTP {
			if r.Address == hop(qaLargeFile, port) && deref(r.Failure) != failure.GenericTimeout {
				t.Errorf("HTTP %s via %s: status %d failure %q, want a timeout", r.URL, r.Address, r.Status, deref(r.Failure))
			}
		}
		wantControlHTTP(t, m, 200)
	}
}

// testQA runs the lab's OONI QA scenarios in one probe run, with a short HTTP timeout
// (the throttled and the dropped fetches wait for it).
func testQA(t *testing.T, l *lab) {
	dir := filepath.Join(l.dir, "qa")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	large := []byte(strings.Repeat("0123456789abcdef", 1<<18)) // 4 MiB
	if err := os.WriteFile(filepath.Join(dir, "large.bin"), large, 0o644); err != nil {
		t.Fatal(err)
	}
	l.eofBox(t)
	qaLabCheck(t, l)
	var targets []string
	for _, s := range qaScenarios {
		targets = append(targets, s.target)
	}
	got := l.measure(t, []string{"--control", controlURL, "--http-timeout", "4s"}, targets...)
	for _, s := range qaScenarios {
		t.Run(s.ooni, func(t *testing.T) { judgeOne(t, got[s.target], s.scenario) })
	}
}
