package measurement

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what one measurement may hold; the collector refuses larger ones.
const (
	maxList   = 256
	maxString = 8192
)

// MaxDomain is the longest domain: a DNS name's 253 characters.
const MaxDomain = 253

// CheckDomain says why s cannot be the domain of a measurement, or nil when it can. It is
// the one rule for a domain wherever one is taken: at ingest (Validate) and wherever a
// domain is asked for (the query API, reports, the dashboard), so that every domain that
// can be stored can be queried. A domain is either
//   - a host name: labels of 1 to 63 ASCII letters, digits, '_' and '-', joined by single
//     dots, at most MaxDomain bytes; an internationalised name in its A-label form
//     (xn--bcher-kva.example), never its Unicode form (bücher.example), which is refused
//     rather than converted so that the stored JSON stays as the probe submitted it; or
//   - an IP address as netip parses it: IPv4 dotted, IPv6 without brackets and without a
//     zone (the domain of tcp://[2001:db8::1]:443 is 2001:db8::1).
//
// The errors do not name the field: callers prefix it.
func CheckDomain(s string) error {
	switch {
	case s == "":
		return errors.New("required")
	case len(s) > MaxDomain:
		return fmt.Errorf("%q is longer than %d bytes", clip(s), MaxDomain)
	}
	if nonASCII, _ := scan(s, true); nonASCII {
		return fmt.Errorf("%q is not ASCII: give an internationalised name in its A-label form (xn--…)", clip(s))
	}
	if strings.ContainsAny(s, ":[]") {
		return checkIPv6(s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%q may hold only letters, digits, '.', '_' and '-' (at most %d), or be an IP address", clip(s), MaxDomain)
		}
	}
	for label := range strings.SplitSeq(s, ".") {
		switch {
		case label == "":
			return fmt.Errorf("%q has an empty label", clip(s))
		case len(label) > 63:
			return fmt.Errorf("%q has a label longer than 63 bytes", clip(s))
		}
	}
	return nil
}

// checkIPv6 checks a domain that holds ':' or brackets: an IPv6 address, bare.
func checkIPv6(s string) error {
	bare := s
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		bare = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(bare)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not an IP address", clip(s))
	case a.Zone() != "":
		return fmt.Errorf("%q: an IPv6 address with a zone is not a domain", clip(s))
	case bare != s:
		return fmt.Errorf("%q: give the IPv6 address without brackets: %s", s, bare)
	}
	return nil
}

// Validate checks m strictly: every enumerated value, address, time and size. Each error
// names the field as a path (e.g. `dns[2].answers[0].data`). now bounds started_at (a
// probe clock up to a day fast is tolerated).
func (m *Measurement) Validate(now time.Time) error {
	v := &validator{path: make([]byte, 0, 64)}
	v.match("id", m.ID, isHexID, "want 32 lower-case hex digits")
	if m.SchemaVersion != SchemaVersion {
		v.add("schema_version", "%d is not supported (want %d)", m.SchemaVersion, SchemaVersion)
	}
	v.ident("target", m.Target, true)
	v.free("input", m.Input)
	v.enum("kind", m.Kind, true, KindWeb, KindTCP)
	if err := CheckDomain(m.Domain); err != nil {
		v.add("domain", "%s", err)
	}
	if m.Port < 1 || m.Port > 65535 {
		v.add("port", "%d is out of range", m.Port)
	}
	if m.StartedAt.IsZero() || m.StartedAt.Year() < 2000 || m.StartedAt.After(now.Add(24*time.Hour)) {
		v.add("started_at", "%s is not a plausible time", m.StartedAt.Format(time.RFC3339))
	}
	v.number("runtime_ms", m.RuntimeMS)
	v.ident("software.name", m.Software.Name, false)
	v.ident("software.version", m.Software.Version, false)
	v.ident("schedule", m.Schedule, false)
	v.list("resolvers", len(m.Resolvers))
	for i, r := range m.Resolvers {
		at := v.at("resolvers", i)
		v.ident("resolver", r.Resolver, true)
		v.enum("transport", r.Transport, true, TransportUDP, TransportTCP, TransportDoT, TransportDoH)
		v.list("egress", len(r.Egress))
		for j, e := range r.Egress {
			at := v.at("egress", j)
			v.ident("", e, true)
			v.back(at)
		}
		v.text("failure", r.Failure)
		v.back(at)
	}
	v.observations(&m.Observations)
	v.list("fingerprints", len(m.Fingerprints))
	for i, f := range m.Fingerprints {
		at := v.at("fingerprints", i)
		v.ident("name", f.Name, true)
		v.ident("location", f.Location, true)
		v.free("pattern", f.Pattern)
		v.free("where", f.Where)
		v.back(at)
	}
	if c := m.Control; c != nil {
		at := v.in("control")
		v.control(c)
		v.back(at)
	}
	if c := m.Canary; c != nil {
		at := v.in("canary")
		v.canary(c)
		v.back(at)
	}
	v.enum("verdict.status", m.Verdict.Status, true, StatusAccessible, StatusBlocked, StatusDown, StatusInconclusive)
	v.enum("verdict.method", m.Verdict.Method, m.Verdict.Status == StatusBlocked, MethodDNS, MethodTCP, MethodTLS, MethodHTTP)
	if m.Verdict.Status != StatusBlocked && m.Verdict.Method != "" {
		v.add("verdict.method", "%q is set but status is %q", m.Verdict.Method, m.Verdict.Status)
	}
	v.free("verdict.reason", m.Verdict.Reason)
	v.list("verdict.evidence", len(m.Verdict.Evidence))
	for i, e := range m.Verdict.Evidence {
		at := v.at("verdict.evidence", i)
		v.free("", e)
		v.back(at)
	}
	v.provenance(m.Source, m.Provenance)
	return errors.Join(v.errs...)
}

