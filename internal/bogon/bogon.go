// Package bogon tells addresses in reserved ranges (private, loopback, link-local, CGNAT,
// documentation, multicast, …) from public ones. A resolver that answers a public name
// with such an address is lying; testbeds declare their own ranges public as lab ranges.
package bogon

import (
	"fmt"
	"net/netip"
)

// reserved are the IPv4 and IPv6 special-purpose ranges (RFC 6890 and successors, the
// IANA special-purpose registries) that are bogons whatever they hold. Among them are
// the IPv6 ranges that embed an IPv4 address but are not globally reachable or are
// deprecated, so no IPv4 inside them makes them public:
//
//   - ::/96, IPv4-compatible (RFC 4291, deprecated; it holds :: and ::1 too);
//   - ::ffff:0:0:0/96, IPv4-translated (RFC 2765, obsolete);
//   - 64:ff9b:1::/48, local-use IPv4/IPv6 translation (RFC 8215): its embedding depends
//     on the operator's prefix length and its addresses are not globally reachable;
//   - 2001::/32, Teredo (inside 2001::/23): server and obfuscated client IPv4 addresses;
//   - 2002::/16, 6to4 (RFC 3056, relays deprecated by RFC 7526): IPv4 in bits 16-47.
//
// A host with a Teredo or 6to4 interface, or behind a translator, would carry a packet
// for such an address to the IPv4 address inside, private or not.
var reserved = mustPrefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
	"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	"::/96", "::ffff:0:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
	"2001:db8::/32", "2002::/16", "3fff::/20", "fc00::/7", "fe80::/10", "ff00::/8",
)

// nat64 is the well-known NAT64 prefix (RFC 6052): its last 32 bits are an IPv4 address
// a translator connects to on the address's behalf. It is globally reachable, so such an
// address is as public or as private as the IPv4 address inside; RFC 6052 forbids it for
// non-global IPv4 addresses.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

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

// IsBogon reports whether addr is reserved and not in a lab range. An address that
// stands for an IPv4 address (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96) is judged
// by that IPv4 address; the other IPv4-embedding ranges are bogons whole (see reserved).
// A zone is ignored.
func (c *Checker) IsBogon(addr netip.Addr) bool {
	if !addr.IsValid() {
		return true
	}
	addr = addr.WithZone("")
	if c.InLab(addr) {
		return false
	}
	if v4, ok := embeddedIPv4(addr); ok {
		return c.IsBogon(v4)
	}
	for _, p := range reserved {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// embeddedIPv4 returns the IPv4 address an IPv4-mapped or NAT64 address stands for.
func embeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	switch {
	case addr.Is4In6():
		return addr.Unmap(), true
	case nat64.Contains(addr):
		b := addr.As16()
		return netip.AddrFrom4([4]byte(b[12:])), true
	}
	return netip.Addr{}, false
}

// IsBogonString is IsBogon for a textual address; unparsable text is a bogon.
func (c *Checker) IsBogonString(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return true
	}
	return c.IsBogon(a)
}
