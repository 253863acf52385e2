package dnsquery

import (
	"reflect"
	"testing"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

func TestParseResolver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Resolver // unexported fields included
		err  string
	}{
		{in: "1.1.1.1", want: Resolver{Address: "udp://1.1.1.1:53", Transport: "udp", hostport: "1.1.1.1:53"}},
		{in: " 1.1.1.1:5353 ", want: Resolver{Address: "udp://1.1.1.1:5353", Transport: "udp", hostport: "1.1.1.1:5353"}},
		{in: "[::1]:53", want: Resolver{Address: "udp://[::1]:53", Transport: "udp", hostport: "[::1]:53"}},
		{in: "2001:DB8::1", want: Resolver{Address: "udp://[2001:db8::1]:53", Transport: "udp", hostport: "[2001:db8::1]:53"}},
		{in: "[2001:db8::1]", want: Resolver{Address: "udp://[2001:db8::1]:53", Transport: "udp", hostport: "[2001:db8::1]:53"}},
		{in: "udp://9.9.9.9", want: Resolver{Address: "udp://9.9.9.9:53", Transport: "udp", hostport: "9.9.9.9:53"}},
		{in: "UDP://9.9.9.9:53/", want: Resolver{Address: "udp://9.9.9.9:53", Transport: "udp", hostport: "9.9.9.9:53"}},
		{in: "tcp://9.9.9.9", want: Resolver{Address: "tcp://9.9.9.9:53", Transport: "tcp", hostport: "9.9.9.9:53"}},
		{in: "tcp://[::1]:5353", want: Resolver{Address: "tcp://[::1]:5353", Transport: "tcp", hostport: "[::1]:5353"}},
		{in: "tls://1.1.1.1", want: Resolver{Address: "tls://1.1.1.1:853", Transport: "dot", hostport: "1.1.1.1:853", serverName: "1.1.1.1"}},
		{in: "tls://Dns.Quad9.NET", want: Resolver{Address: "tls://dns.quad9.net:853", Transport: "dot", hostport: "dns.quad9.net:853", serverName: "dns.quad9.net"}},
		{in: "dot://dns.google:8853", want: Resolver{Address: "tls://dns.google:8853", Transport: "dot", hostport: "dns.google:8853", serverName: "dns.google"}},
		{in: "tls://[2606:4700:4700::1111]", want: Resolver{Address: "tls://[2606:4700:4700::1111]:853", Transport: "dot",
			hostport: "[2606:4700:4700::1111]:853", serverName: "2606:4700:4700::1111"}},
		{in: "https://cloudflare-dns.com/dns-query", want: Resolver{Address: "https://cloudflare-dns.com/dns-query", Transport: "doh",
			url: "https://cloudflare-dns.com/dns-query"}},
		{in: "https://Dns.Google", want: Resolver{Address: "https://dns.google/dns-query", Transport: "doh", url: "https://dns.google/dns-query"}},
		{in: "https://dns.example:443/q{?dns}", want: Resolver{Address: "https://dns.example/q", Transport: "doh", url: "https://dns.example/q"}},
		{in: "https://127.0.0.1:8443/resolve?ct=1", want: Resolver{Address: "https://127.0.0.1:8443/resolve?ct=1", Transport: "doh",
			url: "https://127.0.0.1:8443/resolve?ct=1"}},
		{in: "https://[::1]:8443/dns-query", want: Resolver{Address: "https://[::1]:8443/dns-query", Transport: "doh", url: "https://[::1]:8443/dns-query"}},

		{in: "", err: `resolver "": empty`},
		{in: "x://y", err: `resolver "x://y": unsupported scheme "x" (want udp, tcp, tls or https)`},
		{in: "http://dns.example/dns-query", err: `resolver "http://dns.example/dns-query": unsupported scheme "http" (want udp, tcp, tls or https)`},
		{in: "dns.google", err: `resolver "dns.google": "dns.google" is not an IP address`},
		{in: "udp://dns.google:53", err: `resolver "udp://dns.google:53": "dns.google" is not an IP address`},
		{in: "tcp://", err: `resolver "tcp://": missing host`},
		{in: "1.1.1.1:0", err: `resolver "1.1.1.1:0": bad port "0" (want 1-65535)`},
		{in: "1.1.1.1:dns", err: `resolver "1.1.1.1:dns": bad port "dns" (want 1-65535)`},
		{in: "[::1]:", err: `resolver "[::1]:": bad port "" (want 1-65535)`},
		{in: "1.1.1.1:53:53", err: `resolver "1.1.1.1:53:53": bad address "1.1.1.1:53:53" (want IP[:PORT])`},
		{in: "udp://1.1.1.1/x", err: `resolver "udp://1.1.1.1/x": bad address "1.1.1.1/x" (want IP[:PORT])`},
		{in: "tls://dns.example/x", err: `resolver "tls://dns.example/x": bad address "dns.example/x" (want HOST[:PORT])`},
		{in: "tls://dns.example:853:1", err: `resolver "tls://dns.example:853:1": bad address "dns.example:853:1" (want HOST[:PORT])`},
		{in: "tls://bad_host!", err: `resolver "tls://bad_host!": bad host "bad_host!"`},
		{in: "tls://-dns.example", err: `resolver "tls://-dns.example": bad host "-dns.example"`},
		{in: "tls://1.1.1.1:99999", err: `resolver "tls://1.1.1.1:99999": bad port "99999" (want 1-65535)`},
		{in: "https:///dns-query", err: `resolver "https:///dns-query": missing host`},
		{in: "https://user:pw@dns.example/", err: `resolver "https://user:pw@dns.example/": user info not allowed`},
		{in: "https://dns.example:0/", err: `resolver "https://dns.example:0/": bad port "0" (want 1-65535)`},
		{in: "https://dns example/", err: `resolver "https://dns example/": bad URL: parse "https://dns example/": invalid character " " in host name`},
	}
	for _, tt := range tests {
		got, err := ParseResolver(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseResolver(%q) error = %v, want %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseResolver(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		// The canonical address parses to itself.
		again, err := ParseResolver(got.Address)
		if err != nil || again != got {
			t.Errorf("ParseResolver(%q) = %+v, %v; want %+v", got.Address, again, err, got)
		}
	}
}

func TestSystemResolvers(t *testing.T) {
	t.Parallel()
	sys := func(addr, hostport string) Resolver {
		return Resolver{Address: addr, Transport: measurement.TransportUDP, System: true, hostport: hostport}
	}
	tests := []struct {
		path string
		want []Resolver
		err  string
	}{
		{path: "testdata/good.conf", want: []Resolver{
			sys("udp://192.0.2.53:53", "192.0.2.53:53"),
			sys("udp://[2001:db8::53]:53", "[2001:db8::53]:53"),
			sys("udp://[fe80::1%eth0]:53", "[fe80::1%eth0]:53"),
		}},
		{path: "testdata/badline.conf", err: `testdata/badline.conf:3: nameserver "dns.example" is not an IP address`},
		{path: "testdata/empty.conf", err: `testdata/empty.conf:1: nameserver without address`},
		{path: "testdata/none.conf", err: `testdata/none.conf: no nameserver line`},
		{path: "testdata/missing.conf", err: `read resolv.conf: open testdata/missing.conf: no such file or directory`},
	}
	for _, tt := range tests {
		got, err := SystemResolvers(tt.path)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("SystemResolvers(%s) error = %v, want %s", tt.path, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SystemResolvers(%s) = %+v, %v; want %+v", tt.path, got, err, tt.want)
		}
	}
}

// TestResolverYAML: a resolver in a YAML file is parsed as it is decoded; a bad one is the
// file's problem, named by line and field.
func TestResolverYAML(t *testing.T) {
	t.Parallel()
	var c struct {
		Resolvers []Resolver `yaml:"resolvers"`
	}
	f := yamlconf.NewFile("x.yaml")
	f.Decode([]byte("resolvers:\n  - 1.1.1.1\n  - tls://dns.quad9.net\n"), &c)
	want := []Resolver{
		{Address: "udp://1.1.1.1:53", Transport: "udp", hostport: "1.1.1.1:53"},
		{Address: "tls://dns.quad9.net:853", Transport: "dot", hostport: "dns.quad9.net:853", serverName: "dns.quad9.net"},
	}
	if err := f.Err(); err != nil || !reflect.DeepEqual(c.Resolvers, want) {
		t.Errorf("resolvers = %+v, %v", c.Resolvers, err)
	}
	f = yamlconf.NewFile("x.yaml")
	f.Decode([]byte("resolvers:\n  - ftp://9.9.9.9\n  - {a: b}\n"), &c)
	wantErr := "x.yaml:2: resolvers[0]: resolver \"ftp://9.9.9.9\": unsupported scheme \"ftp\" (want udp, tcp, tls or https)\n" +
		"x.yaml:3: resolvers[1]: want a string, found a mapping"
	if err := f.Err(); err == nil || err.Error() != wantErr {
		t.Errorf("error =\n%v\nwant\n%s", err, wantErr)
	}
}
