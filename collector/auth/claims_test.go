package auth

import (
	"strings"
	"testing"
	"time"
)

func validClaims() Claims {
	return Claims{Probe: "jkt-01", Network: "Telkomsel", Country: "ID", ASN: 23693,
		IssuedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ID: "tok1"}
}

func TestValidate(t *testing.T) {
	iat := validClaims().IssuedAt
	tests := []struct {
		name   string
		modify func(*Claims)
		want   string // "" = valid
	}{
		{"valid", func(*Claims) {}, ""},
		{"probe with dots", func(c *Claims) { c.Probe = "a.b_c-9" }, ""},
		{"probe 63", func(c *Claims) { c.Probe = strings.Repeat("a", 63) }, ""},
		{"probe 64", func(c *Claims) { c.Probe = strings.Repeat("a", 64) },
			`probe "` + strings.Repeat("a", 64) + `": want 1-63 characters of [a-z0-9._-], starting with a letter or digit`},
		{"probe empty", func(c *Claims) { c.Probe = "" },
			`probe "": want 1-63 characters of [a-z0-9._-], starting with a letter or digit`},
		{"probe upper", func(c *Claims) { c.Probe = "Jkt" },
			`probe "Jkt": want 1-63 characters of [a-z0-9._-], starting with a letter or digit`},
		{"probe leading dash", func(c *Claims) { c.Probe = "-x" },
			`probe "-x": want 1-63 characters of [a-z0-9._-], starting with a letter or digit`},
		{"probe slash", func(c *Claims) { c.Probe = "a/b" },
			`probe "a/b": want 1-63 characters of [a-z0-9._-], starting with a letter or digit`},
		{"network inner spaces", func(c *Claims) { c.Network = "Indosat Ooredoo" }, ""},
		{"network 253", func(c *Claims) { c.Network = strings.Repeat("a", 253) }, ""},
		{"network 254", func(c *Claims) { c.Network = strings.Repeat("a", 254) },
			`network "` + strings.Repeat("a", 254) + `": want ` + NetworkRule},
		{"network parentheses", func(c *Claims) { c.Network = "XL Axiata (Tbk)" }, `network "XL Axiata (Tbk)": want 1 to 253 of letters, digits, '.', '_', '-' and single inner spaces`},
		{"network unicode", func(c *Claims) { c.Network = "Biznet Gio – Jakarta" }, `network "Biznet Gio – Jakarta": want ` + NetworkRule},
		{"network two spaces", func(c *Claims) { c.Network = "Indosat  Ooredoo" }, `network "Indosat  Ooredoo": want ` + NetworkRule},
		{"network leading space", func(c *Claims) { c.Network = " XL" }, `network " XL": want ` + NetworkRule},
		{"network empty", func(c *Claims) { c.Network = "" }, `network "": want ` + NetworkRule},
		{"network newline", func(c *Claims) { c.Network = "a\nb" }, `network "a\nb": want ` + NetworkRule},
		{"network bidi", func(c *Claims) { c.Network = "a\u202eb" }, `network "a\u202eb": want ` + NetworkRule},
		{"network bad utf8", func(c *Claims) { c.Network = "a\xffb" }, `network "a\xffb": want ` + NetworkRule},
		{"country word", func(c *Claims) { c.Country = "indonesia" }, `country "indonesia": want a two-letter ISO 3166 code`},
		{"country empty", func(c *Claims) { c.Country = "" }, `country "": want a two-letter ISO 3166 code`},
		{"country lower", func(c *Claims) { c.Country = "id" }, `country "id": want upper case "ID"`},
		{"country unassigned", func(c *Claims) { c.Country = "XX" }, `country "XX": not an assigned ISO 3166 code`},
		{"country Kosovo", func(c *Claims) { c.Country = "XK" }, ""},
		{"asn 0", func(c *Claims) { c.ASN = 0 }, `asn 0: want 1..4294967294`},
		{"asn max", func(c *Claims) { c.ASN = 4294967295 }, `asn 4294967295: want 1..4294967294`},
		{"asn 4-byte", func(c *Claims) { c.ASN = 4294967294 }, ""},
		{"issued zero", func(c *Claims) { c.IssuedAt = time.Time{} }, ""},
		{"issued 1960", func(c *Claims) { c.IssuedAt = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) },
			`issued 1960-01-01T00:00:00Z: want a time after 1970`},
		{"expires later", func(c *Claims) { c.ExpiresAt = iat.Add(time.Second) }, ""},
		{"expires same second", func(c *Claims) { c.ExpiresAt = iat.Add(time.Millisecond) },
			`expires 2026-01-02T03:04:05Z: want a time after issued 2026-01-02T03:04:05Z`},
		{"expires before", func(c *Claims) { c.ExpiresAt = iat.Add(-time.Hour) },
			`expires 2026-01-02T02:04:05Z: want a time after issued 2026-01-02T03:04:05Z`},
		{"id empty", func(c *Claims) { c.ID = "" }, ""},
		{"id generated", func(c *Claims) { c.ID = NewID() }, ""},
		{"id colon", func(c *Claims) { c.ID = "a:b" }, `id "a:b": want 1-64 characters of [A-Za-z0-9_-]`},
		{"id 65", func(c *Claims) { c.ID = strings.Repeat("A", 65) },
			`id "` + strings.Repeat("A", 65) + `": want 1-64 characters of [A-Za-z0-9_-]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validClaims()
			tt.modify(&c)
			err := c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCountryList(t *testing.T) {
	codes := strings.Fields(iso3166)
	if len(codes) != 250 {
		t.Errorf("%d codes, want 249 assigned + XK", len(codes))
	}
	seen := map[string]bool{}
	for i, cc := range codes {
		if seen[cc] || len(cc) != 2 || i > 0 && cc <= codes[i-1] {
			t.Errorf("code %q at %d: duplicate, not two letters or out of order", cc, i)
		}
		seen[cc] = true
		if !knownCountry(cc) {
			t.Errorf("knownCountry(%q) = false", cc)
		}
	}
	for _, cc := range []string{"", "I", "IDN", "D ", " A", "AA", "UK", "EU"} {
		if knownCountry(cc) {
			t.Errorf("knownCountry(%q) = true", cc)
		}
	}
}

func TestNewID(t *testing.T) {
	a, b := NewID(), NewID()
	if a == b || !validID(a) || len(a) != 26 {
		t.Errorf("NewID() = %q, %q: want distinct valid 26-character ids", a, b)
	}
}
