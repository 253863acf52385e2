package target

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in, want, kind, domain, input string
		port                          int
		err                           string
	}{
		{in: "t.me", want: "https://t.me/", kind: "web", domain: "t.me", port: 443},
		{in: "Web.Telegram.ORG.", want: "https://web.telegram.org/", kind: "web", domain: "web.telegram.org", port: 443},
		{in: "http://example.com/a?b=c", want: "http://example.com/a?b=c", kind: "web", domain: "example.com", port: 80},
		{in: "https://example.com:8443", want: "https://example.com:8443/", kind: "web", domain: "example.com", port: 8443},
		{in: "tcp://149.154.167.50:443", want: "tcp://149.154.167.50:443", kind: "tcp", domain: "149.154.167.50", port: 443},
		{in: "tcp://[2001:67c:4e8:f004::a]:443", want: "tcp://[2001:67c:4e8:f004::a]:443", kind: "tcp", domain: "2001:67c:4e8:f004::a", port: 443},
		{in: "", err: `target "": empty`},
		{in: "ftp://x.org/", err: `target "ftp://x.org/": unsupported scheme "ftp" (want http, https or tcp)`},
		{in: "tcp://x.org", err: `target "tcp://x.org": tcp target needs a port (tcp://HOST:PORT)`},
		{in: "tcp://x.org:99999", err: `target "tcp://x.org:99999": bad port "99999"`},
		{in: "exa mple.com", err: `target "exa mple.com": not a domain; give a URL with a scheme`},
		{in: "ok_.-x.com", err: `target "ok_.-x.com": bad character '-' in domain label "-x"`},
		{in: "a..b", err: `target "a..b": bad domain label ""`},
		{in: "r3---sn-abc.googlevideo.com", want: "https://r3---sn-abc.googlevideo.com/", kind: "web", domain: "r3---sn-abc.googlevideo.com", port: 443},
		// Internationalised names are measured in their A-label form, whatever the case.
		{in: "яндекс.рф", want: "https://xn--d1acpjx3f.xn--p1ai/", kind: "web", domain: "xn--d1acpjx3f.xn--p1ai", port: 443, input: "яндекс.рф"},
		{in: "https://ЯНДЕКС.РФ/path", want: "https://xn--d1acpjx3f.xn--p1ai/path", kind: "web", domain: "xn--d1acpjx3f.xn--p1ai", port: 443, input: "https://ЯНДЕКС.РФ/path"},
		{in: "http://Bérita.Example:8080/a?q=1", want: "http://xn--brita-bsa.example:8080/a?q=1", kind: "web", domain: "xn--brita-bsa.example", port: 8080, input: "http://Bérita.Example:8080/a?q=1"},
		{in: "  bérita.example.  ", want: "https://xn--brita-bsa.example/", kind: "web", domain: "xn--brita-bsa.example", port: 443, input: "bérita.example."},
		{in: "tcp://日本語。jp:443", want: "tcp://xn--wgv71a119e.jp:443", kind: "tcp", domain: "xn--wgv71a119e.jp", port: 443, input: "tcp://日本語。jp:443"},
		{in: "faß.de", want: "https://xn--fa-hia.de/", kind: "web", domain: "xn--fa-hia.de", port: 443, input: "faß.de"},
		{in: "https://b%C3%A9rita.example/", want: "https://xn--brita-bsa.example/", kind: "web", domain: "xn--brita-bsa.example", port: 443},
		// Already in A-labels: kept (lower case), no input recorded.
		{in: "XN--D1ACPJX3F.XN--P1AI", want: "https://xn--d1acpjx3f.xn--p1ai/", kind: "web", domain: "xn--d1acpjx3f.xn--p1ai", port: 443},
		{in: "https://www.xn--brita-bsa.example/", want: "https://www.xn--brita-bsa.example/", kind: "web", domain: "www.xn--brita-bsa.example", port: 443},
		// An ASCII path is not an input worth recording; a Unicode one is.
		{in: "https://example.com/путь", want: "https://example.com/%D0%BF%D1%83%D1%82%D1%8C", kind: "web", domain: "example.com", port: 443, input: "https://example.com/путь"},
		{in: "xn--zz", err: `target "xn--zz": invalid internationalised domain name: idna: invalid label "zz"`},
		{in: "xn--a.com", err: `target "xn--a.com": invalid internationalised domain name: idna: invalid label "\u0080"`},
		// Bidi rule (RFC 5893): a label with right-to-left characters may not start with a left-to-right one.
		{in: "aא.com", err: `target "aא.com": invalid internationalised domain name: idna: invalid label "aא.com"`},
		{in: "a\u200d.com", err: `target "a\u200d.com": invalid internationalised domain name: idna: invalid label "a\u200d"`},
		{in: "bérita..example", err: `target "bérita..example": bad domain label ""`},
		{in: "bé_rita.example", want: "https://xn--b_rita-bva.example/", kind: "web", domain: "xn--b_rita-bva.example", port: 443, input: "bé_rita.example"},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("Parse(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got.String() != tc.want || got.Kind != tc.kind || got.Domain != tc.domain || got.Port != tc.port || got.Input() != tc.input {
			t.Errorf("Parse(%q) = %s %s %s %d input %q, want %s %s %s %d input %q", tc.in, got, got.Kind, got.Domain, got.Port, got.Input(),
				tc.want, tc.kind, tc.domain, tc.port, tc.input)
		}
	}
}
