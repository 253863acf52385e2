package fingerprint

import (
	"net/http"
	"strings"
	"testing"
)

// TestHostPattern: a redirect to the landing page matches whatever its scheme, case,
// "www.", port or trailing dot; a look-alike host, a user-info trick or a path on the
// same site does not.
func TestHostPattern(t *testing.T) {
	laman := mustOne(t, "x.laman,nat,,header.location,host,LamanLabuh.AduanKonten.ID,10,ID,test,,")
	baik := mustOne(t, "x.baik,isp,,header.location,host,www.internetbaik.telkomsel.com/block,10,ID,test,,")
	// OONI's form: an absolute URL as a prefix matches like a host pattern; another
	// prefix stays a plain prefix.
	ooni := mustOne(t, "x.ooni,isp,,header.location,prefix,http://www.melsa.net.id/main/blocked,5,ID,test,,")
	path := mustOne(t, "x.path,nat,,header.location,prefix,/blocked,5,ID,test,,")
	tests := []struct {
		fp       Fingerprint
		location string
		want     bool
	}{
		{laman, "HTTP://WWW.LamanLabuh.AduanKonten.id/x", true},
		{laman, "https://lamanlabuh.aduankonten.id", true},
		{laman, "lamanlabuh.aduankonten.id/", true},
		{laman, "lamanlabuh.aduankonten.id", true},
		{laman, "//lamanlabuh.aduankonten.id/?u=x", true},
		{laman, " http://lamanlabuh.aduankonten.id.:80/ ", true},
		{laman, "http://user@lamanlabuh.aduankonten.id/", true},
		{laman, "http://lamanlabuh.aduankonten.id?u=x", true},
		{laman, "evil-lamanlabuh.aduankonten.id.example", false},
		{laman, "https://lamanlabuh.aduankonten.id.example/", false},
		{laman, "http://sub.lamanlabuh.aduankonten.id/", false},
		{laman, "http://lamanlabuh.aduankonten.id@example.net/", false},
		{laman, "http://example.net/?next=http://lamanlabuh.aduankonten.id/", false},
		{laman, "/lamanlabuh.aduankonten.id", false},
		{laman, "", false},
		{baik, "https://internetbaik.telkomsel.com/block?siteurl=x", true},
		{baik, "internetbaik.telkomsel.com/blocked", true},
		{baik, "http://internetbaik.telkomsel.com/", false},
		{baik, "http://internetbaik.telkomsel.com/Block", false},
		{ooni, "HTTPS://Melsa.net.id/main/blocked?u=x", true},
		{ooni, "http://www.melsa.net.id.example/main/blocked", false},
		{ooni, "http://www.melsa.net.id/main/", false},
		{path, "/blocked?u=x", true},
		{path, "http://example.net/blocked", false},
	}
	for _, tc := range tests {
		if got := tc.fp.matchString(tc.location); got != tc.want {
			t.Errorf("%s %q: match = %v, want %v", tc.fp.Pattern, tc.location, got, tc.want)
		}
	}
	// Through a Set, the Where names the header value as received.
	s := NewSet([]Fingerprint{laman})
	got := summary(s.MatchHTTP("http[0]", 302, http.Header{"Location": {"HTTP://WWW.LamanLabuh.AduanKonten.id/x"}}, "", nil))
	if want := `x.laman@http[0] header.location "HTTP://WWW.LamanLabuh.AduanKonten.id/x"`; len(got) != 1 || got[0] != want {
		t.Errorf("set match %q, want %q", got, want)
	}
}

func TestLocationHost(t *testing.T) {
	tests := []struct{ in, host, rest string }{
		{"https://Example.ID:8443/a?b#c", "example.id", "/a?b#c"},
		{"http://[2001:DB8::1]:80/x", "2001:db8::1", "/x"},
		{"ftp+x://www.example.id", "example.id", ""},
		{"1http://example.id/", "1http", "//example.id/"}, // not a scheme: a host and its empty port
		{"/path", "", "/path"},
		{"www.", "", ""},
		{"WWW.Example.ID.", "example.id", ""},
	}
	for _, tc := range tests {
		if h, r := locationHost(tc.in); h != tc.host || r != tc.rest {
			t.Errorf("locationHost(%q) = %q, %q; want %q, %q", tc.in, h, r, tc.host, tc.rest)
		}
	}
}

func TestHostPatternErrors(t *testing.T) {
	tests := []struct{ row, err string }{
		{"x,nat,,header.location,host,http://block.example/,5,,t,,", `field "pattern": host pattern "http://block.example/" has a scheme`},
		{"x,nat,,header.location,host,/blocked,5,,t,,", `field "pattern": host pattern "/blocked" has a scheme or no host`},
		{"x,nat,,header.location,host,block.example/?u=,5,,t,,", `field "pattern": host pattern "block.example/?u=" contains`},
		{"x,nat,,header.location,host,www.,5,,t,,", `field "pattern": host pattern has an empty host`},
		{"x,nat,,body,host,block.example,5,,t,,", `field "pattern_type": type host is for header.location only, not "body"`},
	}
	for _, tc := range tests {
		_, err := Load(strings.NewReader(strings.Join(columns, ",")+"\n"+tc.row+"\n"), "row")
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error = %v, want it to contain %q", tc.row, err, tc.err)
		}
	}
}
