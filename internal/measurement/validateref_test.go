package measurement

// refValidate is a plain reference for Validate: it builds every field path eagerly,
// where Validate builds them only for errors (the ingest hot path). TestValidateMatchesReference
// checks that both give the same errors, message for message.

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

func refValidate(m *Measurement, now time.Time) error {
	v := &refValidator{}
	v.match("id", m.ID, refIsHexID, "want 32 lower-case hex digits")
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
		p := fmt.Sprintf("resolvers[%d]", i)
		v.ident(p+".resolver", r.Resolver, true)
		v.enum(p+".transport", r.Transport, true, TransportUDP, TransportTCP, TransportDoT, TransportDoH)
		v.list(p+".egress", len(r.Egress))
		for j, e := range r.Egress {
			v.ident(fmt.Sprintf("%s.egress[%d]", p, j), e, true)
		}
		v.text(p+".failure", r.Failure)
	}
	v.observations("", &m.Observations)
	v.list("fingerprints", len(m.Fingerprints))
	for i, f := range m.Fingerprints {
		p := fmt.Sprintf("fingerprints[%d]", i)
		v.ident(p+".name", f.Name, true)
		v.ident(p+".location", f.Location, true)
		v.free(p+".pattern", f.Pattern)
		v.free(p+".where", f.Where)
	}
	if c := m.Control; c != nil {
		v.ident("control.helper", c.Helper, false)
		v.text("control.failure", c.Failure)
		v.list("control.attempts", len(c.Attempts))
		for i, a := range c.Attempts {
			v.ident(fmt.Sprintf("control.attempts[%d].helper", i), a.Helper, true)
			v.text(fmt.Sprintf("control.attempts[%d].failure", i), a.Failure)
			v.number(fmt.Sprintf("control.attempts[%d].time_ms", i), a.TimeMS)
		}
		v.observations("control.", &c.Observations)
	}
	if c := m.Canary; c != nil {
		if err := CheckDomain(c.Name); err != nil {
			v.add("canary.name", "%s", err)
		}
		v.list("canary.addrs", len(c.Addrs))
		for i, a := range c.Addrs {
			v.ip(fmt.Sprintf("canary.addrs[%d]", i), a)
		}
		v.list("canary.bogons", len(c.Bogons))
		for i, a := range c.Bogons {
			v.ip(fmt.Sprintf("canary.bogons[%d]", i), a)
		}
		v.text("canary.dns_failure", c.DNSFailure)
		v.ident("canary.url", c.URL, false)
		if c.Status < 0 || c.Status > 999 {
			v.add("canary.status", "%d is out of range", c.Status)
		}
		v.ident("canary.body_sha256", c.BodySHA256, false)
		v.free("canary.title", c.Title)
		v.text("canary.failure", c.Failure)
		v.number("canary.time_ms", c.TimeMS)
	}
	v.enum("verdict.status", m.Verdict.Status, true, StatusAccessible, StatusBlocked, StatusDown, StatusInconclusive)
	v.enum("verdict.method", m.Verdict.Method, m.Verdict.Status == StatusBlocked, MethodDNS, MethodTCP, MethodTLS, MethodHTTP)
	if m.Verdict.Status != StatusBlocked && m.Verdict.Method != "" {
		v.add("verdict.method", "%q is set but status is %q", m.Verdict.Method, m.Verdict.Status)
	}
	v.free("verdict.reason", m.Verdict.Reason)
	v.list("verdict.evidence", len(m.Verdict.Evidence))
	for i, e := range m.Verdict.Evidence {
		v.free(fmt.Sprintf("verdict.evidence[%d]", i), e)
	}
	v.enum("source", m.Source, false, SourceOONI)
	if m.Source == "" && m.Provenance != nil {
		v.add("provenance", "is set but source is empty")
	}
	if m.Source != "" && m.Provenance == nil {
		v.add("provenance", "required with source %q", refClip(m.Source))
	}
	if p := m.Provenance; p != nil {
		v.ident("provenance.report_id", p.ReportID, true)
		v.ident("provenance.measurement_uid", p.MeasurementUID, false)
		v.ident("provenance.probe_asn", p.ProbeASN, true)
		v.free("provenance.probe_network_name", p.ProbeNetworkName)
		v.ident("provenance.probe_cc", p.ProbeCC, true)
		v.free("provenance.software_name", p.SoftwareName)
		v.free("provenance.software_version", p.SoftwareVersion)
		v.ident("provenance.ooni_blocking", p.OONIBlocking, false)
	}
	return errors.Join(v.errs...)
}

