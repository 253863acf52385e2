package ooni

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pantau-dev/pantau/internal/bogon"
	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// systemResolver names the probe's system resolver (getaddrinfo, the ISP's resolver) in
// imported measurements: OONI records its egress address (client_resolver), not the
// address the probe sent its queries to.
const systemResolver = "system"

// keptHeaders are the response headers kept with each request, as the probe keeps them.
var keptHeaders = []string{"Location", "Server", "Content-Type", "Content-Length", "Via", "X-Cache", "X-Powered-By"}

// dns maps the probe's queries for the target's name, A and AAAA (OONI's other lookups,
// such as HTTPS or NS queries, have no place in Pantau's format), and returns the
// addresses they answered, in all and by name. Lookups of other names (a redirect's
// host) are not the target's DNS, which the verdict judges: only their addresses are
// returned, as the probe's own.
func (mp *Mapper) dns(m *measurement.Measurement, qs []query, egress string) ([]string, map[string][]string) {
	bog := bogon.New(nil)
	var addrs []string
	byName := map[string][]string{}
	resolvers := map[string]bool{}
	for _, q := range qs {
		name := strings.ToLower(strings.TrimSuffix(q.Hostname, "."))
		for _, d := range byType(q, m.Domain) {
			for _, a := range d.Addrs() {
				if !slices.Contains(addrs, a) {
					addrs = append(addrs, a)
				}
				if d.System && !slices.Contains(byName[name], a) {
					byName[name] = append(byName[name], a)
				}
				if bog.IsBogonString(a) && !slices.Contains(d.Bogons, a) {
					d.Bogons = append(d.Bogons, a)
				}
			}
			if name != "" && name != m.Domain {
				continue
			}
			m.DNS = append(m.DNS, d)
			m.Fingerprints = append(m.Fingerprints, mp.fps.MatchDNS(d)...)
			if !resolvers[d.Resolver] {
				resolvers[d.Resolver] = true
				info := measurement.ResolverInfo{Resolver: d.Resolver, Transport: d.Transport, System: d.System, Egress: []string{}}
				if d.System && egress != "" {
					info.Egress = []string{egress}
				}
				m.Resolvers = append(m.Resolvers, info)
			}
		}
	}
	return addrs, byName
}

// byType maps one OONI lookup to Pantau's questions: an A or AAAA query as it is; the
// getaddrinfo lookup probe-cli records as type ANY as an A and an AAAA question, each
// with the answers of its family (and the CNAMEs), and dns_no_answer for a family that
// got none when the lookup succeeded; other types to none.
func byType(q query, domain string) []measurement.DNSQuery {
	types := []string{strings.ToUpper(q.QueryType)}
	switch types[0] {
	case "A", "AAAA":
	case "ANY":
		types = []string{"A", "AAAA"}
	default:
		return nil
	}
	resolver, transport, system := resolverOf(q)
	var out []measurement.DNSQuery
	for _, qtype := range types {
		d := measurement.DNSQuery{
			Resolver: resolver, Transport: transport, System: system,
			Query: domain, QType: qtype, Failure: dnsFailure(q.Failure), RTTMS: span(q.T0, q.T),
			Answers: []measurement.DNSAnswer{},
		}
		for _, a := range q.Answers {
			ans, ok := dnsAnswer(a, domain)
			if ok && (len(types) == 1 || ans.Type == "CNAME" || ans.Type == qtype) {
				d.Answers = append(d.Answers, ans)
			}
		}
		if len(types) > 1 && d.Failure == nil && len(d.Addrs()) == 0 {
			d.Failure = measurement.Failure(failure.DNSNoAnswer)
		}
		d.Rcode = rcodeOf(d.Failure)
		out = append(out, d)
	}
	return out
}

// resolverOf names the resolver of q as Pantau does (udp://IP:PORT, https://…), or
// "system" for the system resolver.
func resolverOf(q query) (resolver, transport string, system bool) {
	addr := q.ResolverAddress
	switch strings.ToLower(q.Engine) {
	case "udp":
		return "udp://" + addr, measurement.TransportUDP, false
	case "tcp":
		return "tcp://" + addr, measurement.TransportTCP, false
	case "dot":
		return "tls://" + addr, measurement.TransportDoT, false
	case "doh":
		if addr == "" && q.ResolverHostname != nil {
			addr = *q.ResolverHostname
		}
		return addr, measurement.TransportDoH, false
	}
	return systemResolver, measurement.TransportUDP, true
}

