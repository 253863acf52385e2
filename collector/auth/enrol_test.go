package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var enrolClaims = Claims{Probe: "jkt-02", Network: "Indosat Ooredoo", Country: "ID", ASN: 4761}

func TestEnrolmentCode(t *testing.T) {
	code, issued, err := IssueCode(secret, enrolClaims, now, now.Add(DefaultCodeTTL))
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != 29 || strings.Count(code, "-") != 5 {
		t.Fatalf("code %q: want 6 groups of 4", code)
	}
	if strings.Contains(code, "pt1.") || issued.TokenID() != "enrol-"+issued.ID || !issued.Expires.Equal(now.Add(DefaultCodeTTL)) {
		t.Fatalf("issued %+v", issued)
	}
	other := func(f func(*Claims)) Claims { c := enrolClaims; f(&c); return c }
	for _, tc := range []struct {
		name   string
		code   string
		claims Claims
		at     time.Time
		want   error
	}{
		{"as issued", code, enrolClaims, now, nil},
		{"typed in lower case without dashes", strings.ToLower(strings.ReplaceAll(code, "-", "")), enrolClaims, now, nil},
		{"with spaces", strings.ReplaceAll(code, "-", " "), enrolClaims, now.Add(time.Hour), nil},
		{"another probe", code, other(func(c *Claims) { c.Probe = "jkt-03" }), now, ErrBadCode},
		{"another network", code, other(func(c *Claims) { c.Network = "Telkomsel" }), now, ErrBadCode},
		{"another country", code, other(func(c *Claims) { c.Country = "MY" }), now, ErrBadCode},
		{"another ASN", code, other(func(c *Claims) { c.ASN = 4762 }), now, ErrBadCode},
		{"invalid claims", code, other(func(c *Claims) { c.Network = "XL (Tbk)" }), now, ErrBadCode},
		{"one character changed", flip(code), enrolClaims, now, ErrBadCode},
		{"too short", code[:20], enrolClaims, now, ErrBadCode},
		{"not base32", strings.Repeat("1", 24), enrolClaims, now, ErrBadCode},
		{"too long", strings.Repeat("A", MaxCodeLen+1), enrolClaims, now, ErrBadCode},
		{"empty", "", enrolClaims, now, ErrBadCode},
		{"a token", mustIssue(t, enrolClaims), enrolClaims, now, ErrBadCode},
		{"at expiry", code, enrolClaims, now.Add(DefaultCodeTTL), ErrCodeExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := VerifyCode(secret, tc.code, tc.claims, tc.at)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if tc.want == nil && (e.ID != issued.ID || e.Claims != enrolClaims) {
				t.Fatalf("enrolment %+v, want %+v", e, issued)
			}
		})
	}
	if _, err := VerifyCode([]byte("another-secret-0123456789abcdef-0123"), code, enrolClaims, now); !errors.Is(err, ErrBadCode) {
		t.Fatalf("another secret: %v", err)
	}
}

// flip changes the code's last character to another base32 letter.
func flip(code string) string {
	last := code[len(code)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return code[:len(code)-1] + string(repl)
}

func TestIssueCodeRefuses(t *testing.T) {
	bad := enrolClaims
	bad.Country = "id"
	for _, tc := range []struct {
		name    string
		c       Claims
		expires time.Time
		want    string
	}{
		{"in the past", enrolClaims, now.Add(-time.Minute), "at least a minute ahead"},
		{"within the minute", enrolClaims, now.Add(30 * time.Second), "at least a minute ahead"},
		{"too far", enrolClaims, now.Add(MaxCodeTTL + time.Hour), "more than 720h0m0s ahead"},
		{"bad claim", bad, now.Add(time.Hour), `country "id"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := IssueCode(secret, tc.c, now, tc.expires); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCodesDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		_, e, err := IssueCode(secret, enrolClaims, now, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if seen[e.ID] {
			t.Fatalf("code ID %s issued twice", e.ID)
		}
		seen[e.ID] = true
	}
}

func TestStoredRevocations(t *testing.T) {
	v := mustVerifier(t, "probe:sby-01")
	a := mustIssue(t, Claims{Probe: "jkt-01", Network: "Telkomsel", Country: "ID", ASN: 23693, IssuedAt: now, ID: "tokA"})
	b := mustIssue(t, Claims{Probe: "jkt-02", Network: "Telkomsel", Country: "ID", ASN: 23693, IssuedAt: now, ID: "tokB"})
	if err := v.SetStoredRevoked([]string{"id:tokA"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(a, now); !errors.Is(err, ErrRevoked) {
		t.Fatalf("stored id revocation: %v", err)
	}
	if _, err := v.Verify(b, now); err != nil {
		t.Fatalf("unrevoked token: %v", err)
	}
	if !v.IsRevoked("x", "sby-01") || !v.IsRevoked("tokA", "y") || v.IsRevoked("tokB", "jkt-02") {
		t.Fatal("IsRevoked disagrees with the lists")
	}
	if err := v.SetStoredRevoked([]string{"tokB"}); err == nil {
		t.Fatal("a bad stored entry was accepted")
	}
	if _, err := v.Verify(a, now); !errors.Is(err, ErrRevoked) {
		t.Fatal("a bad list replaced the stored one")
	}
	// The configuration's list (SIGHUP) leaves the stored one alone.
	if err := v.SetRevoked(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(a, now); !errors.Is(err, ErrRevoked) {
		t.Fatal("SetRevoked dropped the stored list")
	}
}