func (v *refValidator) observations(prefix string, o *Observations) {
	v.list(prefix+"dns", len(o.DNS))
	for i, q := range o.DNS {
		p := fmt.Sprintf("%sdns[%d]", prefix, i)
		v.ident(p+".resolver", q.Resolver, true)
		v.enum(p+".transport", q.Transport, true, TransportUDP, TransportTCP, TransportDoT, TransportDoH)
		v.ident(p+".query", q.Query, true)
		v.enum(p+".qtype", q.QType, true, "A", "AAAA")
		v.ident(p+".rcode", q.Rcode, false)
		v.text(p+".failure", q.Failure)
		v.number(p+".rtt_ms", q.RTTMS)
		v.answers(p+".answers", q.Answers)
		v.list(p+".late_replies", len(q.LateReplies))
		for j, r := range q.LateReplies {
			lp := fmt.Sprintf("%s.late_replies[%d]", p, j)
			v.ident(lp+".rcode", r.Rcode, false)
			v.number(lp+".rtt_ms", r.RTTMS)
			v.answers(lp+".answers", r.Answers)
		}
		v.list(p+".bogons", len(q.Bogons))
		for j, b := range q.Bogons {
			v.ip(fmt.Sprintf("%s.bogons[%d]", p, j), b)
		}
	}
	v.list(prefix+"tcp", len(o.TCP))
	for i, c := range o.TCP {
		p := fmt.Sprintf("%stcp[%d]", prefix, i)
		v.ip(p+".ip", c.IP)
		v.port(p+".port", c.Port)
		v.enum(p+".origin", c.Origin, true, OriginProbe, OriginControl, OriginTarget)
		v.text(p+".failure", c.Failure)
		v.number(p+".time_ms", c.TimeMS)
	}
	v.list(prefix+"tls", len(o.TLS))
	for i, h := range o.TLS {
		p := fmt.Sprintf("%stls[%d]", prefix, i)
		v.ip(p+".ip", h.IP)
		v.port(p+".port", h.Port)
		v.ident(p+".sni", h.SNI, true)
		v.text(p+".failure", h.Failure)
		v.ident(p+".version", h.Version, false)
		v.ident(p+".cipher_suite", h.CipherSuite, false)
		v.ident(p+".alpn", h.ALPN, false)
		v.number(p+".time_ms", h.TimeMS)
		v.list(p+".certificates", len(h.Certificates))
		for j, c := range h.Certificates {
			cp := fmt.Sprintf("%s.certificates[%d]", p, j)
			v.free(cp+".subject", c.Subject)
			v.free(cp+".issuer", c.Issuer)
			v.ident(cp+".sha256", c.SHA256, false)
			v.list(cp+".dns_names", len(c.DNSNames))
			for k, n := range c.DNSNames {
				v.free(fmt.Sprintf("%s.dns_names[%d]", cp, k), n)
			}
		}
	}
	v.list(prefix+"http", len(o.HTTP))
	for i, h := range o.HTTP {
		p := fmt.Sprintf("%shttp[%d]", prefix, i)
		v.ident(p+".url", h.URL, true)
		v.ident(p+".method", h.Method, true)
		v.ident(p+".address", h.Address, false)
		if h.Status < 0 || h.Status > 999 {
			v.add(p+".status", "%d is out of range", h.Status)
		}
		if h.BodyLength < 0 {
			v.add(p+".body_length", "%d is negative", h.BodyLength)
		}
		v.ident(p+".body_sha256", h.BodySHA256, false)
		v.free(p+".title", h.Title)
		v.text(p+".failure", h.Failure)
		v.number(p+".time_ms", h.TimeMS)
		if len(h.Headers) > 64 {
			v.add(p+".headers", "%d headers is more than 64", len(h.Headers))
		}
		for k, val := range h.Headers {
			v.ident(p+".headers key", k, true)
			v.free(p+".headers["+k+"]", val)
		}
	}
}

type refValidator struct{ errs []error }

func (v *refValidator) add(field, format string, a ...any) {
	if len(v.errs) < 20 {
		v.errs = append(v.errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
}

func (v *refValidator) match(field, s string, ok func(string) bool, want string) {
	if !ok(s) {
		v.add(field, "%q: %s", refClip(s), want)
	}
}

// ident checks a machine-readable string: printable, no spaces or control characters.
func (v *refValidator) ident(field, s string, required bool) {
	switch {
	case s == "":
		if required {
			v.add(field, "required")
		}
	case len(s) > maxString || !utf8.ValidString(s):
		v.add(field, "invalid or longer than %d bytes", maxString)
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		v.add(field, "%q contains spaces or control characters", refClip(s))
	}
}

// free checks human-readable text: valid UTF-8, bounded; no control characters but tab.
func (v *refValidator) free(field, s string) {
	switch {
	case len(s) > maxString || !utf8.ValidString(s):
		v.add(field, "invalid or longer than %d bytes", maxString)
	case strings.ContainsFunc(s, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }):
		v.add(field, "%q contains control characters", refClip(s))
	}
}

func (v *refValidator) text(field string, s *string) {
	if s != nil {
		if *s == "" {
			v.add(field, "empty (use null for success)")
		}
		v.free(field, *s)
	}
}

func (v *refValidator) enum(field, s string, required bool, allowed ...string) {
	if s == "" && !required {
		return
	}
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.add(field, "%q is not one of %s", refClip(s), strings.Join(allowed, ", "))
}

func (v *refValidator) number(field string, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		v.add(field, "%v is not a non-negative number", f)
	}
}

func (v *refValidator) list(field string, n int) {
	if n > maxList {
		v.add(field, "%d items is more than %d", n, maxList)
	}
}

func (v *refValidator) ip(field, s string) {
	if _, err := netip.ParseAddr(s); err != nil {
		v.add(field, "%q is not an IP address", refClip(s))
	}
}

func (v *refValidator) port(field string, p int) {
	if p < 1 || p > 65535 {
		v.add(field, "%d is out of range", p)
	}
}

func (v *refValidator) answers(field string, as []DNSAnswer) {
	v.list(field, len(as))
	for i, a := range as {
		p := fmt.Sprintf("%s[%d]", field, i)
		v.ident(p+".name", a.Name, true)
		v.ident(p+".type", a.Type, true)
		v.free(p+".data", a.Data)
		if (a.Type == "A" || a.Type == "AAAA") && a.Data != "" {
			v.ip(p+".data", a.Data)
		}
	}
}

func refIsHexID(s string) bool {
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
func refClip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
