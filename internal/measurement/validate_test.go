package measurement

import (
	"math"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func valid() *Measurement {
	f := "dns_nxdomain_error"
	return &Measurement{
		ID: "0123456789abcdef0123456789abcdef", SchemaVersion: 1, Target: "https://t.me/", Kind: KindWeb,
		Domain: "t.me", Port: 443, StartedAt: now.Add(-time.Minute), RuntimeMS: 12.5,
		Software:  Software{Name: "pantau-probe", Version: "dev"},
		Resolvers: []ResolverInfo{{Resolver: "udp://10.0.0.1:53", Transport: TransportUDP, System: true, Egress: []string{"203.0.113.9"}}},
		Observations: Observations{
			DNS: []DNSQuery{{Resolver: "udp://10.0.0.1:53", Transport: TransportUDP, System: true, Query: "t.me", QType: "A", Rcode: "NXDOMAIN", Failure: &f,
				Answers: []DNSAnswer{{Name: "t.me", Type: "A", TTL: 1, Data: "36.86.63.185"}}}},
			TCP:  []TCPConnect{{IP: "149.154.167.99", Port: 443, Origin: OriginControl}},
			TLS:  []TLSHandshake{{IP: "149.154.167.99", Port: 443, SNI: "t.me", Version: "TLSv1.3"}},
			HTTP: []HTTPRequest{{URL: "https://t.me/", Method: "GET", Status: 200, Title: "Telegram – a new era\tof messaging", Headers: map[string]string{"Server": "nginx"}}},
		},
		Fingerprints: []FingerprintMatch{},
		Verdict:      Verdict{Status: StatusBlocked, Method: MethodDNS, Reason: "The resolver said the name does not exist.", Evidence: []string{"x"}},
	}
}

func TestValidateOK(t *testing.T) {
	if err := valid().Validate(now); err != nil {
		t.Fatal(err)
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m *Measurement)
		want   string
	}{
		{"id", func(m *Measurement) { m.ID = "abc" }, `id: "abc": want 32 lower-case hex digits`},
		{"schema", func(m *Measurement) { m.SchemaVersion = 2 }, `schema_version: 2 is not supported (want 1)`},
		{"kind", func(m *Measurement) { m.Kind = "udp" }, `kind: "udp" is not one of web, tcp`},
		{"newline in domain", func(m *Measurement) { m.Domain = "t.me\nx" }, `domain: "t.me\nx" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{"U-label domain", func(m *Measurement) { m.Domain = "bücher.example" }, `domain: "bücher.example" is not ASCII: give an internationalised name in its A-label form (xn--…)`},
		{"future", func(m *Measurement) { m.StartedAt = now.Add(48 * time.Hour) }, `started_at: 2026-11-30T12:00:00Z is not a plausible time`},
		{"NaN", func(m *Measurement) { m.RuntimeMS = math.NaN() }, `runtime_ms: NaN is not a non-negative number`},
		{"status", func(m *Measurement) { m.Verdict.Status = "maybe" }, `verdict.status: "maybe" is not one of accessible, blocked, down, inconclusive`},
		{"method missing", func(m *Measurement) { m.Verdict.Method = "" }, `verdict.method: "" is not one of dns, tcp, tls, http`},
		{"method without block", func(m *Measurement) { m.Verdict.Status = StatusAccessible }, `verdict.method: "dns" is set but status is "accessible"`},
		{"answer ip", func(m *Measurement) { m.DNS[0].Answers[0].Data = "not-an-ip" }, `dns[0].answers[0].data: "not-an-ip" is not an IP address`},
		{"qtype", func(m *Measurement) { m.DNS[0].QType = "MX" }, `dns[0].qtype: "MX" is not one of A, AAAA`},
		{"tcp ip", func(m *Measurement) { m.TCP[0].IP = "1.2.3" }, `tcp[0].ip: "1.2.3" is not an IP address`},
		{"origin", func(m *Measurement) { m.TCP[0].Origin = "x" }, `tcp[0].origin: "x" is not one of probe, control, target`},
		{"empty failure", func(m *Measurement) { e := ""; m.TLS[0].Failure = &e }, `tls[0].failure: empty (use null for success)`},
		{"control char in title", func(m *Measurement) { m.HTTP[0].Title = "a\x00b" }, `http[0].title: "a\x00b" contains control characters`},
		{"control tcp", func(m *Measurement) {
			m.Control = &Control{Observations: Observations{TCP: []TCPConnect{{IP: "::1", Port: 0, Origin: "probe"}}}}
		}, `control.tcp[0].port: 0 is out of range`},
		{"too many", func(m *Measurement) { m.TCP = make([]TCPConnect, 300) }, `tcp: 300 items is more than 256`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			tc.mutate(m)
			err := m.Validate(now)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if first := strings.Split(err.Error(), "\n")[0]; first != tc.want {
				t.Errorf("error = %q, want %q", first, tc.want)
			}
		})
	}
}

// TestCheckDomain: the one rule for a domain, at ingest and in every query. Hostile and
// odd names get the exact reason; every accepted name is one a query can ask for.
func TestCheckDomain(t *testing.T) {
	for _, tc := range []struct{ domain, want string }{
		{"t.me", ""},
		{"web.telegram.org", ""},
		{"xn--bcher-kva.example", ""}, // bücher.example as its A-label
		{"_dmarc.example.com", ""},
		{"Example.COM", ""},
		{"149.154.167.51", ""},
		{"2001:67c:4e8:f004::a", ""}, // tcp://[2001:67c:4e8:f004::a]:443
		{"::ffff:149.154.167.51", ""},
		{strings.Repeat("a.", 126) + "a", ""}, // 253 bytes
		{"", "required"},
		{strings.Repeat("a.", 126) + "ab", `"` + strings.Repeat("a.", 32) + `…" is longer than 253 bytes`},
		{"bücher.example", `"bücher.example" is not ASCII: give an internationalised name in its A-label form (xn--…)`},
		{"\xff.example", `"\xff.example" is not ASCII: give an internationalised name in its A-label form (xn--…)`},
		{"[2001:67c:4e8:f004::a]", `"[2001:67c:4e8:f004::a]": give the IPv6 address without brackets: 2001:67c:4e8:f004::a`},
		{"[2001:67c:4e8:f004::a]:443", `"[2001:67c:4e8:f004::a]:443" is not an IP address`},
		{"fe80::1%eth0", `"fe80::1%eth0": an IPv6 address with a zone is not a domain`},
		{"fe80::1%eth0 x", `"fe80::1%eth0 x": an IPv6 address with a zone is not a domain`},
		{"t.me:443", `"t.me:443" is not an IP address`},
		{"[]", `"[]" is not an IP address`},
		{"t.me/x", `"t.me/x" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{`t.me") |> drop()`, `"t.me\") |> drop()" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{`t.me' OR 'a'='a`, `"t.me' OR 'a'='a" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{`a\b`, `"a\\b" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{"a,b=c", `"a,b=c" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{"t.me x", `"t.me x" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{"t.me\n", `"t.me\n" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{"t.me.", `"t.me." has an empty label`},
		{"a..b", `"a..b" has an empty label`},
		{".", `"." has an empty label`},
		{strings.Repeat("a", 64) + ".example", `"` + strings.Repeat("a", 64) + `…" has a label longer than 63 bytes`},
	} {
		err := CheckDomain(tc.domain)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("CheckDomain(%q) = %q, want %q", tc.domain, got, tc.want)
		}
	}
}
