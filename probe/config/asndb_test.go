package config

import "testing"

func TestASNDatabase(t *testing.T) {
	for _, c := range []struct{ asnDB, want string }{
		{"none", ""},
		{"testdata/asn.mmdb", "testdata/asn.mmdb"},
	} {
		if got := (&Config{ASNDB: c.asnDB}).ASNDatabase(); got != c.want {
			t.Errorf("asn_db %q: ASNDatabase() = %q, want %q", c.asnDB, got, c.want)
		}
	}
}