// control checks the control's record: its helper, attempts and observations.
func (v *validator) control(c *Control) {
	v.ident("helper", c.Helper, false)
	v.text("failure", c.Failure)
	v.list("attempts", len(c.Attempts))
	for i, a := range c.Attempts {
		at := v.at("attempts", i)
		v.ident("helper", a.Helper, true)
		v.text("failure", a.Failure)
		v.number("time_ms", a.TimeMS)
		v.back(at)
	}
	v.observations(&c.Observations)
}

// provenance checks source and provenance: both absent (a Pantau probe's own), or an
// import from a known source with its provenance.
func (v *validator) provenance(source string, p *Provenance) {
	v.enum("source", source, false, SourceOONI)
	switch {
	case source == "" && p != nil:
		v.add("provenance", "is set but source is empty")
	case source != "" && p == nil:
		v.add("provenance", "required with source %q", clip(source))
	}
	if p == nil {
		return
	}
	at := v.in("provenance")
	v.ident("report_id", p.ReportID, true)
	v.ident("measurement_uid", p.MeasurementUID, false)
	v.ident("probe_asn", p.ProbeASN, true)
	v.free("probe_network_name", p.ProbeNetworkName)
	v.ident("probe_cc", p.ProbeCC, true)
	v.free("software_name", p.SoftwareName)
	v.free("software_version", p.SoftwareVersion)
	v.ident("ooni_blocking", p.OONIBlocking, false)
	v.back(at)
}

// observations checks o at the validator's current path ("" or "control").
func (v *validator) observations(o *Observations) {
	v.dnsQueries(o.DNS)
	v.tcpConnects(o.TCP)
	v.tlsHandshakes(o.TLS)
	v.httpRequests(o.HTTP)
}

// dnsQueries checks the "dns" list.
func (v *validator) dnsQueries(list []DNSQuery) {
	v.list("dns", len(list))
	for i := range list {
		q := &list[i]
		at := v.at("dns", i)
		v.ident("resolver", q.Resolver, true)
		v.enum("transport", q.Transport, true, TransportUDP, TransportTCP, TransportDoT, TransportDoH)
		v.ident("query", q.Query, true)
		v.enum("qtype", q.QType, true, "A", "AAAA")
		v.ident("rcode", q.Rcode, false)
		v.text("failure", q.Failure)
		v.number("rtt_ms", q.RTTMS)
		v.answers(q.Answers)
		v.list("late_replies", len(q.LateReplies))
		for j := range q.LateReplies {
			r := &q.LateReplies[j]
			at := v.at("late_replies", j)
			v.ident("rcode", r.Rcode, false)
			v.number("rtt_ms", r.RTTMS)
			v.answers(r.Answers)
			v.back(at)
		}
		v.list("bogons", len(q.Bogons))
		for j, b := range q.Bogons {
			at := v.at("bogons", j)
			v.ip("", b)
			v.back(at)
		}
		v.back(at)
	}
}