// dnsAnswer maps one answer; false for types Pantau does not record.
func dnsAnswer(a answer, name string) (measurement.DNSAnswer, bool) {
	out := measurement.DNSAnswer{Name: name, Type: strings.ToUpper(a.AnswerType), ASN: a.ASN}
	if a.TTL != nil {
		out.TTL = *a.TTL
	}
	switch out.Type {
	case "A":
		out.Data = a.IPv4
	case "AAAA":
		out.Data = a.IPv6
	case "CNAME":
		out.Data = a.Hostname
	default:
		return out, false
	}
	if out.Type != "CNAME" {
		ip, err := netip.ParseAddr(out.Data)
		if err != nil {
			return out, false
		}
		out.Data = ip.Unmap().String()
	}
	return out, out.Data != ""
}

// dnsFailure maps OONI's DNS failure strings (the probe's, and the test helper's
// older names) to Pantau's, which follow OONI's current taxonomy.
func dnsFailure(f *string) *string {
	if f == nil || *f == "" {
		return nil
	}
	switch legacyFailure(*f) {
	case "dns_name_error", "dns_nxdomain_error":
		return measurement.Failure(failure.DNSNXDomain)
	case "dns_server_misbehaving", "dns_server_failure":
		return measurement.Failure(failure.DNSServfail)
	case "dns_no_answer", "android_dns_cache_no_data":
		return measurement.Failure(failure.DNSNoAnswer)
	}
	return measurement.Failure(legacyFailure(*f))
}

// rcodeOf is the rcode a failure implies ("" when no reply is known to have come).
func rcodeOf(f *string) string {
	if f == nil {
		return "NOERROR"
	}
	switch *f {
	case failure.DNSNXDomain:
		return "NXDOMAIN"
	case failure.DNSServfail:
		return "SERVFAIL"
	case failure.DNSRefused:
		return "REFUSED"
	case failure.DNSNoAnswer, failure.DNSBogon:
		return "NOERROR"
	}
	return ""
}

// tcp maps the probe's connects; an address's origin says whose DNS gave it.
func (mp *Mapper) tcp(m *measurement.Measurement, cs []tcpConnect, probeAddrs, controlAddrs []string) {
	for _, c := range cs {
		ip, err := netip.ParseAddr(c.IP)
		if err != nil || c.Port < 1 || c.Port > 65535 {
			continue
		}
		addr := ip.Unmap().String()
		t := measurement.TCPConnect{IP: addr, Port: c.Port, Origin: origin(m.Domain, addr, probeAddrs, controlAddrs), TimeMS: span(c.T0, c.T)}
		t.Failure = connFailure(c.Status.Success, c.Status.Failure)
		m.TCP = append(m.TCP, t)
	}
}

// origin is OriginTarget for an IP-literal target, OriginControl for an address only
// the test helper's DNS returned, else OriginProbe.
func origin(domain, addr string, probeAddrs, controlAddrs []string) string {
	switch {
	case addr == domain:
		return measurement.OriginTarget
	case !slices.Contains(probeAddrs, addr) && slices.Contains(controlAddrs, addr):
		return measurement.OriginControl
	}
	return measurement.OriginProbe
}

// connFailure is the failure of a step that OONI says failed; a failure without a
// reason gets one, so that it never reads as a success.
func connFailure(ok bool, f *string) *string {
	switch {
	case f != nil && *f != "":
		return measurement.Failure(legacyFailure(*f))
	case ok:
		return nil
	}
	return measurement.Failure(failure.Unknown + ": failed without a failure string (ooni)")
}

// legacyFailure maps the failure names of the Python ooniprobe (2016-2018, Twisted) that
// have a counterpart in OONI's current taxonomy, which Pantau's follows; others stay as
// they are.
func legacyFailure(f string) string {
	switch f {
	case "connection_refused_error":
		return failure.ConnectionRefused
	case "tcp_timed_out_error", "deferred_timeout_error":
		return failure.GenericTimeout
	}
	return f
}

