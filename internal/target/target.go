// Package target parses what Pantau is asked to measure: a bare domain (meaning
// https://DOMAIN/), an http(s) URL, or tcp://HOST:PORT for a connect-only check, and
// reads target files (one per line, or a Citizen Lab test-list CSV).
package target

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// Target is one thing to measure.
type Target struct {
	Raw    string   // as given
	Kind   string   // measurement.KindWeb or measurement.KindTCP
	URL    *url.URL // normalised URL (scheme http, https or tcp), its host in A-labels
	Domain string   // host name, lower case, A-labels for an IDN (xn--…), or an IP literal
	Port   int
	// Category is the Citizen Lab category code when the target came from a test list.
	Category string
}

// String returns the normalised target.
func (t Target) String() string { return t.URL.String() }

// Input returns the target as given when it is not plain ASCII (an internationalised
// name in Unicode, say), for the measurement's input; "" when it was ASCII, since then
// the normalised target says the same.
func (t Target) Input() string {
	s := strings.TrimSpace(t.Raw)
	if isASCII(s) {
		return ""
	}
	return s
}

// IsIP reports whether the target host is an IP literal.
func (t Target) IsIP() bool {
	_, err := netip.ParseAddr(t.Domain)
	return err == nil
}

// Parse parses one target. The error names the target and what is wrong with it.
func Parse(raw string) (Target, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return Target{}, fmt.Errorf("target %q: empty", raw)
	}
	if !strings.Contains(s, "://") {
		if strings.ContainsAny(s, "/?#@ ") {
			return Target{}, fmt.Errorf("target %q: not a domain; give a URL with a scheme", raw)
		}
		s = "https://" + s + "/"
	}
	u, err := url.Parse(s)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", raw, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Hostname() == "" {
		return Target{}, fmt.Errorf("target %q: no host", raw)
	}
	host, err := Host(u.Hostname())
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", raw, err)
	}
	t := Target{Raw: raw, Domain: host}
	portStr := u.Port()
	switch u.Scheme {
	case "http", "https":
		t.Kind = measurement.KindWeb
		t.Port = 443
		if u.Scheme == "http" {
			t.Port = 80
		}
		if u.Path == "" {
			u.Path = "/"
		}
	case "tcp":
		t.Kind = measurement.KindTCP
		if portStr == "" {
			return Target{}, fmt.Errorf("target %q: tcp target needs a port (tcp://HOST:PORT)", raw)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return Target{}, fmt.Errorf("target %q: tcp target takes only HOST:PORT", raw)
		}
		u.Path = ""
	default:
		return Target{}, fmt.Errorf("target %q: unsupported scheme %q (want http, https or tcp)", raw, u.Scheme)
	}
	if portStr != "" {
		p, err := strconv.Atoi(portStr)
		if err != nil || p < 1 || p > 65535 {
			return Target{}, fmt.Errorf("target %q: bad port %q", raw, portStr)
		}
		t.Port = p
	}
	u.Host = host
	if portStr != "" {
		u.Host = net.JoinHostPort(host, portStr)
	} else if strings.Contains(host, ":") {
		u.Host = "[" + host + "]"
	}
	t.URL = u
	return t, nil
}

// idnaProfile converts internationalised names for lookup (RFC 5891 section 5, UTS #46
// non-transitional mapping: case folded, width and compatibility forms mapped) and checks
// the Bidi rule (RFC 5893). Like browsers it allows '_' and "--" in the third and fourth
// positions of ASCII labels (r3---sn-abc.googlevideo.com), which checkDomain judges.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false),
	idna.StrictDomainName(false), idna.CheckHyphens(false))

// Host returns the lookup form of a host name or IP literal: lower case, without a
// trailing dot, an internationalised name in A-labels (bérita.example becomes
// xn--brita-bsa.example, ЯНДЕКС.РФ becomes xn--d1acpjx3f.xn--p1ai) and A-labels
// checked to decode to a valid name. The error says what is wrong with the name.
func Host(h string) (string, error) {
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", fmt.Errorf("no host")
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return strings.ToLower(h), nil
	}
	lower := strings.ToLower(h)
	if !isASCII(h) || strings.HasPrefix(lower, "xn--") || strings.Contains(lower, ".xn--") {
		if !utf8.ValidString(h) {
			return "", fmt.Errorf("domain is not valid UTF-8")
		}
		a, err := idnaProfile.ToASCII(h)
		if err != nil {
			return "", fmt.Errorf("invalid internationalised domain name: %w", err)
		}
		lower = strings.TrimSuffix(a, ".")
	}
	if err := checkDomain(lower); err != nil {
		return "", err
	}
	return lower, nil
}

// isASCII reports whether s is plain ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// checkDomain validates a host name's syntax (RFC 1123 labels, underscores allowed as
// they occur in the wild).
func checkDomain(h string) error {
	if len(h) > 253 {
		return fmt.Errorf("domain longer than 253 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("bad domain label %q", label)
		}
		for i, c := range label {
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' && i > 0 && i < len(label)-1
			if !ok {
				return fmt.Errorf("bad character %q in domain label %q", c, label)
			}
		}
	}
	return nil
}
