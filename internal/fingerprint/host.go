package fingerprint

import (
	"errors"
	"fmt"
	"strings"
)

// parseHost validates and normalises the pattern of a host fingerprint: "HOST" or
// "HOST/PATH-PREFIX", without a scheme. The host is kept in locationHost's normal form so
// that matching is one comparison.
func (fp *Fingerprint) parseHost() error {
	p := strings.TrimSpace(fp.Pattern)
	if strings.Contains(p, "://") || strings.HasPrefix(p, "/") {
		return fmt.Errorf("host pattern %q has a scheme or no host (want a host name and an optional path, e.g. lamanlabuh.aduankonten.id or internetbaik.telkomsel.com/block)", fp.Pattern)
	}
	if strings.ContainsAny(p, " \t?#@") {
		return fmt.Errorf("host pattern %q contains a space, '?', '#' or '@' (want a host name and an optional path)", fp.Pattern)
	}
	host, rest := locationHost(p)
	if host == "" {
		return errors.New("host pattern has an empty host")
	}
	fp.Pattern = p
	fp.host, fp.path = host, rest
	if fp.path == "/" {
		fp.path = "" // "host/" means the whole host
	}
	return nil
}

// redirectURLPrefix makes a header.location prefix pattern that is an absolute http(s)
// URL ("http://lamanlabuh.aduankonten.id", OONI's usual form) match like a host pattern:
// the same host over http or https, in any case, with or without "www.", and not a
// look-alike host that merely starts with it ("http://lamanlabuh.aduankonten.id.example").
// Other prefix patterns ("/blocked") keep plain prefix matching.
func (fp *Fingerprint) redirectURLPrefix() {
	if fp.PatternType != TypePrefix || fp.Location != LocHeader+"location" {
		return
	}
	p := strings.ToLower(fp.Pattern)
	if !strings.HasPrefix(p, "http://") && !strings.HasPrefix(p, "https://") {
		return
	}
	host, rest := locationHost(fp.Pattern)
	if host == "" {
		return
	}
	fp.host, fp.path = host, rest
	if fp.path == "/" {
		fp.path = ""
	}
}

// matchHost reports whether the Location value v redirects to the fingerprint's host
// (and, when the pattern has one, to a path starting with its path, case-sensitively).
func (fp *Fingerprint) matchHost(v string) bool {
	host, rest := locationHost(v)
	return host == fp.host && strings.HasPrefix(rest, fp.path)
}

// locationHost splits a Location value into its host and the rest (path, query,
// fragment). The host is lower case, without user info, port, trailing dot or a leading
// "www.". The scheme may be anything or missing: "HTTP://WWW.Example.ID:80/x",
// "//example.id/x" and "example.id/x" all give ("example.id", "/x"). A value starting with
// one "/" is a path on the same site and has no host. Redirect targets are compared by
// host, so "lamanlabuh.aduankonten.id.example" or "evil-lamanlabuh.aduankonten.id" is not
// "lamanlabuh.aduankonten.id".
func locationHost(v string) (host, rest string) {
	v = strings.TrimSpace(v)
	switch i := strings.Index(v, "://"); {
	case i > 0 && isScheme(v[:i]):
		v = v[i+3:]
	case strings.HasPrefix(v, "//"):
		v = v[2:]
	case strings.HasPrefix(v, "/"):
		return "", v
	}
	end := strings.IndexAny(v, "/?#")
	if end < 0 {
		end = len(v)
	}
	auth, rest := v[:end], v[end:]
	if i := strings.LastIndexByte(auth, '@'); i >= 0 {
		auth = auth[i+1:]
	}
	if strings.HasPrefix(auth, "[") { // IPv6 literal, maybe with a port
		if i := strings.IndexByte(auth, ']'); i > 0 {
			auth = auth[1:i]
		}
	} else if i := strings.LastIndexByte(auth, ':'); i >= 0 {
		auth = auth[:i]
	}
	host = strings.TrimPrefix(strings.ToLower(auth), "www.")
	return strings.TrimSuffix(host, "."), rest
}

// isScheme reports whether s is a URL scheme (RFC 3986: a letter, then letters, digits,
// "+", "-" or ".").
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower case for letters
		letter := c >= 'a' && c <= 'z'
		if !letter && (i == 0 || !(s[i] >= '0' && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.')) {
			return false
		}
	}
	return s != ""
}
