// Package bogon tells addresses in reserved ranges (private, loopback, link-local, CGNAT,
// documentation, multicast, …) from public ones. A resolver that answers a public name
// with such an address is lying; testbeds declare their own ranges public as lab ranges.
package bogon

import (
	"fmt"
	"net/netip"
)

// reserved are the IPv4 and IPv6 special-purpose ranges (RFC 6890 and successors).
var reserved = mustPrefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
	"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	"::/128", "::1/128", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
	"2001:db8::/32", "2002::/16", "3fff::/20", "fc00::/7", "fe80::/10", "ff00::/8",
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Checker classifies addresses. The zero value knows no lab ranges.
type Checker struct {
	lab []netip.Prefix
}

// New returns a Checker that treats the lab prefixes as public.
func New(lab []netip.Prefix) *Checker { return &Checker{lab: lab} }

// ParseCIDRs parses lab ranges, naming the bad one in the error.
func ParseCIDRs(ss []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("lab CIDR %q: not an address prefix like 10.77.0.0/16", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// InLab reports whether addr falls in a declared lab range.
func (c *Checker) InLab(addr netip.Addr) bool {
	if c == nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range c.lab {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// IsBogon reports whether addr is reserved and not in a lab range.
func (c *Checker) IsBogon(addr netip.Addr) bool {
	if !addr.IsValid() {
		return true
	}
	if c.InLab(addr) {
		return false
	}
	if addr.Is4In6() {
		return c.IsBogon(addr.Unmap())
	}
	for _, p := range reserved {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// IsBogonString is IsBogon for a textual address; unparsable text is a bogon.
func (c *Checker) IsBogonString(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return true
	}
	return c.IsBogon(a)
}
