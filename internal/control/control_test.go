package control

import (
	"net/netip"
	"testing"
)

func TestGuard(t *testing.T) {
	g := Guard([]netip.Prefix{netip.MustParsePrefix("10.77.0.0/16"), netip.MustParsePrefix("fd00:77::/32")})
	for _, tc := range []struct {
		addr string
		err  string
	}{
		{"93.184.216.34", ""},
		{"2606:2800:220:1::1", ""},
		{"10.77.0.10", ""},
		{"::ffff:10.77.0.10", ""},
		{"fd00:77::10", ""},
		{"10.78.0.1", "10.78.0.1 is a private or reserved address"},
		{"127.0.0.1", "127.0.0.1 is a private or reserved address"},
		{"172.16.5.4", "172.16.5.4 is a private or reserved address"},
		{"192.168.1.1", "192.168.1.1 is a private or reserved address"},
		{"100.64.0.1", "100.64.0.1 is a private or reserved address"},
		{"169.254.169.254", "169.254.169.254 is a private or reserved address"},
		{"0.0.0.0", "0.0.0.0 is a private or reserved address"},
		{"224.0.0.1", "224.0.0.1 is a private or reserved address"},
		{"192.0.2.1", "192.0.2.1 is a private or reserved address"},
		{"::", ":: is a private or reserved address"},
		{"::1", "::1 is a private or reserved address"},
		{"fc00::1", "fc00::1 is a private or reserved address"},
		{"fe80::1%eth0", "fe80::1%eth0 is a private or reserved address"},
		{"::ffff:127.0.0.1", "::ffff:127.0.0.1 is a private or reserved address"},
		{"2001:db8::1", "2001:db8::1 is a private or reserved address"},
		{"ff02::1", "ff02::1 is a private or reserved address"},
	} {
		err := g(netip.MustParseAddr(tc.addr))
		if got := errString(err); got != tc.err {
			t.Errorf("%s: got %q, want %q", tc.addr, got, tc.err)
		}
	}
	if err := Guard(nil)(netip.Addr{}); errString(err) != "invalid IP is a private or reserved address" {
		t.Errorf("zero Addr: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
