package ooni

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/fingerprint"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// The fixtures (testdata/README.md) are OONI measurements written for these tests after
// ooni/spec: webconnectivity.jsonl (2017 measurement_kit and current probe-cli shapes,
// one a line) and webconnectivity-2016.jsonl.gz (older shapes, gzip).

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fixtureLines returns the lines of a fixture file, by number from 1.
func fixtureLines(t *testing.T, path string) map[int][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := NewLines(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]byte{}
	for {
		line, n, err := l.Next()
		if err != nil {
			return out
		}
		out[n] = bytes.Clone(line)
	}
}

func newMapper() *Mapper {
	return NewMapper(DefaultNetworks(), fingerprint.NewSet(fingerprint.Builtin()))
}

func ptr[T any](v T) *T { return &v }

// want is what one fixture line must map to.
type want struct {
	identity store.Identity
	status   string
	method   string
	prov     measurement.Provenance
	check    func(t *testing.T, m *measurement.Measurement)
}

// TestMapFixtures maps each shape and checks the observations, the provenance, Pantau's
// verdict and OONI's.
func TestMapFixtures(t *testing.T) {
	jsonl := fixtureLines(t, "testdata/webconnectivity.jsonl")
	gz := fixtureLines(t, "testdata/webconnectivity-2016.jsonl.gz")
	if len(jsonl) != 8 || len(gz) != 2 {
		t.Fatalf("fixtures: %d and %d lines, want 8 and 2", len(jsonl), len(gz))
	}
	for _, tc := range []struct {
		name string
		line []byte
		want want
	}{
		{"2017 measurement_kit: DNS answer is Telkom's block page", jsonl[1], want{
			store.Identity{Probe: "ooni/AS7713", Network: "Telkom Indonesia", Country: "ID", ASN: 7713}, "blocked", "dns",
			measurement.Provenance{ReportID: "20170720T081337Z_AS7713_sc9Z1nOBl0cWAvWeGk6uLrD0J4AfBEvV0HCDHZgcqrnyIwcJ2H", ProbeASN: "AS7713", ProbeCC: "ID",
				SoftwareName: "ooniprobe", SoftwareVersion: "2.2.0", OONIBlocking: "dns", OONIAccessible: ptr(false)},
			checkOldDNS}},
		{"probe-cli: accessible over HTTPS, IPv6 unreachable, x_ flags", jsonl[2], want{
			store.Identity{Probe: "ooni/AS23693", Network: "Telkomsel", Country: "ID", ASN: 23693}, "accessible", "",
			measurement.Provenance{ReportID: "20240305T101000Z_webconnectivity_ID_23693_n1_LmNoPqRsTuVw5678",
				MeasurementUID: "20240305101112.123456_ID_webconnectivity_0a1b2c3d4e5f6789", ProbeASN: "AS23693", ProbeNetworkName: "Telekomunikasi Selular",
				ProbeCC: "ID", SoftwareName: "ooniprobe-android", SoftwareVersion: "3.8.6", OONIBlocking: "false", OONIAccessible: ptr(true)},
			checkNewHTTPS}},
		{"missing control (test helper timed out)", jsonl[3], want{
			store.Identity{Probe: "ooni/AS4761", Network: "Indosat Ooredoo", Country: "ID", ASN: 4761}, "inconclusive", "",
			measurement.Provenance{ReportID: "20240305T101100Z_webconnectivity_ID_4761_n1_AbCdEfGh12345678",
				MeasurementUID: "20240305101200.000001_ID_webconnectivity_1111111111111111", ProbeASN: "AS4761", ProbeNetworkName: "Indosat Ooredoo Hutchison",
				ProbeCC: "ID", SoftwareName: "ooniprobe-android", SoftwareVersion: "3.8.6"},
			checkNoControl}},
		{"failed queries: NXDOMAIN for a name that exists", jsonl[4], want{
			store.Identity{Probe: "ooni/AS24203", Network: "XL Axiata", Country: "ID", ASN: 24203}, "blocked", "dns",
			measurement.Provenance{ReportID: "20240306T010000Z_webconnectivity_ID_24203_n1_QwErTyUiOp123456",
				MeasurementUID: "20240306010203.000002_ID_webconnectivity_2222222222222222", ProbeASN: "AS24203", ProbeNetworkName: "PT XL Axiata",
				ProbeCC: "ID", SoftwareName: "ooniprobe-android", SoftwareVersion: "3.8.6", OONIBlocking: "dns", OONIAccessible: ptr(false)},
			checkNXDomain}},
		{"block page over plain HTTP", jsonl[5], want{
			store.Identity{Probe: "ooni/AS7713", Network: "Telkom Indonesia", Country: "ID", ASN: 7713}, "blocked", "http",
			measurement.Provenance{ReportID: "20240307T115900Z_webconnectivity_ID_7713_n1_ZxCvBnMaSdFg1234",
				MeasurementUID: "20240307120000.000003_ID_webconnectivity_3333333333333333", ProbeASN: "AS7713", ProbeNetworkName: "PT Telekomunikasi Indonesia",
				ProbeCC: "ID", SoftwareName: "ooniprobe-android", SoftwareVersion: "3.8.6", OONIBlocking: "http-diff", OONIAccessible: ptr(false)},
			checkBlockPage}},
		{"2016 gzip: redirect, list headers, base64 body, CNAME", gz[1], want{
			store.Identity{Probe: "ooni/AS17974", Network: "Telkom Indonesia", Country: "ID", ASN: 17974}, "accessible", "",
			measurement.Provenance{ReportID: "20161102T030400Z_AS17974_redirectOLDshape0000000000000000000000000000000", ProbeASN: "AS17974", ProbeCC: "ID",
				SoftwareName: "ooniprobe", SoftwareVersion: "2.0.0", OONIBlocking: "false", OONIAccessible: ptr(true)},
			checkRedirect}},
		{"2016 gzip: no control at all, unmapped ASN", gz[2], want{
			store.Identity{Probe: "ooni/AS99999", Network: "AS99999", Country: "ID", ASN: 99999}, "inconclusive", "",
			measurement.Provenance{ReportID: "20161102T030400Z_AS99999_nocontrolOLDshape00000000000000000000000000000", ProbeASN: "AS99999", ProbeCC: "ID",
				SoftwareName: "ooniprobe", SoftwareVersion: "2.0.0"},
			func(t *testing.T, m *measurement.Measurement) {
				if m.Control != nil {
					t.Errorf("control %+v, want none", m.Control)
				}
				if len(m.DNS) != 1 || m.DNS[0].Failure == nil || *m.DNS[0].Failure != "generic_timeout_error" || m.DNS[0].Rcode != "" {
					t.Errorf("dns %+v", m.DNS)
				}
			}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it, err := newMapper().Map(tc.line, now)
			if err != nil {
				t.Fatal(err)
			}
			m := it.M
			if it.Probe != tc.want.identity {
				t.Errorf("identity %+v, want %+v", it.Probe, tc.want.identity)
			}
			if m.Verdict.Status != tc.want.status || m.Verdict.Method != tc.want.method {
				t.Errorf("verdict %s/%s (%s), want %s/%s", m.Verdict.Status, m.Verdict.Method, m.Verdict.Reason, tc.want.status, tc.want.method)
			}
			if m.Source != measurement.SourceOONI || m.Provenance == nil {
				t.Fatalf("source %q, provenance %v", m.Source, m.Provenance)
			}
			if got, w := jsonOf(t, m.Provenance), jsonOf(t, tc.want.prov); got != w {
				t.Errorf("provenance\n got %s\nwant %s", got, w)
			}
			if err := m.Validate(now); err != nil || !it.ReceivedAt.Equal(now) {
				t.Errorf("validate: %v; received at %s", err, it.ReceivedAt)
			}
			tc.want.check(t, m)
		})
	}
}

