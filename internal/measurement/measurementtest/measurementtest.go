// Package measurementtest builds measurements for tests: Full, with every field of the wire
// format populated, Simple, a small valid one, and JSON, their encoding. It is for tests
// only (imported from _test.go files); it is an ordinary package so that the tests of every
// package that takes or stores measurements share one builder.
package measurementtest

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// Full returns a valid measurement with every field populated (Unpopulated finds none
// empty), its free text holding tabs, quotes, backslashes, non-ASCII letters and
// line-protocol separators, so that a round trip through a decoder or a store covers
// every field and every escape. Observations and Control.Observations share their lists.
func Full(domain string, started time.Time) *measurement.Measurement {
	obs := fullObservations(domain, started)
	fail := measurement.Failure
	return &measurement.Measurement{
		ID: measurement.NewID(), SchemaVersion: 1, Target: "https://" + domain + "/p?a=1,b=\"2\"\\", Kind: "web",
		Domain: domain, Port: 443, StartedAt: started, RuntimeMS: 1234.567,
		Software: measurement.Software{Name: "pantau", Version: "1.2.3"}, Schedule: "daily-id",
		Resolvers: []measurement.ResolverInfo{
			{Resolver: "udp://10.0.0.1:53", Transport: "udp", System: true, Egress: []string{"36.86.1.1"}},
			{Resolver: "https://dns.example/dns-query", Transport: "doh", Egress: []string{}, Failure: fail("generic_timeout_error")},
		},
		Observations: obs,
		Fingerprints: []measurement.FingerprintMatch{{Name: "id_internetpositif", Scope: "nat", Location: "title",
			PatternType: "contains", Pattern: "Internet Positif", Confidence: 100, Where: "http https://" + domain + "/ title"}},
		Control: &measurement.Control{Helper: "https://helper.example/", Failure: fail("unknown_failure: x"),
			Attempts:     []measurement.ControlAttempt{{Helper: "https://helper.example/", Failure: fail("generic_timeout_error"), TimeMS: 9}},
			Observations: obs},
		Input: "https://" + domain + "/p?a=1,b=\"2\"\\ bérita",
		Canary: &measurement.Canary{Name: "example.org", Addrs: []string{"10.0.0.2", "fd00::2"}, Bogons: []string{"10.0.0.2"},
			URL: "http://example.org/login?a=1,b=\"2\"", Status: 200, BodySHA256: strings.Repeat("ab", 32),
			Title: "Hotel \"Wi-Fi\" a,b=c", Failure: fail("unknown_failure: canary"), DNSFailure: fail("dns_no_answer"), TimeMS: 12.5},
		Verdict: measurement.Verdict{Status: "blocked", Method: "http", Reason: "title\t\"q\" \\ a,b=c reach,probe=evil id=\"x\" 1",
			Evidence: []string{"title matched id_internetpositif", "dns bogon 10.10.34.35"}},
	}
}

