package auth

import (
	"errors"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary tokens to Verify: it must never panic, must return exactly
// one of the sentinel errors, and whatever it accepts must be the token Issue makes
// from the claims it returned (so nothing but our own tokens verifies).
func FuzzVerify(f *testing.F) {
	c := validClaims()
	c.ExpiresAt = now.Add(24 * 3600e9)
	good, err := Issue(secret, c)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		good, "", "pt1.", "pt1..", "pt1.a.b", "pt1.e30." + strings.Repeat("A", 43), good + "x",
		strings.Replace(good, "pt1.", "pt2.", 1), good[:len(good)-2], "pt1.%%%.%%%",
		sign(secret, `{"probe":"a","network":"n","country":"ID","asn":1,"iat":5,"jti":"x"}`),
		sign(secret, `{"probe":"a","network":"n","country":"ID","asn":1,"iat":5,"exp":-1,"jti":"x"}`),
		sign(secret, `[]`), sign(secret, `null`), sign(secret, `{"asn":1e99}`),
	} {
		f.Add(s)
	}
	v, err := NewVerifier(secret, []string{"id:revoked", "probe:gone"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		got, err := v.Verify(token, now)
		if err != nil {
			n := 0
			for _, s := range []error{ErrMissing, ErrMalformed, ErrBadSignature, ErrExpired, ErrRevoked} {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 || got != (Claims{}) {
				t.Fatalf("Verify(%q) = %+v, %v: want zero claims and one sentinel", token, got, err)
			}
			return
		}
		again, err := Issue(secret, got)
		if err != nil || again != token {
			t.Fatalf("Verify accepted %q but Issue(%+v) = %q, %v", token, got, again, err)
		}
	})
}