func checkOldDNS(t *testing.T, m *measurement.Measurement) {
	if m.Target != "https://web.telegram.org/" || m.Domain != "web.telegram.org" || m.Port != 443 ||
		!m.StartedAt.Equal(time.Date(2017, 7, 20, 8, 13, 41, 0, time.UTC)) || m.RuntimeMS != 3200 {
		t.Errorf("target %s %s %d at %s, runtime %v", m.Target, m.Domain, m.Port, m.StartedAt, m.RuntimeMS)
	}
	want := measurement.DNSQuery{Resolver: "system", Transport: "udp", System: true, Query: "web.telegram.org", QType: "A", Rcode: "NOERROR",
		Answers: []measurement.DNSAnswer{{Name: "web.telegram.org", Type: "A", Data: "36.86.63.185"}}}
	if len(m.DNS) != 1 || jsonOf(t, m.DNS[0]) != jsonOf(t, want) {
		t.Errorf("dns %s, want %s", jsonOf(t, m.DNS), jsonOf(t, want))
	}
	if len(m.Resolvers) != 1 || m.Resolvers[0].Resolver != "system" || !slices.Equal(m.Resolvers[0].Egress, []string{"118.98.44.10"}) {
		t.Errorf("resolvers %+v", m.Resolvers)
	}
	if len(m.TCP) != 1 || m.TCP[0].Origin != "probe" || m.TCP[0].Failure == nil || *m.TCP[0].Failure != "connection_refused" {
		t.Errorf("tcp %s", jsonOf(t, m.TCP))
	}
	if names := fpNames(m); !slices.Equal(names, []string{"pantau.id_dns_telkom_uzone"}) {
		t.Errorf("fingerprints %q", names)
	}
	c := m.Control
	if c == nil || c.Failure != nil || c.Helper != "https://a.web-connectivity.th.ooni.io:4442" || len(c.DNS) != 1 ||
		!slices.Equal(c.DNS[0].Addrs(), []string{"149.154.167.99"}) || len(c.HTTP) != 1 || c.HTTP[0].Status != 200 || c.HTTP[0].Title != "Telegram Web" {
		t.Errorf("control %s", jsonOf(t, c))
	}
}

