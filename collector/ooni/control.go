package ooni

import (
	"bytes"
	"html"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// controlResolver names the test helper's resolver in the control's DNS query.
const controlResolver = "ooni-th"

// controlAddrs returns the addresses the test helper's DNS returned.
func controlAddrs(c *control) []string {
	if c == nil || c.DNS == nil {
		return nil
	}
	var out []string
	for _, a := range c.DNS.Addrs {
		if ip, err := netip.ParseAddr(a); err == nil {
			out = append(out, ip.Unmap().String())
		}
	}
	return out
}

// control maps what OONI's test helper observed. Nil when the measurement has no
// control and no control_failure (Pantau's "no control"); a control with only a
// failure when the helper could not be reached.
func (mp *Mapper) control(m *measurement.Measurement, h *header, tk *testKeys, probeAddrs []string) *measurement.Control {
	c := tk.Control
	empty := c == nil || c.DNS == nil && len(c.TCPConnect) == 0 && c.HTTPRequest == nil && len(c.TLSHandshake) == 0
	fail := tk.ControlFailure != nil && *tk.ControlFailure != ""
	if empty && !fail {
		return nil
	}
	out := &measurement.Control{Helper: noSpaces(helperAddress(h.TestHelpers)), Attempts: []measurement.ControlAttempt{}}
	if out.Helper == "" {
		out.Helper = controlResolver
	}
	switch {
	case fail:
		out.Failure = measurement.Failure(*tk.ControlFailure)
	case empty:
		out.Failure = measurement.Failure("unknown_failure: no control (ooni)")
	}
	if c != nil {
		out.Observations = controlObservations(m, c, probeAddrs)
	}
	out.Normalise()
	return out
}

// controlObservations maps the test helper's DNS answer, connects, handshakes and final
// page. Map keys come sorted so that the same line always gives the same measurement.
func controlObservations(m *measurement.Measurement, c *control, probeAddrs []string) measurement.Observations {
	var o measurement.Observations
	ctlAddrs := controlAddrs(c)
	if d := c.DNS; d != nil {
		q := measurement.DNSQuery{Resolver: controlResolver, Transport: measurement.TransportUDP, System: true,
			Query: m.Domain, QType: "A", Failure: dnsFailure(d.Failure), Answers: []measurement.DNSAnswer{}}
		q.Rcode = rcodeOf(q.Failure)
		for _, a := range d.Addrs {
			ans := measurement.DNSAnswer{Name: m.Domain, Type: "CNAME", Data: a}
			if ip, err := netip.ParseAddr(a); err == nil {
				ans.Data, ans.Type = ip.Unmap().String(), "A"
				if ip.Unmap().Is6() {
					ans.Type = "AAAA"
				}
				ans.ASN = c.IPInfo[a].ASN
			}
			q.Answers = append(q.Answers, ans)
		}
		o.DNS = append(o.DNS, q)
	}
	for _, k := range sortedKeys(c.TCPConnect) {
		ip, port, ok := splitAddr(k)
		if !ok {
			continue
		}
		v := c.TCPConnect[k]
		o.TCP = append(o.TCP, measurement.TCPConnect{IP: ip, Port: port, Origin: origin(m.Domain, ip, probeAddrs, ctlAddrs),
			Failure: connFailure(v.Status, v.Failure)})
	}
	for _, k := range sortedKeys(c.TLSHandshake) {
		ip, port, ok := splitAddr(k)
		if !ok {
			continue
		}
		v := c.TLSHandshake[k]
		sni := v.ServerName
		if sni == "" {
			sni = m.Domain
		}
		o.TLS = append(o.TLS, measurement.TLSHandshake{IP: ip, Port: port, SNI: sni,
			Failure: connFailure(v.Status, v.Failure), CertValid: v.Status})
	}
	if r := c.HTTPRequest; r != nil {
		h := measurement.HTTPRequest{URL: m.Target, Method: http.MethodGet, Status: max(r.StatusCode, 0),
			BodyLength: max(r.BodyLength, 0), Title: cleanText(r.Title), Failure: connFailure(r.Failure == nil, r.Failure)}
		if h.Failure == nil && h.Status == 0 {
			h.Failure = measurement.Failure("unknown_failure: no status (ooni)")
		}
		if h.Status > 0 {
			h.Headers = kept(responseHeader(r.Headers, nil))
		}
		o.HTTP = append(o.HTTP, h)
	}
	o.Normalise()
	return o
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// title returns the page title as the probe records it: the first <title> element,
// entities decoded, white space collapsed, at most 200 characters.
func title(body []byte) string {
	lower := bytes.ToLower(body[:min(len(body), 1<<20)])
	i := bytes.Index(lower, []byte("<title"))
	for i >= 0 && i+6 < len(lower) && !isTagEnd(lower[i+6]) {
		j := bytes.Index(lower[i+6:], []byte("<title"))
		if j < 0 {
			return ""
		}
		i += 6 + j
	}
	if i < 0 {
		return ""
	}
	j := bytes.IndexByte(lower[i:], '>')
	if j < 0 {
		return ""
	}
	start := i + j + 1
	k := bytes.Index(lower[start:], []byte("</title"))
	if k < 0 {
		return ""
	}
	raw := body[start : start+min(k, 4096)]
	t := cleanText(html.UnescapeString(string(raw)))
	if r := []rune(t); len(r) > 200 {
		t = string(r[:200])
	}
	return t
}

// cleanText makes s valid UTF-8 without control characters, its white space collapsed.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.Join(strings.Fields(s), " ")
}

func isTagEnd(c byte) bool {
	return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}