// tls maps the probe's handshakes. A handshake OONI verified (no failure, and
// no_tls_verify false) has a valid certificate for its server name.
func (mp *Mapper) tls(m *measurement.Measurement, hs []tlsHandshake) error {
	for i, h := range hs {
		ip, port, ok := splitAddr(h.Address)
		if !ok {
			continue
		}
		t := measurement.TLSHandshake{
			IP: ip, Port: port, SNI: h.ServerName, Failure: connFailure(h.Failure == nil, h.Failure),
			Version: noSpaces(h.TLSVersion), CipherSuite: noSpaces(h.CipherSuite), ALPN: noSpaces(h.NegotiatedProtocol),
			CertValid: h.Failure == nil && !h.NoTLSVerify, TimeMS: span(h.T0, h.T),
		}
		if t.SNI == "" {
			t.SNI = m.Domain
		}
		for j, der := range h.PeerCertificates {
			c, err := certificate(der)
			if err != nil {
				return fmt.Errorf("test_keys.tls_handshakes[%d].peer_certificates[%d]: %w", i, j, err)
			}
			t.Certificates = append(t.Certificates, c)
		}
		m.TLS = append(m.TLS, t)
	}
	return nil
}

// certificate summarises a DER certificate.
func certificate(der []byte) (measurement.Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return measurement.Certificate{}, fmt.Errorf("not a certificate: %w", err)
	}
	sum := sha256.Sum256(der)
	return measurement.Certificate{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(), DNSNames: c.DNSNames,
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), SHA256: hex.EncodeToString(sum[:]),
	}, nil
}

// http maps the fetch, first hop first (OONI lists it newest first), and matches the
// block-page fingerprints against every reply.
func (mp *Mapper) http(m *measurement.Measurement, rs []request) {
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i]
		hop := len(m.HTTP)
		h := measurement.HTTPRequest{
			URL: r.Request.URL, Method: r.Request.Method, Failure: connFailure(r.Failure == nil, r.Failure),
			TimeMS: span(r.T0, r.T),
		}
		if h.URL == "" {
			h.URL = m.Target
		}
		if h.Method == "" {
			h.Method = http.MethodGet
		}
		if _, _, ok := splitAddr(r.Address); ok {
			h.Address = r.Address
		}
		if resp := r.Response; resp != nil && resp.Code > 0 {
			hdr := responseHeader(resp.Headers, resp.HeadersList)
			body := []byte(resp.Body)
			h.Status = resp.Code
			h.Headers = kept(hdr)
			h.BodyLength = int64(len(body))
			h.BodyTruncated = resp.BodyIsTruncated
			if len(body) > 0 {
				sum := sha256.Sum256(body)
				h.BodySHA256 = hex.EncodeToString(sum[:])
			}
			h.Title = title(body)
			m.Fingerprints = append(m.Fingerprints, mp.fps.MatchHTTP(fmt.Sprintf("http[%d]", hop), h.Status, hdr, h.Title, body)...)
		}
		m.HTTP = append(m.HTTP, h)
	}
}

// responseHeader is the response's header: from headers_list when OONI gave it (every
// value, in order), else from headers.
func responseHeader(hm headerMap, list [][2]string) http.Header {
	h := http.Header{}
	if len(list) > 0 {
		for _, kv := range list {
			h.Add(kv[0], kv[1])
		}
		return h
	}
	keys := make([]string, 0, len(hm))
	for k := range hm {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a header given twice in different case: the same order every time
	for _, k := range keys {
		for _, v := range hm[k] {
			h.Add(k, v)
		}
	}
	return h
}

// kept selects the headers the wire format keeps (the first value of each).
func kept(h http.Header) map[string]string {
	var out map[string]string
	for _, k := range keptHeaders {
		if v := h.Get(k); v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// splitAddr splits "IP:PORT" (IPv6 in brackets).
func splitAddr(s string) (ip string, port int, ok bool) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, false
	}
	a, err := netip.ParseAddr(host)
	n, perr := strconv.Atoi(p)
	if err != nil || perr != nil || n < 1 || n > 65535 {
		return "", 0, false
	}
	return a.Unmap().String(), n, true
}

// span is the duration from t0 to t in milliseconds, when OONI recorded both.
func span(t0, t float64) float64 {
	if t0 <= 0 || t < t0 {
		return 0
	}
	return float64(int64((t-t0)*1e6)) / 1000
}

// noSpaces replaces white space in a machine-readable value ("TLSv1.3" stays).
func noSpaces(s string) string { return strings.Join(strings.Fields(s), "_") }