// tcpConnects checks the "tcp" list.
func (v *validator) tcpConnects(list []TCPConnect) {
	v.list("tcp", len(list))
	for i := range list {
		c := &list[i]
		at := v.at("tcp", i)
		v.ip("ip", c.IP)
		v.port("port", c.Port)
		v.enum("origin", c.Origin, true, OriginProbe, OriginControl, OriginTarget)
		v.text("failure", c.Failure)
		v.number("time_ms", c.TimeMS)
		v.back(at)
	}
}

// tlsHandshakes checks the "tls" list.
func (v *validator) tlsHandshakes(list []TLSHandshake) {
	v.list("tls", len(list))
	for i := range list {
		h := &list[i]
		at := v.at("tls", i)
		v.ip("ip", h.IP)
		v.port("port", h.Port)
		v.ident("sni", h.SNI, true)
		v.text("failure", h.Failure)
		v.ident("version", h.Version, false)
		v.ident("cipher_suite", h.CipherSuite, false)
		v.ident("alpn", h.ALPN, false)
		v.number("time_ms", h.TimeMS)
		v.list("certificates", len(h.Certificates))
		for j := range h.Certificates {
			c := &h.Certificates[j]
			at := v.at("certificates", j)
			v.free("subject", c.Subject)
			v.free("issuer", c.Issuer)
			v.ident("sha256", c.SHA256, false)
			v.list("dns_names", len(c.DNSNames))
			for k, n := range c.DNSNames {
				at := v.at("dns_names", k)
				v.free("", n)
				v.back(at)
			}
			v.back(at)
		}
		v.back(at)
	}
}

// httpRequests checks the "http" list.
func (v *validator) httpRequests(list []HTTPRequest) {
	v.list("http", len(list))
	for i := range list {
		h := &list[i]
		at := v.at("http", i)
		v.ident("url", h.URL, true)
		v.ident("method", h.Method, true)
		v.ident("address", h.Address, false)
		if h.Status < 0 || h.Status > 999 {
			v.add("status", "%d is out of range", h.Status)
		}
		if h.BodyLength < 0 {
			v.add("body_length", "%d is negative", h.BodyLength)
		}
		v.ident("body_sha256", h.BodySHA256, false)
		v.free("title", h.Title)
		v.text("failure", h.Failure)
		v.number("time_ms", h.TimeMS)
		if len(h.Headers) > 64 {
			v.add("headers", "%d headers is more than 64", len(h.Headers))
		}
		for k, val := range h.Headers {
			v.ident("headers key", k, true)
			at := v.key("headers", k)
			v.free("", val)
			v.back(at)
		}
		v.back(at)
	}
}

// validator collects errors. Field paths are built only for errors: path holds the
// current prefix (e.g. `control.dns[2]`) and each check names its field relative to it
// (`answers`, or "" for the prefix itself).
type validator struct {
	errs []error
	path []byte
}

// in descends into the member name; back(mark) returns to where in was called.
func (v *validator) in(name string) int {
	mark := len(v.path)
	if mark > 0 {
		v.path = append(v.path, '.')
	}
	v.path = append(v.path, name...)
	return mark
}

// at descends into name[i].
func (v *validator) at(name string, i int) int {
	mark := v.in(name)
	v.path = append(v.path, '[')
	v.path = strconv.AppendInt(v.path, int64(i), 10)
	v.path = append(v.path, ']')
	return mark
}

// key descends into name[k].
func (v *validator) key(name, k string) int {
	mark := v.in(name)
	v.path = append(v.path, '[')
	v.path = append(v.path, k...)
	v.path = append(v.path, ']')
	return mark
}

func (v *validator) back(mark int) { v.path = v.path[:mark] }

// field is the full path of name.
func (v *validator) field(name string) string {
	switch {
	case len(v.path) == 0:
		return name
	case name == "":
		return string(v.path)
	}
	return string(v.path) + "." + name
}