// fullObservations returns observations of every kind, two of each, for Full.
func fullObservations(domain string, started time.Time) measurement.Observations {
	fail := measurement.Failure
	cert := []measurement.Certificate{
		{Subject: "CN=" + domain + ", O=\"Lab\"", Issuer: "CN=Lab CA", DNSNames: []string{domain, "www." + domain},
			NotBefore: started.Add(-24 * time.Hour), NotAfter: started.Add(90 * 24 * time.Hour), SHA256: strings.Repeat("ab", 32)},
		{Subject: "CN=Lab CA", Issuer: "CN=Lab Root", DNSNames: []string{"ca.lab"},
			NotBefore: started.Add(-48 * time.Hour), NotAfter: started.Add(365 * 24 * time.Hour), SHA256: strings.Repeat("cd", 32)},
	}
	answers := []measurement.DNSAnswer{
		{Name: domain, Type: "CNAME", TTL: 60, Data: "edge." + domain},
		{Name: "edge." + domain, Type: "A", TTL: 30, Data: "36.86.63.185", ASN: 7713},
	}
	return measurement.Observations{
		DNS: []measurement.DNSQuery{
			{Resolver: "udp://10.0.0.1:53", Transport: "udp", System: true, Query: domain, QType: "A", Rcode: "NOERROR",
				Answers: answers, Failure: fail("dns_bogon_error"), RTTMS: 12.5, Truncated: true,
				LateReplies: []measurement.DNSReply{{Rcode: "NOERROR", Answers: answers[1:], RTTMS: 40.25}},
				Bogons:      []string{"10.10.34.35"}},
			{Resolver: "https://dns.example/dns-query", Transport: "doh", Query: domain, QType: "AAAA", Rcode: "NOERROR",
				Answers: []measurement.DNSAnswer{{Name: domain, Type: "AAAA", TTL: 300, Data: "2001:db8::1"}}, RTTMS: 80.125},
		},
		TCP: []measurement.TCPConnect{
			{IP: "36.86.63.185", Port: 443, Origin: "probe", TimeMS: 20.5},
			{IP: "2001:db8::1", Port: 443, Origin: "control", Failure: fail("connection_reset"), TimeMS: 5},
		},
		TLS: []measurement.TLSHandshake{
			{IP: "36.86.63.185", Port: 443, SNI: domain, Failure: fail("ssl_unknown_authority"), Version: "TLSv1.3",
				CipherSuite: "TLS_AES_128_GCM_SHA256", ALPN: "h2", Certificates: cert, TimeMS: 30},
			{IP: "36.86.63.185", Port: 443, SNI: "example.org", SNISwap: true, Version: "TLSv1.3", CertValid: true, TimeMS: 31},
		},
		HTTP: []measurement.HTTPRequest{
			{URL: "http://" + domain + "/", Method: "GET", Address: "36.86.63.185:80", Status: 302,
				Headers: map[string]string{"Location": "https://" + domain + "/", "Server": "nginx"}, TimeMS: 10},
			{URL: "https://" + domain + "/", Method: "GET", Address: "36.86.63.185:443", Status: 200,
				Headers: map[string]string{"Content-Type": "text/html"}, BodyLength: 524288, BodyTruncated: true,
				BodySHA256: strings.Repeat("ef", 32), Title: "Internet\tPositif \"blocked\" \\ a,b=c ünï", Failure: fail("eof_error"), TimeMS: 55.5},
		},
	}
}

// Simple returns a small valid measurement: an accessible web target, no observations,
// every list empty (encoded as []).
func Simple(domain string, started time.Time) *measurement.Measurement {
	m := &measurement.Measurement{
		ID: measurement.NewID(), SchemaVersion: 1, Target: "https://" + domain + "/", Kind: "web", Domain: domain,
		Port: 443, StartedAt: started, RuntimeMS: 100, Software: measurement.Software{Name: "pantau", Version: "test"},
		Verdict: measurement.Verdict{Status: "accessible", Reason: "ok", Evidence: []string{}},
	}
	m.Normalise()
	return m
}

// JSON encodes v, failing t if it cannot; two values with the same JSON carry the same
// wire data.
func JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// importOnly are the fields only imported measurements carry (collector/ooni sets them;
// the collector refuses them from probes), which Full therefore leaves zero.
var importOnly = []string{"m.Source", "m.Provenance"}

// Unpopulated returns, sorted, the paths (from "m") of the fields of v that are zero: nil
// pointers, empty lists and maps, zero times and values; not the import-only fields.
// A field under a list counts as zero only if it is zero in every element.
func Unpopulated(v any) []string {
	seen := map[string]bool{}
	zeroLeaves(reflect.ValueOf(v), "m", seen)
	var zero []string
	for path, set := range seen {
		if !set && !slices.Contains(importOnly, path) && !strings.HasPrefix(path, "m.Provenance.") {
			zero = append(zero, path)
		}
	}
	slices.Sort(zero)
	return zero
}

// zeroLeaves records for each field path under v whether it is non-zero somewhere.
func zeroLeaves(v reflect.Value, path string, seen map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			seen[path] = seen[path] || false
			return
		}
		zeroLeaves(v.Elem(), path, seen)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			seen[path] = seen[path] || !v.Interface().(time.Time).IsZero()
			return
		}
		for i := 0; i < v.NumField(); i++ {
			zeroLeaves(v.Field(i), path+"."+v.Type().Field(i).Name, seen)
		}
	case reflect.Slice, reflect.Map:
		seen[path] = seen[path] || v.Len() > 0
		if v.Kind() == reflect.Slice {
			for i := 0; i < v.Len(); i++ {
				zeroLeaves(v.Index(i), path+"[]", seen)
			}
		}
	default:
		seen[path] = seen[path] || !v.IsZero()
	}
}
