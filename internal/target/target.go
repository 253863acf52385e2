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

	"github.com/pantau-dev/pantau/internal/measurement"
)

// Target is one thing to measure.
type Target struct {
	Raw    string   // as given
	Kind   string   // measurement.KindWeb or measurement.KindTCP
	URL    *url.URL // normalised URL (scheme http, https or tcp)
	Domain string   // host name, lower case, or an IP literal
	Port   int
	// Category is the Citizen Lab category code when the target came from a test list.
	Category string
}

// String returns the normalised target.
func (t Target) String() string { return t.URL.String() }

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
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return Target{}, fmt.Errorf("target %q: no host", raw)
	}
	if _, err := netip.ParseAddr(host); err != nil {
		if err := checkDomain(host); err != nil {
			return Target{}, fmt.Errorf("target %q: %w", raw, err)
		}
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
