package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// An enrolment code lets a new probe fetch its token once (POST /api/v1/enrol, `probe
// enroll`). It is short enough to read out and type: 15 bytes in 24 characters of base32
// (A-Z, 2-7), shown in groups of four. The bytes are the code's expiry (Unix minutes, 4),
// a random nonce (4) and the first 7 bytes of an HMAC-SHA256, keyed by a key derived from
// the collector's secret, over the expiry, the nonce and the claims the operator gave at
// issue. The claims travel beside the code (the `probe enroll` command line holds them),
// so the collector keeps no table of pending codes, and a code is worth nothing with
// other claims. Guessing the 56-bit MAC through the rate-limited endpoint is hopeless.
// The code is not the token: it only asks for one, once (the collector records the code
// IDs used), and it expires.
const (
	codeBytes    = 15
	codeMACBytes = 7
	// MaxCodeLen bounds a code as typed (dashes and spaces included).
	MaxCodeLen = 64
	// DefaultCodeTTL is how long a code is valid when its issuer does not say.
	DefaultCodeTTL = 24 * time.Hour
	// MaxCodeTTL bounds a code's validity: the record of a used code must outlive it.
	MaxCodeTTL = 30 * 24 * time.Hour
)

// Enrolment errors (use errors.Is).
var (
	ErrBadCode     = errors.New("invalid enrolment code")
	ErrCodeExpired = errors.New("enrolment code expired")
)

var codeEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// Enrolment is what a valid code entitles its holder to: a token with Claims.
type Enrolment struct {
	Claims  Claims    // probe, network, country, ASN as the operator gave them
	ID      string    // the code's ID: recorded when used, so it is used once
	Expires time.Time // the code's expiry (whole minutes)
}

// TokenID is the ID of the token the enrolment issues: derived from the code's ID, so the
// operator can revoke it (`collector token revoke`) from the moment the code is issued.
func (e Enrolment) TokenID() string { return "enrol-" + e.ID }

// IssueCode returns an enrolment code for c (probe, network, country and ASN; the other
// claims are ignored) that expires at expires (rounded down to the minute), and the
// Enrolment it stands for.
func IssueCode(secret []byte, c Claims, now, expires time.Time) (string, Enrolment, error) {
	if err := checkSecret(secret); err != nil {
		return "", Enrolment{}, err
	}
	c = Claims{Probe: c.Probe, Network: c.Network, Country: c.Country, ASN: c.ASN}
	if err := c.Validate(); err != nil {
		return "", Enrolment{}, err
	}
	exp := expires.Truncate(time.Minute)
	switch {
	case !exp.After(now):
		return "", Enrolment{}, fmt.Errorf("expires %s: want a time at least a minute ahead", expires.UTC().Format(time.RFC3339))
	case exp.Sub(now) > MaxCodeTTL:
		return "", Enrolment{}, fmt.Errorf("expires %s: more than %s ahead", expires.UTC().Format(time.RFC3339), MaxCodeTTL)
	}
	var b [codeBytes]byte
	binary.BigEndian.PutUint32(b[:4], uint32(exp.Unix()/60))
	_, _ = rand.Read(b[4:8]) // crypto/rand.Read never fails (Go 1.24+)
	copy(b[8:], codeMAC(secret, b[:8], c))
	return formatCode(codeEnc.EncodeToString(b[:])), enrolmentOf(b[:8], c), nil
}

// VerifyCode checks code against the claims given with it, at now. Errors wrap ErrBadCode
// (malformed, or not issued for these claims) or ErrCodeExpired. Whether the code was
// already used is the caller's to check, by the Enrolment's ID.
func VerifyCode(secret []byte, code string, c Claims, now time.Time) (Enrolment, error) {
	if len(code) > MaxCodeLen {
		return Enrolment{}, fmt.Errorf("%w: longer than %d characters", ErrBadCode, MaxCodeLen)
	}
	norm := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	b, err := codeEnc.DecodeString(norm)
	if err != nil || len(b) != codeBytes {
		return Enrolment{}, fmt.Errorf("%w: want %d letters and digits 2-7 (dashes optional)", ErrBadCode, codeEnc.EncodedLen(codeBytes))
	}
	c = Claims{Probe: c.Probe, Network: c.Network, Country: c.Country, ASN: c.ASN}
	if err := c.Validate(); err != nil {
		return Enrolment{}, fmt.Errorf("%w: %w", ErrBadCode, err)
	}
	if !hmac.Equal(b[8:], codeMAC(secret, b[:8], c)) {
		return Enrolment{}, fmt.Errorf("%w: not issued for probe %q with these claims", ErrBadCode, c.Probe)
	}
	e := enrolmentOf(b[:8], c)
	if !now.Before(e.Expires) {
		return Enrolment{}, fmt.Errorf("%w at %s", ErrCodeExpired, e.Expires.Format(time.RFC3339))
	}
	return e, nil
}

func enrolmentOf(head []byte, c Claims) Enrolment {
	exp := time.Unix(int64(binary.BigEndian.Uint32(head[:4]))*60, 0).UTC()
	return Enrolment{Claims: c, ID: strings.ToLower(codeEnc.EncodeToString(head)), Expires: exp}
}

// codeMAC is the code's MAC over its head (expiry and nonce) and the claims, keyed apart
// from the token signatures so that no token MAC can serve as a code and the reverse.
func codeMAC(secret, head []byte, c Claims) []byte {
	k := hmac.New(sha256.New, secret)
	k.Write([]byte("pantau enrolment code key v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write(head)
	// Fields are separated by NUL, which no claim may contain.
	m.Write([]byte("\x00" + c.Probe + "\x00" + c.Network + "\x00" + c.Country + "\x00" + strconv.FormatUint(uint64(c.ASN), 10)))
	return m.Sum(nil)[:codeMACBytes]
}

// formatCode groups a code in fours: "ABCD-EFGH-…".
func formatCode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}
