package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// t0 is a fixed start time well inside the default query range.
var t0 = time.Now().UTC().Truncate(time.Second).Add(-time.Hour)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newStore returns a Store on a fresh database of the shared instance (the 1.8 path: org
// "", bucket "db/rp") and the database's name.
func newStore(t *testing.T) (*store.Store, string, string) {
	t.Helper()
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	return openStore(t, url, bucket), url, bucket
}

func openStore(t *testing.T, url, bucket string) *store.Store {
	t.Helper()
	s, err := store.New(store.Config{URL: url, Org: "", Bucket: bucket, Timeout: 30 * time.Second}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func write(t *testing.T, s *store.Store, items ...store.Item) {
	t.Helper()
	if err := s.Write(ctx(t), items); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

var probe = store.Identity{Probe: "probe-1", Network: "telkom", Country: "ID", ASN: 7713}

// item wraps m with a fixed identity, source and receive time.
func item(m *measurement.Measurement) store.Item {
	return store.Item{M: m, Probe: probe, Geo: store.Geo{ASN: 7713, Org: "PT Telekomunikasi Indonesia"}, ReceivedAt: m.StartedAt.Add(90 * time.Second)}
}

// simple is a small valid measurement.
func simple(domain string, started time.Time) *measurement.Measurement {
	return &measurement.Measurement{
		ID: measurement.NewID(), SchemaVersion: 1, Target: "https://" + domain + "/", Kind: "web", Domain: domain,
		Port: 443, StartedAt: started, RuntimeMS: 100, Software: measurement.Software{Name: "pantau", Version: "test"},
		Resolvers: []measurement.ResolverInfo{}, Fingerprints: []measurement.FingerprintMatch{},
		Observations: measurement.Observations{DNS: []measurement.DNSQuery{}, TCP: []measurement.TCPConnect{},
			TLS: []measurement.TLSHandshake{}, HTTP: []measurement.HTTPRequest{}},
		Verdict: measurement.Verdict{Status: "accessible", Reason: "ok", Evidence: []string{}},
	}
}

func fail(s string) *string { return &s }

// full is a measurement with every field populated (checked by TestFullIsFull), with
// characters that line protocol and Flux must escape in free text.
func full(domain string, started time.Time) *measurement.Measurement {
	cert := []measurement.Certificate{
		{Subject: "CN=" + domain, Issuer: "CN=Lab CA", DNSNames: []string{domain, "www." + domain},
			NotBefore: started.Add(-24 * time.Hour), NotAfter: started.Add(90 * 24 * time.Hour), SHA256: strings.Repeat("ab", 32)},
		{Subject: "CN=Lab CA", Issuer: "CN=Lab Root", DNSNames: []string{"ca.lab"},
			NotBefore: started.Add(-48 * time.Hour), NotAfter: started.Add(365 * 24 * time.Hour), SHA256: strings.Repeat("cd", 32)},
	}
	answers := []measurement.DNSAnswer{
		{Name: domain, Type: "CNAME", TTL: 60, Data: "edge." + domain},
		{Name: "edge." + domain, Type: "A", TTL: 30, Data: "36.86.63.185", ASN: 7713},
	}
	obs := measurement.Observations{
		DNS: []measurement.DNSQuery{
			{Resolver: "udp://10.0.0.1:53", Transport: "udp", System: true, Query: domain, QType: "A", Rcode: "NOERROR",
				Answers: answers, Failure: fail("dns_bogon_error"), RTTMS: 12.5, Truncated: true,
				LateReplies: []measurement.DNSReply{{Rcode: "NOERROR", Answers: answers[1:], RTTMS: 40.25}},
				Bogons:      []string{"10.10.34.35"}},
			{Resolver: "udp://10.0.0.1:53", Transport: "udp", System: true, Query: "www." + domain, QType: "A", Rcode: "NXDOMAIN",
				Answers: []measurement.DNSAnswer{}, Failure: fail("dns_nxdomain_error"), RTTMS: 3},
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
				BodySHA256: strings.Repeat("ef", 32), Title: "Internet Positif\n\"blocked\" \\ a,b=c", Failure: fail("eof_error"), TimeMS: 55.5},
		},
	}
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
		Verdict: measurement.Verdict{Status: "blocked", Method: "http", Reason: "line1\nline2 \"q\" \\ a,b=c\treach,probe=evil id=\"x\" 1",
			Evidence: []string{"title matched id_internetpositif", "dns bogon 10.10.34.35"}},
	}
}

// jsonOf encodes v; two values with the same JSON carry the same wire data.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// zeroLeaves lists the paths of fields that are zero in v; for a slice, a field counts as
// zero only if it is zero in every element.
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
	case reflect.Slice:
		seen[path] = seen[path] || v.Len() > 0
		for i := 0; i < v.Len(); i++ {
			zeroLeaves(v.Index(i), path+"[]", seen)
		}
	default:
		seen[path] = seen[path] || !v.IsZero()
	}
}

func sortedIDs(items []store.StoredMeasurement) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.Measurement.ID
	}
	sort.Strings(ids)
	return ids
}

// num renders an InfluxQL value (json.Number, string, bool) as text.
func num(v any) string {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "<nil>"
	}
	return v.(string)
}

func nanValue() float64 { return math.NaN() }

// writeLine writes line protocol (nanosecond timestamps) to db with the v1 API.
func writeLine(url, db, line string) error {
	resp, err := http.Post(url+"/write?db="+db, "text/plain", strings.NewReader(line))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return nil
}
