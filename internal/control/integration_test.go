package control

import (
	"context"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// fixed is an Observer that answers with the same observations whatever is asked.
type fixed measurement.Observations

func (f fixed) Observe(context.Context, target.Target, []string) measurement.Observations {
	return measurement.Observations(f)
}

// rich returns observations with every field set, to check the wire round trip.
func rich() measurement.Observations {
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return measurement.Observations{
		DNS: []measurement.DNSQuery{{
			Resolver: "udp://192.0.2.53:53", Transport: measurement.TransportUDP, System: true,
			Query: "example.org", QType: "A", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{
				{Name: "example.org", Type: "CNAME", TTL: 300, Data: "edge.example.net"},
				{Name: "edge.example.net", Type: "A", TTL: 60, Data: "93.184.216.34", ASN: 15133},
			},
			RTTMS: 12.345, Truncated: true,
			LateReplies: []measurement.DNSReply{{Rcode: "NOERROR", Answers: []measurement.DNSAnswer{{Name: "example.org", Type: "A", TTL: 1, Data: "10.10.34.36"}}, RTTMS: 40.5}},
			Bogons:      []string{"10.10.34.36"},
		}, {
			Resolver: "https://dns.example/dns-query", Transport: measurement.TransportDoH, Query: "example.org",
			QType: "AAAA", Answers: []measurement.DNSAnswer{}, Failure: measurement.Failure("dns_no_answer"), RTTMS: 3,
		}},
		TCP: []measurement.TCPConnect{
			{IP: "93.184.216.34", Port: 443, Origin: measurement.OriginControl, TimeMS: 20.001},
			{IP: "198.51.100.7", Port: 443, Origin: measurement.OriginProbe, Failure: measurement.Failure("generic_timeout_error"), TimeMS: 10000},
		},
		TLS: []measurement.TLSHandshake{{
			IP: "93.184.216.34", Port: 443, SNI: "example.org", Version: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256",
			ALPN: "h2", CertValid: true, TimeMS: 30.5,
			Certificates: []measurement.Certificate{{
				Subject: "CN=example.org", Issuer: "CN=Test CA", DNSNames: []string{"example.org", "www.example.org"},
				NotBefore: day, NotAfter: day.AddDate(0, 3, 0), SHA256: "ab12",
			}},
		}, {
			IP: "93.184.216.34", Port: 443, SNI: "example.com", SNISwap: true, Failure: measurement.Failure("ssl_invalid_hostname"), TimeMS: 31,
		}},
		HTTP: []measurement.HTTPRequest{{
			URL: "https://example.org/", Method: "GET", Address: "93.184.216.34:443", Status: 301,
			Headers: map[string]string{"Location": "https://www.example.org/", "Server": "ECS"}, TimeMS: 50,
		}, {
			URL: "https://www.example.org/", Method: "GET", Address: "93.184.216.34:443", Status: 200,
			BodyLength: 524288, BodyTruncated: true, BodySHA256: "cd34", Title: "Example Domain — ünïcode", TimeMS: 80.25,
		}},
	}
}

func TestClientHandlerRoundTrip(t *testing.T) {
	want := rich()
	url := serve(t, NewHandler(fixed(want), HandlerOptions{Guard: Guard([]netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")})}, nil))
	c, err := NewClient([]string{url}, nil, 30*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	got := c.Control(context.Background(), mustTarget(t, "example.org"), []string{"198.51.100.7", "10.10.34.36"})
	if got.Failure != nil || got.Helper != url {
		t.Fatalf("failure %v helper %q attempts %q", got.Failure, got.Helper, attempts(got))
	}
	if !reflect.DeepEqual(got.Observations, want) {
		t.Errorf("observations changed on the wire:\n got %+v\nwant %+v", got.Observations, want)
	}
	// The Response around them: a fresh observation, measured now.
	r := mustPost(t, url, `{"target":"example.org","addrs":["198.51.100.7","10.10.34.36"]}`)
	if !r.resp.Cached || r.resp.MeasuredAt.Before(before) || r.resp.MeasuredAt.After(time.Now()) {
		t.Errorf("cached %v measured_at %v", r.resp.Cached, r.resp.MeasuredAt)
	}
	if want := []string{"addrs[1]: 10.10.34.36 is a private or reserved address; not measured"}; !reflect.DeepEqual(r.resp.Refused, want) {
		t.Errorf("refused %q, want %q", r.resp.Refused, want)
	}
}
