package dnsquery

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// Default ports and the DoH path used when a resolver string leaves them out.
const (
	portDNS     = 53
	portDoT     = 853
	defaultPath = "/dns-query"
)

// Resolver is one resolver endpoint. Build it with ParseResolver or SystemResolvers; a
// Resolver made by hand from Address alone also works (Exchange parses Address then).
type Resolver struct {
	// Address is canonical: "udp://IP:PORT", "tcp://IP:PORT", "tls://HOST:PORT" (DoT) or
	// "https://HOST[:PORT]/PATH" (DoH).
	Address   string
	Transport string // measurement.TransportUDP, TransportTCP, TransportDoT or TransportDoH
	System    bool   // from /etc/resolv.conf (or --system-resolver)

	hostport   string // UDP, TCP, DoT: where to connect
	serverName string // DoT: the TLS server name
	url        string // DoH: the URL to POST to
}

// ParseResolver accepts "IP", "IP:PORT", "[IPv6]:PORT", "udp://IP[:PORT]",
// "tcp://IP[:PORT]", "tls://HOST[:PORT]" or "dot://HOST[:PORT]" (DoT, port 853 unless
// given; HOST is an IP or a name) and "https://HOST[:PORT][/PATH]" (DoH, RFC 8484; the
// path defaults to /dns-query and a trailing "{?dns}" URI template is dropped). Errors
// name the bad value.
func ParseResolver(s string) (Resolver, error) {
	r, err := parseResolver(strings.TrimSpace(s))
	if err != nil {
		return Resolver{}, fmt.Errorf("resolver %q: %w", s, err)
	}
	return r, nil
}

// UnmarshalYAML parses a resolver written in a YAML file (any form ParseResolver takes),
// so that a configuration holds the parsed resolver.
func (r *Resolver) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlconf.ParseScalar(n, ParseResolver)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

func parseResolver(s string) (Resolver, error) {
	if s == "" {
		return Resolver{}, errors.New("empty")
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return ipResolver(measurement.TransportUDP, s)
	}
	switch strings.ToLower(scheme) {
	case "udp":
		return ipResolver(measurement.TransportUDP, rest)
	case "tcp":
		return ipResolver(measurement.TransportTCP, rest)
	case "tls", "dot":
		return dotResolver(rest)
	case "https":
		return dohResolver(s)
	}
	return Resolver{}, fmt.Errorf("unsupported scheme %q (want udp, tcp, tls or https)", scheme)
}

// ipResolver parses IP[:PORT] for plain DNS over UDP or TCP.
func ipResolver(transport, s string) (Resolver, error) {
	s = strings.TrimSuffix(s, "/")
	host, port, err := splitHostPort(s, portDNS, "IP[:PORT]")
	if err != nil {
		return Resolver{}, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return Resolver{}, fmt.Errorf("%q is not an IP address", host)
	}
	hp := net.JoinHostPort(ip.String(), strconv.Itoa(port))
	return Resolver{Address: transport + "://" + hp, Transport: transport, hostport: hp}, nil
}

// dotResolver parses HOST[:PORT] for DNS over TLS.
func dotResolver(s string) (Resolver, error) {
	s = strings.TrimSuffix(s, "/")
	host, port, err := splitHostPort(s, portDoT, "HOST[:PORT]")
	if err != nil {
		return Resolver{}, err
	}
	host, err = checkHost(host)
	if err != nil {
		return Resolver{}, err
	}
	hp := net.JoinHostPort(host, strconv.Itoa(port))
	name := host
	if ip, err := netip.ParseAddr(host); err == nil {
		name = ip.WithZone("").String()
	}
	return Resolver{Address: "tls://" + hp, Transport: measurement.TransportDoT, hostport: hp, serverName: name}, nil
}

// dohResolver parses an RFC 8484 URL.
func dohResolver(s string) (Resolver, error) {
	u, err := url.Parse(strings.TrimSuffix(s, "{?dns}"))
	if err != nil {
		return Resolver{}, fmt.Errorf("bad URL: %w", err)
	}
	if u.User != nil {
		return Resolver{}, errors.New("user info not allowed")
	}
	if u.Host == "" {
		return Resolver{}, errors.New("missing host")
	}
	host, err := checkHost(u.Hostname())
	if err != nil {
		return Resolver{}, err
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && p != "443" {
		if _, err := parsePort(p); err != nil {
			return Resolver{}, err
		}
		host += ":" + p
	}
	path := u.EscapedPath()
	if path == "" {
		path = defaultPath
	}
	canon := "https://" + host + path
	if u.RawQuery != "" {
		canon += "?" + u.RawQuery
	}
	return Resolver{Address: canon, Transport: measurement.TransportDoH, url: canon}, nil
}

// splitHostPort splits HOST[:PORT], [IPv6][:PORT] or a bare IPv6 address; want names
// the expected form in errors.
func splitHostPort(s string, def int, want string) (string, int, error) {
	if s == "" {
		return "", 0, errors.New("missing host")
	}
	if strings.Contains(s, "/") {
		return "", 0, fmt.Errorf("bad address %q (want %s)", s, want)
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return s, def, nil
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		return s[1 : len(s)-1], def, nil
	}
	if !strings.Contains(s, ":") {
		return s, def, nil
	}
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("bad address %q (want %s)", s, want)
	}
	port, err := parsePort(p)
	return host, port, err
}

func parsePort(p string) (int, error) {
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("bad port %q (want 1-65535)", p)
	}
	return port, nil
}

// checkHost returns host in canonical form (IP as netip prints it, names in lower case)
// or an error if it is neither an IP address nor a plausible host name.
func checkHost(host string) (string, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.String(), nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "" || len(name) > 253 {
		return "", fmt.Errorf("bad host %q", host)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("bad host %q", host)
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("bad host %q", host)
			}
		}
	}
	return name, nil
}

// endpoint returns r with its connection details filled in, parsing Address when r was
// built by hand.
func (r Resolver) endpoint() (Resolver, error) {
	if r.hostport != "" || r.url != "" {
		return r, nil
	}
	p, err := ParseResolver(r.Address)
	if err != nil {
		return r, err
	}
	p.System = r.System
	return p, nil
}

// SystemResolvers reads the nameserver lines of a resolv.conf-format file and returns
// them as UDP resolvers on port 53 with System set, in file order without duplicates.
// Errors name the path (and the line, for a bad nameserver value); a file without any
// nameserver is an error.
func SystemResolvers(path string) ([]Resolver, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read resolv.conf: %w", err)
	}
	var out []Resolver
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line, _, _ = strings.Cut(line, ";")
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "nameserver" {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("%s:%d: nameserver without address", path, n)
		}
		ip, err := netip.ParseAddr(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: nameserver %q is not an IP address", path, n, f[1])
		}
		r, _ := ipResolver(measurement.TransportUDP, ip.String()) // cannot fail for an IP
		r.System = true
		if !seen[r.Address] {
			seen[r.Address] = true
			out = append(out, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no nameserver line", path)
	}
	return out, nil
}
