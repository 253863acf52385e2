package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Token format: "pt1." + base64url(JSON claims) + "." + base64url(HMAC-SHA256(secret,
// "pt1." + payload)), base64url without padding.
const (
	prefix = "pt1."
	// MaxTokenLen bounds a token (and an Authorization header's credentials); longer
	// input is rejected before any decoding.
	MaxTokenLen = 4096
	// MinSecretLen is the shortest signing secret accepted.
	MinSecretLen = 32
)

// Verification errors; Verify and BearerToken wrap them with details (use errors.Is).
var (
	ErrMissing      = errors.New("missing token")
	ErrMalformed    = errors.New("malformed token")
	ErrBadSignature = errors.New("bad token signature")
	ErrExpired      = errors.New("token expired")
	ErrRevoked      = errors.New("token revoked")
)

var b64 = base64.RawURLEncoding.Strict()

// wireClaims is the JSON payload. Times are Unix seconds; exp 0 means no expiry.
type wireClaims struct {
	Probe     string `json:"probe"`
	Network   string `json:"network"`
	Country   string `json:"country"`
	ASN       uint32 `json:"asn"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp,omitempty"`
	ID        string `json:"jti"`
}

func checkSecret(secret []byte) error {
	if len(secret) < MinSecretLen {
		return fmt.Errorf("secret: want at least %d bytes, got %d", MinSecretLen, len(secret))
	}
	return nil
}

// Issue validates c and signs it into a token. A zero IssuedAt becomes now and an empty
// ID a fresh NewID(); times are truncated to whole seconds. To learn the id Issue chose,
// set it beforehand or Verify the token.
func Issue(secret []byte, c Claims) (string, error) {
	if err := checkSecret(secret); err != nil {
		return "", err
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	w := wireClaims{Probe: c.Probe, Network: c.Network, Country: c.Country, ASN: c.ASN,
		IssuedAt: c.IssuedAt.Unix(), ID: c.ID}
	if !c.ExpiresAt.IsZero() {
		w.ExpiresAt = c.ExpiresAt.Unix()
	}
	js, err := json.Marshal(w)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	signed := prefix + b64.EncodeToString(js)
	tok := signed + "." + b64.EncodeToString(mac(secret, signed))
	if len(tok) > MaxTokenLen {
		return "", fmt.Errorf("token is %d bytes, over the %d-byte limit", len(tok), MaxTokenLen)
	}
	return tok, nil
}

func mac(secret []byte, signed string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// Verifier checks tokens signed with one secret against a revocation list. It is safe
// for concurrent use; SetRevoked swaps the list atomically.
type Verifier struct {
	secret  []byte
	revoked atomic.Pointer[revocations]
	// stored is the list `collector token revoke` keeps in storage, refreshed apart from
	// the configuration's (SetStoredRevoked); a token is refused if either names it.
	stored atomic.Pointer[revocations]
}

type revocations struct {
	ids, probes map[string]bool
}

// NewVerifier returns a Verifier for secret (at least MinSecretLen bytes). Each revoked
// entry is "id:TOKENID" (one token) or "probe:PROBEID" (every token of that probe).
func NewVerifier(secret []byte, revoked []string) (*Verifier, error) {
	if err := checkSecret(secret); err != nil {
		return nil, err
	}
	v := &Verifier{secret: bytes.Clone(secret)}
	if err := v.SetRevoked(revoked); err != nil {
		return nil, err
	}
	return v, nil
}

// SetRevoked replaces the revocation list (for a SIGHUP reload). On an invalid entry it
// returns an error naming it and keeps the previous list.
func (v *Verifier) SetRevoked(revoked []string) error {
	r, err := parseRevoked(revoked)
	if err != nil {
		return err
	}
	v.revoked.Store(r)
	return nil
}

// SetStoredRevoked replaces the revocation list kept in storage (collector token revoke),
// which adds to the configuration's. On an invalid entry it returns an error naming it and
// keeps the previous list.
func (v *Verifier) SetStoredRevoked(revoked []string) error {
	r, err := parseRevoked(revoked)
	if err != nil {
		return err
	}
	v.stored.Store(r)
	return nil
}

// IsRevoked reports whether the token id, or every token of probe, is revoked.
func (v *Verifier) IsRevoked(id, probe string) bool {
	for _, r := range []*revocations{v.revoked.Load(), v.stored.Load()} {
		if r != nil && (r.ids[id] || r.probes[probe]) {
			return true
		}
	}
	return false
}

func parseRevoked(list []string) (*revocations, error) {
	r := &revocations{ids: map[string]bool{}, probes: map[string]bool{}}
	for i, e := range list {
		kind, val, _ := strings.Cut(e, ":")
		switch {
		case kind == "id" && validID(val):
			r.ids[val] = true
		case kind == "probe" && validProbe(val):
			r.probes[val] = true
		default:
			return nil, fmt.Errorf("revoked[%d] %q: want \"id:TOKENID\" or \"probe:PROBEID\"", i, e)
		}
	}
	return r, nil
}

// Verify checks token's form, signature, revocation and expiry at now, and returns its
// claims. Errors wrap ErrMissing, ErrMalformed, ErrBadSignature, ErrRevoked or
// ErrExpired. The signature is checked (in constant time) before the payload is decoded.
func (v *Verifier) Verify(token string, now time.Time) (Claims, error) {
	switch {
	case token == "":
		return Claims{}, ErrMissing
	case len(token) > MaxTokenLen:
		return Claims{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenLen)
	case !strings.HasPrefix(token, prefix):
		return Claims{}, fmt.Errorf("%w: want prefix %q", ErrMalformed, prefix)
	}
	// The base64 decoder skips \r and \n: allow only the alphabet, so that one set of
	// claims has exactly one token.
	for i := 0; i < len(token); i++ {
		if c := token[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return Claims{}, fmt.Errorf("%w: byte %q at %d is not base64url", ErrMalformed, c, i)
		}
	}
	signed, sig64, ok := cutLast(token)
	if !ok || strings.Contains(signed[len(prefix):], ".") {
		return Claims{}, fmt.Errorf("%w: want 3 parts separated by dots", ErrMalformed)
	}
	sig, err := b64.DecodeString(sig64)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	if len(sig) != sha256.Size {
		return Claims{}, fmt.Errorf("%w: signature is %d bytes, want %d", ErrMalformed, len(sig), sha256.Size)
	}
	if !hmac.Equal(sig, mac(v.secret, signed)) {
		return Claims{}, ErrBadSignature
	}
	c, err := decodePayload(signed[len(prefix):])
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	for _, r := range []*revocations{v.revoked.Load(), v.stored.Load()} {
		if r == nil {
			continue
		}
		if r.ids[c.ID] {
			return Claims{}, fmt.Errorf("%w: id %q", ErrRevoked, c.ID)
		}
		if r.probes[c.Probe] {
			return Claims{}, fmt.Errorf("%w: probe %q", ErrRevoked, c.Probe)
		}
	}
	if !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt) {
		return Claims{}, fmt.Errorf("%w at %s", ErrExpired, c.ExpiresAt.Format(time.RFC3339))
	}
	return c, nil
}

func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, '.')
	if i < len(prefix) {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

func decodePayload(p string) (Claims, error) {
	js, err := b64.DecodeString(p)
	if err != nil {
		return Claims{}, errors.New("payload is not base64url")
	}
	var w wireClaims
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Claims{}, fmt.Errorf("payload: %w", err)
	}
	if dec.More() {
		return Claims{}, errors.New("payload: data after the JSON object")
	}
	if w.IssuedAt <= 0 || w.ID == "" || w.ExpiresAt < 0 {
		return Claims{}, errors.New("payload: want iat > 0, exp ≥ 0 and a jti")
	}
	c := Claims{Probe: w.Probe, Network: w.Network, Country: w.Country, ASN: w.ASN,
		IssuedAt: time.Unix(w.IssuedAt, 0).UTC(), ID: w.ID}
	if w.ExpiresAt != 0 {
		c.ExpiresAt = time.Unix(w.ExpiresAt, 0).UTC()
	}
	if err := c.Validate(); err != nil {
		return Claims{}, err
	}
	return c, nil
}
