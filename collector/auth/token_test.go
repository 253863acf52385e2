package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	secret = []byte("0123456789abcdef0123456789abcdef") // 32 bytes
	now    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func mustIssue(t *testing.T, c Claims) string {
	t.Helper()
	tok, err := Issue(secret, c)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return tok
}

func mustVerifier(t *testing.T, revoked ...string) *Verifier {
	t.Helper()
	v, err := NewVerifier(secret, revoked)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// sign builds a token around any payload JSON, signed with key.
func sign(key []byte, payloadJSON string) string {
	signed := "pt1." + base64.RawURLEncoding.EncodeToString([]byte(payloadJSON))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestRoundTrip(t *testing.T) {
	c := validClaims()
	c.IssuedAt = now.Add(-time.Hour + 500*time.Millisecond)
	c.ExpiresAt = now.Add(time.Hour + 900*time.Millisecond)
	tok := mustIssue(t, c)
	if !strings.HasPrefix(tok, "pt1.") || strings.Count(tok, ".") != 2 {
		t.Fatalf("token %q: want pt1.PAYLOAD.SIG", tok)
	}
	got, err := mustVerifier(t).Verify(tok, now)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := c
	want.IssuedAt = now.Add(-time.Hour)
	want.ExpiresAt = now.Add(time.Hour)
	if got != want {
		t.Errorf("Verify = %+v, want %+v", got, want)
	}
	// The token is deterministic for fixed claims.
	if again := mustIssue(t, got); again != tok {
		t.Errorf("re-issued token differs:\n%s\n%s", again, tok)
	}
}

func TestIssueDefaults(t *testing.T) {
	c := validClaims()
	c.IssuedAt, c.ID = time.Time{}, ""
	before := time.Now().Truncate(time.Second)
	got, err := mustVerifier(t).Verify(mustIssue(t, c), now)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.IssuedAt.Before(before) || got.IssuedAt.After(time.Now()) {
		t.Errorf("IssuedAt = %v, want about now", got.IssuedAt)
	}
	if len(got.ID) != 26 || !got.ExpiresAt.IsZero() {
		t.Errorf("ID = %q, ExpiresAt = %v: want a generated id and no expiry", got.ID, got.ExpiresAt)
	}
}

func TestIssueErrors(t *testing.T) {
	bad := validClaims()
	bad.Country = "indonesia"
	tests := []struct {
		name   string
		secret []byte
		c      Claims
		want   string
	}{
		{"short secret", secret[:31], validClaims(), "secret: want at least 32 bytes, got 31"},
		{"nil secret", nil, validClaims(), "secret: want at least 32 bytes, got 0"},
		{"bad claims", secret, bad, `country "indonesia": want a two-letter ISO 3166 code`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Issue(tt.secret, tt.c)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Issue error = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := NewVerifier(secret[:10], nil); err == nil || err.Error() != "secret: want at least 32 bytes, got 10" {
		t.Errorf("NewVerifier error = %v", err)
	}
}

func TestVerifyErrors(t *testing.T) {
	good := mustIssue(t, validClaims())
	payload, sig := good[4:strings.LastIndexByte(good, '.')], good[strings.LastIndexByte(good, '.')+1:]
	otherSecret := []byte(strings.Repeat("z", 32))
	expiring := validClaims()
	expiring.ExpiresAt = now
	// A valid payload with one character changed: still base64, JSON differs.
	altered := []byte(payload)
	altered[10] ^= 1
	sigBytes, _ := base64.RawURLEncoding.DecodeString(sig)
	sigBytes[0] ^= 1

	tests := []struct {
		name    string
		token   string
		wantErr error
		wantMsg string
	}{
		{"empty", "", ErrMissing, "missing token"},
		{"too long", "pt1." + strings.Repeat("A", MaxTokenLen), ErrMalformed, "malformed token: longer than 4096 bytes"},
		{"wrong prefix", "pt2." + payload + "." + sig, ErrMalformed, `malformed token: want prefix "pt1."`},
		{"jwt", "eyJhbGciOiJIUzI1NiJ9.e30.sig", ErrMalformed, `malformed token: want prefix "pt1."`},
		{"two parts", "pt1." + payload, ErrMalformed, "malformed token: want 3 parts separated by dots"},
		{"four parts", "pt1." + payload + ".x." + sig, ErrMalformed, "malformed token: want 3 parts separated by dots"},
		{"prefix only", "pt1.", ErrMalformed, "malformed token: want 3 parts separated by dots"},
		{"signature not base64", "pt1." + payload + ".!!!", ErrMalformed,
			fmt.Sprintf("malformed token: byte '!' at %d is not base64url", len(payload)+5)},
		{"signature padded", "pt1." + payload + "." + sig + "=", ErrMalformed,
			fmt.Sprintf("malformed token: byte '=' at %d is not base64url", len(good))},
		{"newline in signature", "pt1." + payload + "." + sig[:2] + "\n" + sig[2:], ErrMalformed,
			fmt.Sprintf("malformed token: byte '\\n' at %d is not base64url", len(payload)+7)},
		{"signature not canonical", "pt1." + payload + "." + sig[:42] + "B", ErrMalformed, "malformed token: signature is not base64url"},
		{"signature short", "pt1." + payload + "." + sig[:20], ErrMalformed, "malformed token: signature is 15 bytes, want 32"},
		{"payload altered", "pt1." + string(altered) + "." + sig, ErrBadSignature, "bad token signature"},
		{"signature altered", "pt1." + payload + "." + base64.RawURLEncoding.EncodeToString(sigBytes), ErrBadSignature, "bad token signature"},
		{"other secret", sign(otherSecret, `{"probe":"x"}`), ErrBadSignature, "bad token signature"},
		{"payload not base64", "pt1.%%%." + sig, ErrMalformed, "malformed token: byte '%' at 4 is not base64url"},
		{"signed payload not base64", signRaw("pt1.A"), ErrMalformed, "malformed token: payload is not base64url"},
		{"signed bad JSON", sign(secret, `{"probe":`), ErrMalformed, "malformed token: payload: unexpected EOF"},
		{"signed unknown field", sign(secret, `{"probe":"a","admin":true}`), ErrMalformed,
			`malformed token: payload: json: unknown field "admin"`},
		{"signed trailing data", sign(secret, `{"probe":"a"} {}`), ErrMalformed, "malformed token: payload: data after the JSON object"},
		{"signed no iat", sign(secret, `{"probe":"a","network":"n","country":"ID","asn":1,"jti":"x"}`), ErrMalformed,
			"malformed token: payload: want iat > 0, exp ≥ 0 and a jti"},
		{"signed no jti", sign(secret, `{"probe":"a","network":"n","country":"ID","asn":1,"iat":5}`), ErrMalformed,
			"malformed token: payload: want iat > 0, exp ≥ 0 and a jti"},
		{"signed bad claim", sign(secret, `{"probe":"a","network":"n","country":"id","asn":1,"iat":5,"jti":"x"}`), ErrMalformed,
			`malformed token: country "id": want upper case "ID"`},
		{"signed asn overflow", sign(secret, `{"probe":"a","network":"n","country":"ID","asn":4294967296,"iat":5,"jti":"x"}`), ErrMalformed,
			"malformed token: payload: json: cannot unmarshal number 4294967296 into Go struct field wireClaims.asn of type uint32"},
		{"expired", mustIssue(t, expiring), ErrExpired, "token expired at 2026-03-01T12:00:00Z"},
	}
	v := mustVerifier(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(tt.token, now)
			if !errors.Is(err, tt.wantErr) || err.Error() != tt.wantMsg {
				t.Errorf("Verify error = %v, want %q wrapping %v", err, tt.wantMsg, tt.wantErr)
			}
			if c != (Claims{}) {
				t.Errorf("Verify returned claims %+v with an error", c)
			}
		})
	}
	// One second before expiry the same token is valid.
	if _, err := v.Verify(mustIssue(t, expiring), now.Add(-time.Second)); err != nil {
		t.Errorf("Verify before expiry: %v", err)
	}
}

// signRaw signs an arbitrary "pt1.X" string.
func signRaw(signed string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestRevocation(t *testing.T) {
	a := validClaims()
	b := validClaims()
	b.ID = "tok2"
	other := validClaims()
	other.Probe, other.ID = "sby-02", "tok3"
	tokA, tokB, tokOther := mustIssue(t, a), mustIssue(t, b), mustIssue(t, other)

	tests := []struct {
		name    string
		revoked []string
		wantErr map[string]string // token -> error message ("" = valid)
	}{
		{"none", nil, map[string]string{tokA: "", tokB: "", tokOther: ""}},
		{"one token", []string{"id:tok1"}, map[string]string{tokA: `token revoked: id "tok1"`, tokB: "", tokOther: ""}},
		{"whole probe", []string{"probe:jkt-01"}, map[string]string{
			tokA: `token revoked: probe "jkt-01"`, tokB: `token revoked: probe "jkt-01"`, tokOther: ""}},
		{"both forms", []string{"probe:sby-02", "id:tok2"}, map[string]string{
			tokA: "", tokB: `token revoked: id "tok2"`, tokOther: `token revoked: probe "sby-02"`}},
		{"id is not a probe", []string{"id:jkt-01"}, map[string]string{tokA: "", tokB: "", tokOther: ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mustVerifier(t, tt.revoked...)
			for tok, want := range tt.wantErr {
				_, err := v.Verify(tok, now)
				switch {
				case want == "" && err != nil:
					t.Errorf("Verify: %v, want valid", err)
				case want != "" && (!errors.Is(err, ErrRevoked) || err.Error() != want):
					t.Errorf("Verify error = %v, want %q", err, want)
				}
			}
		})
	}
}

func TestSetRevoked(t *testing.T) {
	v := mustVerifier(t)
	tok := mustIssue(t, validClaims())
	if err := v.SetRevoked([]string{"probe:jkt-01"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok, now); !errors.Is(err, ErrRevoked) {
		t.Errorf("after SetRevoked: %v, want ErrRevoked", err)
	}
	for i, bad := range []string{"jkt-01", "probe:", "probe:JKT", "id:a b", "token:x", ""} {
		err := v.SetRevoked([]string{"id:ok", bad})
		want := `revoked[1] "` + bad + `": want "id:TOKENID" or "probe:PROBEID"`
		if err == nil || err.Error() != want {
			t.Errorf("%d: SetRevoked error = %v, want %q", i, err, want)
		}
	}
	// A bad list leaves the previous one in force.
	if _, err := v.Verify(tok, now); !errors.Is(err, ErrRevoked) {
		t.Errorf("after a rejected SetRevoked: %v, want ErrRevoked", err)
	}
	if err := v.SetRevoked(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok, now); err != nil {
		t.Errorf("after clearing: %v", err)
	}
	if _, err := NewVerifier(secret, []string{"x"}); err == nil || err.Error() != `revoked[0] "x": want "id:TOKENID" or "probe:PROBEID"` {
		t.Errorf("NewVerifier error = %v", err)
	}
}

// TestConcurrent runs Verify and SetRevoked together (meaningful under -race).
func TestConcurrent(t *testing.T) {
	v := mustVerifier(t)
	tok := mustIssue(t, validClaims())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, err := v.Verify(tok, now); err != nil && !errors.Is(err, ErrRevoked) {
					t.Errorf("Verify: %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			lists := [][]string{nil, {"probe:jkt-01"}}
			if err := v.SetRevoked(lists[i%2]); err != nil {
				t.Errorf("SetRevoked: %v", err)
				return
			}
		}
	})
	wg.Wait()
}

func TestSecretCopied(t *testing.T) {
	s := append([]byte(nil), secret...)
	v, err := NewVerifier(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	s[0] ^= 1
	if _, err := v.Verify(mustIssue(t, validClaims()), now); err != nil {
		t.Errorf("Verify after the caller changed its slice: %v", err)
	}
}
