package bogon

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestIsBogon(t *testing.T) {
	lab, err := ParseCIDRs([]string{"10.77.0.0/16", "fd00:77::/32"})
	if err != nil {
		t.Fatal(err)
	}
	c := New(lab)
	tests := []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", false}, {"36.86.63.185", false}, {"2001:4860:4860::8888", false},
		{"10.10.34.34", true}, {"127.0.0.1", true}, {"169.254.169.254", true}, {"100.64.1.1", true},
		{"192.0.2.1", true}, {"198.51.100.7", true}, {"203.0.113.9", true}, {"0.0.0.0", true}, {"224.0.0.1", true},
		{"255.255.255.255", true}, {"::1", true}, {"fe80::1", true}, {"fc00::1", true}, {"2001:db8::1", true},
		{"::ffff:10.0.0.1", true}, {"::ffff:8.8.8.8", false},
		{"10.77.3.4", false}, {"fd00:77::1", false}, {"::ffff:10.77.0.1", false},
		{"fe80::1%eth0", true}, {"2001:4860:4860::8888%eth0", false},
	}
	for _, tc := range tests {
		if got := c.IsBogon(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("IsBogon(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	if !c.IsBogonString("not-an-ip") || c.IsBogonString("1.1.1.1") {
		t.Error("IsBogonString")
	}
	var zero *Checker
	if !zero.IsBogon(netip.MustParseAddr("10.77.0.1")) {
		t.Error("nil checker must know no lab ranges")
	}
}

func TestParseCIDRs(t *testing.T) {
	_, err := ParseCIDRs([]string{"10.0.0.0/8", "10.77.0.0/33"})
	if want := `lab CIDR "10.77.0.0/33": not an address prefix like 10.77.0.0/16`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// embeddings are the IPv6 forms that carry an IPv4 address, each with whether the
// IPv4 address inside decides (true) or the whole range is a bogon (false).
var embeddings = []struct {
	name   string
	embed  func(v4 [4]byte) string
	decide bool
}{
	{"IPv4-mapped ::ffff:0:0/96", func(v [4]byte) string { return fmt.Sprintf("::ffff:%d.%d.%d.%d", v[0], v[1], v[2], v[3]) }, true},
	{"NAT64 64:ff9b::/96", func(v [4]byte) string { return fmt.Sprintf("64:ff9b::%d.%d.%d.%d", v[0], v[1], v[2], v[3]) }, true},
	{"NAT64 64:ff9b::/96 in hex", func(v [4]byte) string { return fmt.Sprintf("64:ff9b::%02x%02x:%02x%02x", v[0], v[1], v[2], v[3]) }, true},
	{"local-use NAT64 64:ff9b:1::/48 (/96 layout)", func(v [4]byte) string { return fmt.Sprintf("64:ff9b:1::%d.%d.%d.%d", v[0], v[1], v[2], v[3]) }, false},
	{"local-use NAT64 64:ff9b:1::/48 (/48 layout)", func(v [4]byte) string {
		return fmt.Sprintf("64:ff9b:1:%02x%02x:%02x:%02x00::", v[0], v[1], v[2], v[3])
	}, false},
	{"IPv4-compatible ::/96", func(v [4]byte) string { return fmt.Sprintf("::%d.%d.%d.%d", v[0], v[1], v[2], v[3]) }, false},
	{"IPv4-translated ::ffff:0:0:0/96", func(v [4]byte) string { return fmt.Sprintf("::ffff:0:%d.%d.%d.%d", v[0], v[1], v[2], v[3]) }, false},
	{"6to4 2002::/16", func(v [4]byte) string { return fmt.Sprintf("2002:%02x%02x:%02x%02x::1", v[0], v[1], v[2], v[3]) }, false},
	{"Teredo 2001::/32, as server", func(v [4]byte) string {
		return fmt.Sprintf("2001:0:%02x%02x:%02x%02x::ffff:ffff", v[0], v[1], v[2], v[3])
	}, false},
	{"Teredo 2001::/32, as obfuscated client", func(v [4]byte) string {
		return fmt.Sprintf("2001:0:4136:e378:8000:63bf:%02x%02x:%02x%02x", ^v[0], ^v[1], ^v[2], ^v[3])
	}, false},
}

// TestIPv4Embedding checks every IPv6 form that carries an IPv4 address with private,
// metadata, loopback and public IPv4 addresses inside: a form the translator honours is
// as private as what it carries; the deprecated and local forms are bogons whole.
func TestIPv4Embedding(t *testing.T) {
	c := New(nil)
	inner := []struct {
		v4    [4]byte
		bogon bool
	}{
		{[4]byte{10, 0, 0, 1}, true}, {[4]byte{169, 254, 169, 254}, true}, {[4]byte{127, 0, 0, 1}, true},
		{[4]byte{8, 8, 8, 8}, false},
	}
	for _, e := range embeddings {
		for _, in := range inner {
			s := e.embed(in.v4)
			a, err := netip.ParseAddr(s)
			if err != nil || !a.Is6() || a.Is4In6() != (e.name == "IPv4-mapped ::ffff:0:0/96") {
				t.Fatalf("%s: %q does not parse as the IPv6 form (%v)", e.name, s, err)
			}
			want := in.bogon || !e.decide
			if got := c.IsBogon(a); got != want {
				t.Errorf("%s: IsBogon(%s) [%d.%d.%d.%d inside] = %v, want %v", e.name, s, in.v4[0], in.v4[1], in.v4[2], in.v4[3], got, want)
			}
		}
	}
	// The metadata address the way a NAT64 resolver writes it.
	if !c.IsBogon(netip.MustParseAddr("64:ff9b::a9fe:a9fe")) {
		t.Error("64:ff9b::a9fe:a9fe (169.254.169.254 through NAT64) is not a bogon")
	}
	// Lab ranges reach through the translator as they do through IPv4-mapping.
	lab := New([]netip.Prefix{netip.MustParsePrefix("10.77.0.0/16")})
	for addr, want := range map[string]bool{"64:ff9b::10.77.0.1": false, "64:ff9b::10.78.0.1": true, "::10.77.0.1": true} {
		if got := lab.IsBogon(netip.MustParseAddr(addr)); got != want {
			t.Errorf("with lab 10.77.0.0/16: IsBogon(%s) = %v, want %v", addr, got, want)
		}
	}
}