func (v *validator) add(name, format string, a ...any) {
	if len(v.errs) < 20 {
		v.errs = append(v.errs, fmt.Errorf("%s: %s", v.field(name), fmt.Sprintf(format, a...)))
	}
}

func (v *validator) match(name, s string, ok func(string) bool, want string) {
	if !ok(s) {
		v.add(name, "%q: %s", clip(s), want)
	}
}

// scan reports whether s holds a byte ≥ 0x80 and whether it holds an ASCII control
// character (< ' ' or DEL) other than tab, or a space or tab when spaces is set. Every
// rune but ASCII is ≥ 0x80 in UTF-8, so this is what a rune-by-rune check finds in
// valid UTF-8.
func scan(s string, spaces bool) (nonASCII, ctrl bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			nonASCII = true
		case c < ' ' && c != '\t', c == 0x7f, spaces && (c == ' ' || c == '\t'):
			ctrl = true
		}
	}
	return nonASCII, ctrl
}

// canary checks the run's canary at the current path.
func (v *validator) canary(c *Canary) {
	if err := CheckDomain(c.Name); err != nil {
		v.add("name", "%s", err)
	}
	for _, l := range []struct {
		name  string
		addrs []string
	}{{"addrs", c.Addrs}, {"bogons", c.Bogons}} {
		v.list(l.name, len(l.addrs))
		for i, a := range l.addrs {
			at := v.at(l.name, i)
			v.ip("", a)
			v.back(at)
		}
	}
	v.text("dns_failure", c.DNSFailure)
	v.ident("url", c.URL, false)
	if c.Status < 0 || c.Status > 999 {
		v.add("status", "%d is out of range", c.Status)
	}
	v.ident("body_sha256", c.BodySHA256, false)
	v.free("title", c.Title)
	v.text("failure", c.Failure)
	v.number("time_ms", c.TimeMS)
}

// ident checks a machine-readable string: printable, no spaces or control characters.
func (v *validator) ident(name, s string, required bool) {
	if s == "" {
		if required {
			v.add(name, "required")
		}
		return
	}
	nonASCII, ctrl := scan(s, true)
	switch {
	case len(s) > maxString || nonASCII && !utf8.ValidString(s):
		v.add(name, "invalid or longer than %d bytes", maxString)
	case ctrl:
		v.add(name, "%q contains spaces or control characters", clip(s))
	}
}

// free checks human-readable text: valid UTF-8, bounded; no control characters but tab.
func (v *validator) free(name, s string) {
	nonASCII, ctrl := scan(s, false)
	switch {
	case len(s) > maxString || nonASCII && !utf8.ValidString(s):
		v.add(name, "invalid or longer than %d bytes", maxString)
	case ctrl:
		v.add(name, "%q contains control characters", clip(s))
	}
}

func (v *validator) text(name string, s *string) {
	if s != nil {
		if *s == "" {
			v.add(name, "empty (use null for success)")
		}
		v.free(name, *s)
	}
}

func (v *validator) enum(name, s string, required bool, allowed ...string) {
	if s == "" && !required {
		return
	}
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.add(name, "%q is not one of %s", clip(s), strings.Join(allowed, ", "))
}

func (v *validator) number(name string, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		v.add(name, "%v is not a non-negative number", f)
	}
}

func (v *validator) list(name string, n int) {
	if n > maxList {
		v.add(name, "%d items is more than %d", n, maxList)
	}
}

func (v *validator) ip(name, s string) {
	if _, err := netip.ParseAddr(s); err != nil {
		v.add(name, "%q is not an IP address", clip(s))
	}
}

func (v *validator) port(name string, p int) {
	if p < 1 || p > 65535 {
		v.add(name, "%d is out of range", p)
	}
}

// answers checks the answers at the current path.
func (v *validator) answers(as []DNSAnswer) {
	v.list("answers", len(as))
	for i := range as {
		a := &as[i]
		at := v.at("answers", i)
		v.ident("name", a.Name, true)
		v.ident("type", a.Type, true)
		v.free("data", a.Data)
		if (a.Type == "A" || a.Type == "AAAA") && a.Data != "" {
			v.ip("data", a.Data)
		}
		v.back(at)
	}
}

func isHexID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
