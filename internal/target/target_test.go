package target

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in, want, kind, domain string
		port                   int
		err                    string
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
		if got.String() != tc.want || got.Kind != tc.kind || got.Domain != tc.domain || got.Port != tc.port {
			t.Errorf("Parse(%q) = %s %s %s %d, want %s %s %s %d", tc.in, got, got.Kind, got.Domain, got.Port, tc.want, tc.kind, tc.domain, tc.port)
		}
	}
}