func checkNewHTTPS(t *testing.T, m *measurement.Measurement) {
	// The HTTPS query of the UDP resolver has no place in the format; A and AAAA stay.
	if len(m.DNS) != 3 || m.DNS[2].Resolver != "udp://8.8.4.4:53" || m.DNS[2].System || m.DNS[1].QType != "AAAA" ||
		m.DNS[0].Answers[0].ASN != 15133 || m.DNS[2].Answers[0].TTL != 3600 || m.DNS[0].RTTMS != 25 {
		t.Errorf("dns %s", jsonOf(t, m.DNS))
	}
	if len(m.TCP) != 2 || m.TCP[0].IP != "2606:2800:220:1:248:1893:25c8:1946" || *m.TCP[0].Failure != "host_unreachable" || m.TCP[1].Failure != nil {
		t.Errorf("tcp %s", jsonOf(t, m.TCP))
	}
	if len(m.TLS) != 1 {
		t.Fatalf("tls %s", jsonOf(t, m.TLS))
	}
	h := m.TLS[0]
	if h.IP != "93.184.216.34" || h.Port != 443 || h.SNI != "www.example.com" || !h.CertValid || h.Version != "TLSv1.3" || h.ALPN != "h2" ||
		len(h.Certificates) != 1 || h.Certificates[0].Subject != "CN=www.example.com" || !slices.Equal(h.Certificates[0].DNSNames, []string{"www.example.com", "example.com"}) ||
		len(h.Certificates[0].SHA256) != 64 {
		t.Errorf("tls %s", jsonOf(t, m.TLS))
	}
	if len(m.HTTP) != 1 || m.HTTP[0].Status != 200 || m.HTTP[0].Title != "Example Domain" || m.HTTP[0].Address != "93.184.216.34:443" ||
		m.HTTP[0].Headers["Server"] != "ECS (nyb/1D0D)" || m.HTTP[0].BodyLength != int64(len(`<!doctype html><html><head><title>Example Domain</title></head><body><h1>Example Domain</h1><p>`)+900+len(`</p></body></html>`)) {
		t.Errorf("http %s", jsonOf(t, m.HTTP))
	}
	c := m.Control
	if c == nil || len(c.TCP) != 2 || c.TCP[1].IP != "2606:2800:220:1:248:1893:25c8:1946" || c.TCP[1].Failure != nil ||
		len(c.TLS) != 1 || !c.TLS[0].CertValid || c.DNS[0].Answers[1].Type != "AAAA" || c.DNS[0].Answers[0].ASN != 15133 || c.Helper != "https://4.th.ooni.org" {
		t.Errorf("control %s", jsonOf(t, c))
	}
}

