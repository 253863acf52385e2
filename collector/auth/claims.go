// Package auth authenticates Pantau probes to the collector without a database.
//
// The collector signs each probe's claims (probe id, network, country, ASN) with a secret
// (HMAC-SHA256) into a bearer token, so any replica that knows the secret can verify a
// token on its own. Revocation is a list in the collector's configuration. The package
// also checks the admin token and limits each probe's request rate. See docs/auth.md.
package auth

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"
)

// Claims is what a token says about the probe that holds it. The collector attributes
// every stored point to these claims, never to what a request body says.
type Claims struct {
	Probe     string    // probe id: [a-z0-9][a-z0-9._-]{0,62}
	Network   string    // operator-chosen network name, e.g. "Telkomsel" (ValidNetwork)
	Country   string    // ISO 3166-1 alpha-2, upper case
	ASN       uint32    // declared autonomous system, 1..4294967294
	IssuedAt  time.Time // whole seconds; Issue sets it to now when zero
	ExpiresAt time.Time // zero: the token never expires
	ID        string    // token id for revocation; Issue sets a random one when empty
}

// DefaultBackdateSlack is how long before its token was issued a measurement submitted
// with it may have started: longer is refused, so a new token cannot rewrite history
// (docs/auth.md, Backdating). A probe given a new token keeps a week of backlog.
const DefaultBackdateSlack = 7 * 24 * time.Hour

// Limits on claim values.
const (
	maxProbeLen = 63
	maxIDLen    = 64
)

// MaxNetworkLen is the longest network name, in bytes.
const MaxNetworkLen = 253

// NetworkRule says in words what ValidNetwork accepts, for error messages.
const NetworkRule = "1 to 253 of letters, digits, '.', '_', '-' and single inner spaces"

// NewID returns a random token id: 26 characters of base32 (128 bits).
func NewID() string { return rand.Text() }

// Validate checks every claim and returns an error naming the first bad field. IssuedAt
// may be zero and ID empty here: Issue fills them in (Verify requires both).
func (c Claims) Validate() error {
	if !validProbe(c.Probe) {
		return fmt.Errorf("probe %q: want 1-%d characters of [a-z0-9._-], starting with a letter or digit", c.Probe, maxProbeLen)
	}
	if !ValidNetwork(c.Network) {
		return fmt.Errorf("network %q: want %s", c.Network, NetworkRule)
	}
	if err := validCountry(c.Country); err != nil {
		return err
	}
	if c.ASN == 0 || c.ASN == 1<<32-1 {
		return fmt.Errorf("asn %d: want 1..4294967294", c.ASN)
	}
	if !c.IssuedAt.IsZero() && c.IssuedAt.Unix() <= 0 {
		return fmt.Errorf("issued %s: want a time after 1970", c.IssuedAt.UTC().Format(time.RFC3339))
	}
	if !c.ExpiresAt.IsZero() && !c.ExpiresAt.Truncate(time.Second).After(c.IssuedAt.Truncate(time.Second)) {
		return fmt.Errorf("expires %s: want a time after issued %s",
			c.ExpiresAt.UTC().Format(time.RFC3339), c.IssuedAt.UTC().Format(time.RFC3339))
	}
	if c.ID != "" && !validID(c.ID) {
		return fmt.Errorf("id %q: want 1-%d characters of [A-Za-z0-9_-]", c.ID, maxIDLen)
	}
	return nil
}

func validProbe(s string) bool {
	if len(s) == 0 || len(s) > maxProbeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// ValidNetwork reports whether s may name a network: 1 to MaxNetworkLen of ASCII
// letters, digits, '.', '_', '-' and single inner spaces ("Indosat Ooredoo"). It is the
// one rule of network names: a token is issued (Claims.Validate) and verified at ingest
// (Verifier.Verify) only with such a name, and the query APIs take only such a name
// (collector/store.ValidNetwork), so every network a probe can store under can be asked
// for. Anything else ("XL Axiata (Tbk)", non-ASCII letters, control characters) is
// refused where the token is issued.
func ValidNetwork(s string) bool {
	if s == "" || len(s) > MaxNetworkLen || s != strings.TrimSpace(s) || strings.Contains(s, "  ") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ' ') {
			return false
		}
	}
	return true
}

// validID accepts ids from NewID and any caller-chosen id of [A-Za-z0-9_-].
func validID(s string) bool {
	if len(s) == 0 || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
