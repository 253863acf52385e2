package bogon

import (
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