func checkNoControl(t *testing.T, m *measurement.Measurement) {
	c := m.Control
	if c == nil || c.Failure == nil || *c.Failure != "generic_timeout_error" || len(c.DNS)+len(c.TCP)+len(c.HTTP) != 0 {
		t.Errorf("control %s, want only the failure", jsonOf(t, c))
	}
	if m.Provenance.OONIAccessible != nil || m.Provenance.OONIBlocking != "" {
		t.Errorf("OONI's verdict %+v, want null", m.Provenance)
	}
}

func checkNXDomain(t *testing.T, m *measurement.Measurement) {
	if len(m.DNS) != 2 || *m.DNS[0].Failure != "dns_nxdomain_error" || m.DNS[0].Rcode != "NXDOMAIN" || len(m.DNS[0].Answers) != 0 {
		t.Errorf("dns %s", jsonOf(t, m.DNS))
	}
	if len(m.HTTP) != 1 || *m.HTTP[0].Failure != "dns_nxdomain_error" || m.HTTP[0].Status != 0 {
		t.Errorf("http %s", jsonOf(t, m.HTTP))
	}
	// The helper's connect to its own address: origin control.
	if c := m.Control; c == nil || len(c.TCP) != 1 || c.TCP[0].Origin != "control" || c.TLS[0].SNI != "t.me" {
		t.Errorf("control %s", jsonOf(t, c))
	}
}

func checkBlockPage(t *testing.T, m *measurement.Measurement) {
	if names := fpNames(m); !slices.Equal(names, []string{"pantau.id_title_internet_positif", "pantau.id_body_internet_positif_title"}) {
		t.Errorf("fingerprints %q", names)
	}
	if len(m.HTTP) != 1 || m.HTTP[0].Title != "Internet Positif" || m.HTTP[0].BodySHA256 == "" {
		t.Errorf("http %s", jsonOf(t, m.HTTP))
	}
}

func checkRedirect(t *testing.T, m *measurement.Measurement) {
	// OONI lists the requests newest first; Pantau first hop first.
	if len(m.HTTP) != 2 || m.HTTP[0].URL != "http://example.net/" || m.HTTP[0].Status != 301 ||
		m.HTTP[0].Headers["Location"] != "https://www.example.net/" || m.HTTP[1].URL != "https://www.example.net/" ||
		m.HTTP[1].Title != "Example Net" || m.HTTP[1].BodyLength != 55 {
		t.Errorf("http %s", jsonOf(t, m.HTTP))
	}
	// The lookup of the redirect's host is not the target's DNS.
	if len(m.DNS) != 1 || m.DNS[0].Query != "example.net" {
		t.Errorf("dns %s", jsonOf(t, m.DNS))
	}
	// A getaddrinfo lookup recorded as A with an IPv6 answer keeps it as AAAA; a CNAME
	// keeps its target and TTL.
	if a := m.DNS[0].Answers; len(a) != 3 || a[0].Type != "CNAME" || a[0].Data != "example.net.cdn.test." || a[0].TTL != 300 || a[2].Type != "AAAA" {
		t.Errorf("dns %s", jsonOf(t, m.DNS))
	}
	if m.Control.Helper != "httpo://7jne2rpg5lsaqs6b.onion" {
		t.Errorf("helper %q", m.Control.Helper)
	}
}

func fpNames(m *measurement.Measurement) []string {
	var out []string
	for _, f := range m.Fingerprints {
		out = append(out, f.Name)
	}
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMapBadLines: lines that are not importable say why, naming the key.
func TestMapBadLines(t *testing.T) {
	jsonl := fixtureLines(t, "testdata/webconnectivity.jsonl")
	good := string(jsonl[2])
	for _, tc := range []struct {
		name, line, want string
	}{
		{"other test", string(jsonl[6]), `not a web_connectivity measurement: test_name "dnscheck"`},
		{"truncated JSON", string(jsonl[7]), "not valid JSON at byte 86"},
		{"no report_id", string(jsonl[8]), "report_id: missing"},
		{"not an object", `[1,2]`, "want an object, found a JSON array"},
		{"input null", strings.Replace(good, `"input": "https://www.example.com/"`, `"input": null`, 1), "input: missing"},
		{"input of another scheme", strings.Replace(good, `"input": "https://www.example.com/"`, `"input": "ftp://x/"`, 1), `input: target "ftp://x/": unsupported scheme "ftp"`},
		{"input not a URL", strings.Replace(good, `"input": "https://www.example.com/"`, `"input": "tcp://1.2.3.4:443"`, 1), `input: "tcp://1.2.3.4:443" is not an http(s) URL`},
		{"input a bare name", strings.Replace(good, `"input": "https://www.example.com/"`, `"input": "www.example.com"`, 1), `input: "www.example.com" is not an http(s) URL`},
		{"bad start time", strings.Replace(good, `"2024-03-05 10:11:12"`, `"yesterday"`, 1), `measurement_start_time: "yesterday"`},
		{"bad asn", strings.Replace(good, `"probe_asn": "AS23693"`, `"probe_asn": "23693"`, 1), `probe_asn: "23693": want AS followed by a number`},
		{"test_keys wrong type", strings.Replace(good, `"tcp_connect": [`, `"tcp_connect": "x", "old_tcp_connect": [`, 1),
			"test_keys: tcp_connect: want a list, found a JSON string"},
		{"no test_keys", `{"test_name": "web_connectivity", "input": "https://t.me/"}`, "test_keys: missing"},
		{"bad certificate", strings.Replace(good, `"peer_certificates": [{"data": "`, `"peer_certificates": [{"data": "AAAA`, 1),
			"test_keys.tls_handshakes[0].peer_certificates[0]: not a certificate"},
		{"bad blocking", strings.Replace(good, `"blocking": false`, `"blocking": 3`, 1), "test_keys.blocking: want false, a string or null"},
		{"future start", strings.Replace(good, `"2024-03-05 10:11:12"`, `"2027-03-05 10:11:12"`, 1), "does not make a valid measurement: started_at"},
	} {
		_, err := newMapper().Map([]byte(tc.line), now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// TestMapDeterministic: the same line gives the same ID and the same JSON (what makes a
// second import a no-op); another start time, report or input gives another ID.
func TestMapDeterministic(t *testing.T) {
	line := fixtureLines(t, "testdata/webconnectivity.jsonl")[2]
	a, err := newMapper().Map(line, now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newMapper().Map(line, now.Add(time.Hour))
	if a.M.ID != b.M.ID || jsonOf(t, a.M) != jsonOf(t, b.M) {
		t.Errorf("two mappings differ:\n%s\n%s", jsonOf(t, a.M), jsonOf(t, b.M))
	}
	ids := map[string]bool{a.M.ID: true}
	for _, edit := range [][2]string{
		{`"2024-03-05 10:11:12"`, `"2024-03-05 10:11:13"`},
		{`"20240305T101000Z_webconnectivity_ID_23693_n1_LmNoPqRsTuVw5678"`, `"20240305T101000Z_webconnectivity_ID_23693_n1_other"`},
		{`"input": "https://www.example.com/"`, `"input": "https://www.example.com/?x"`},
	} {
		c, err := newMapper().Map(bytes.Replace(line, []byte(edit[0]), []byte(edit[1]), 1), now)
		if err != nil {
			t.Fatal(err)
		}
		if ids[c.M.ID] {
			t.Errorf("%s → %s: ID %s repeats", edit[0], edit[1], c.M.ID)
		}
		ids[c.M.ID] = true
	}
}

// TestMapVariants: an IP-literal input (IPv6) connects to the target's own address; a
// start time written as RFC 3339 (OONI's API) reads as the same instant, with the same ID.
func TestMapVariants(t *testing.T) {
	line := string(fixtureLines(t, "testdata/webconnectivity.jsonl")[2])
	ip := "2606:2800:220:1:248:1893:25c8:1946"
	v6 := strings.Replace(line, `"input": "https://www.example.com/"`, `"input": "https://[`+ip+`]/"`, 1)
	it, err := newMapper().Map([]byte(v6), now)
	if err != nil {
		t.Fatal(err)
	}
	if m := it.M; m.Domain != ip || m.Target != "https://["+ip+"]/" || m.TCP[0].IP != ip || m.TCP[0].Origin != measurement.OriginTarget {
		t.Errorf("IPv6 literal: domain %q target %q tcp %s", m.Domain, m.Target, jsonOf(t, m.TCP))
	}
	iso := strings.Replace(line, `"measurement_start_time": "2024-03-05 10:11:12"`, `"measurement_start_time": "2024-03-05T10:11:12Z"`, 1)
	orig, _ := newMapper().Map([]byte(line), now)
	if it, err := newMapper().Map([]byte(iso), now); err != nil || !it.M.StartedAt.Equal(time.Date(2024, 3, 5, 10, 11, 12, 0, time.UTC)) || it.M.ID != orig.M.ID {
		t.Errorf("RFC 3339 start: %v %v, want the ID %s", it.M, err, orig.M.ID)
	}
}

// TestMapLTE: probe-cli's Web Connectivity LTE shapes. Its system lookup is getaddrinfo
// recorded as type ANY, next to DoH and UDP lookups: the ANY lookup becomes the system
// resolver's A and AAAA questions, which drive the DNS verdict; the others are evidence.
func TestMapLTE(t *testing.T) {
	lines := fixtureLines(t, "testdata/webconnectivity-lte.jsonl")
	for _, tc := range []struct {
		line           int
		status, method string
		ooni           string
		dns            string // resolver qtype failure, of each question
	}{
		{1, "blocked", "dns", "dns", "https://dns.google/dns-query A -|https://dns.google/dns-query AAAA dns_no_answer|system A dns_nxdomain_error|" +
			"system AAAA dns_nxdomain_error|udp://1.1.1.1:53 A -|udp://1.1.1.1:53 AAAA dns_no_answer"},
		{2, "blocked", "tls", "http-failure", "system A -|system AAAA dns_no_answer|udp://1.1.1.1:53 A -"},
		{3, "blocked", "http", "http-failure", "system A -|system AAAA -"},
		// A redirect to https whose handshake is reset: LTE records no request for the
		// hop; it is added from http_experiment_failure, at its connect's address.
		{4, "blocked", "tls", "http-failure", "system A -|system AAAA dns_no_answer|system A -|system AAAA dns_no_answer"},
	} {
		it, err := newMapper().Map(lines[tc.line], now)
		if err != nil {
			t.Fatalf("line %d: %v", tc.line, err)
		}
		m := it.M
		if m.Verdict.Status != tc.status || m.Verdict.Method != tc.method || m.Provenance.OONIBlocking != tc.ooni {
			t.Errorf("line %d: %s/%s (%s), OONI %s; want %s/%s, OONI %s", tc.line, m.Verdict.Status, m.Verdict.Method, m.Verdict.Reason,
				m.Provenance.OONIBlocking, tc.status, tc.method, tc.ooni)
		}
		var dns []string
		for _, q := range m.DNS {
			f := "-"
			if q.Failure != nil {
				f = *q.Failure
			}
			dns = append(dns, q.Resolver+" "+q.QType+" "+f)
		}
		if got := strings.Join(dns, "|"); got != tc.dns {
			t.Errorf("line %d: dns\n got %s\nwant %s", tc.line, got, tc.dns)
		}
		if tc.line == 4 && (len(m.HTTP) != 2 || m.HTTP[1].URL != "https://www.example.org/" || m.HTTP[1].Address != "93.184.215.14:443" ||
			m.HTTP[1].Failure == nil || *m.HTTP[1].Failure != "connection_reset") {
			t.Errorf("line 4: http %s", jsonOf(t, m.HTTP))
		}
	}
}

// TestTooManyRedirects: a chain OONI ended for its length ends at the last redirect,
// failed, as the probe records it, rather than at a made-up hop.
func TestTooManyRedirects(t *testing.T) {
	line := string(fixtureLines(t, "testdata/webconnectivity-lte.jsonl")[4])
	line = strings.Replace(line, `"http_experiment_failure": "connection_reset"`, `"http_experiment_failure": "http_too_many_redirects"`, 1)
	it, err := newMapper().Map([]byte(line), now)
	if err != nil {
		t.Fatal(err)
	}
	if h := it.M.HTTP; len(h) != 1 || h[0].Status != 301 || h[0].Failure == nil || *h[0].Failure != "http_too_many_redirects" {
		t.Errorf("http %s", jsonOf(t, h))
	}
}

// TestFailures: OONI's failure strings of every era map to Pantau's (OONI's current
// taxonomy); a step failed without a string never reads as a success.
func TestFailures(t *testing.T) {
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	for _, tc := range []struct{ in, dns, conn string }{
		{"dns_name_error", "dns_nxdomain_error", "dns_name_error"},
		{"dns_nxdomain_error", "dns_nxdomain_error", "dns_nxdomain_error"},
		{"dns_server_failure", "dns_servfail_error", "dns_server_failure"},
		{"dns_server_misbehaving", "dns_servfail_error", "dns_server_misbehaving"},
		{"android_dns_cache_no_data", "dns_no_answer", "android_dns_cache_no_data"},
		{"connection_refused_error", "connection_refused", "connection_refused"},
		{"tcp_timed_out_error", "generic_timeout_error", "generic_timeout_error"},
		{"deferred_timeout_error", "generic_timeout_error", "generic_timeout_error"},
		{"connection_reset", "connection_reset", "connection_reset"},
		{"unknown_failure: x", "unknown_failure: x", "unknown_failure: x"},
	} {
		in := tc.in
		if got := str(dnsFailure(&in)); got != tc.dns {
			t.Errorf("dns %q → %q, want %q", tc.in, got, tc.dns)
		}
		if got := str(connFailure(false, &in)); got != tc.conn {
			t.Errorf("conn %q → %q, want %q", tc.in, got, tc.conn)
		}
	}
	if got := str(connFailure(false, nil)); got != "unknown_failure: failed without a failure string (ooni)" {
		t.Errorf("failed without a string: %q", got)
	}
	if connFailure(true, nil) != nil || dnsFailure(ptr("")) != nil {
		t.Error("success reads as a failure")
	}
}

// TestOldRedirectFailure: in a report that records no hop addresses (2016), a redirect
// hop that failed gets the address its host resolved to, so that the verdict reads the
// failure (a reset HTTPS hop: tls) instead of an unresolved host (dns).
func TestOldRedirectFailure(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(fixtureLines(t, "testdata/webconnectivity-2016.jsonl.gz")[1], &doc); err != nil {
		t.Fatal(err)
	}
	tk := doc["test_keys"].(map[string]any)
	final := tk["requests"].([]any)[0].(map[string]any)
	final["failure"], final["response"] = "connection_reset", nil
	tk["blocking"], tk["accessible"] = "http-failure", false
	line, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	it, err := newMapper().Map(line, now)
	if err != nil {
		t.Fatal(err)
	}
	m := it.M
	if len(m.HTTP) != 2 || m.HTTP[0].Address != "" || m.HTTP[1].Address != "93.184.216.36:443" {
		t.Errorf("http %s", jsonOf(t, m.HTTP))
	}
	if m.Verdict.Status != "blocked" || m.Verdict.Method != "tls" {
		t.Errorf("verdict %s/%s (%s), want blocked/tls", m.Verdict.Status, m.Verdict.Method, m.Verdict.Reason)
	}
}
