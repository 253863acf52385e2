package verdict

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// completed reports whether a handshake got as far as the certificate: it succeeded, or
// it failed only because the certificate was not valid.
func completed(h measurement.TLSHandshake) bool {
	return h.Failure == nil || failure.IsCertificate(*h.Failure)
}

// validTLS reports whether a handshake succeeded with a valid certificate.
func validTLS(h measurement.TLSHandshake) bool { return h.Failure == nil && h.CertValid }

// handshakeAt returns the first handshake at ip with the real name (swap false) or the
// innocuous one (swap true). A redirect hop's handshake there for another name is not
// the target's.
func (a *analysis) handshakeAt(hs []measurement.TLSHandshake, ip string, swap bool) (measurement.TLSHandshake, bool) {
	i := slices.IndexFunc(hs, func(h measurement.TLSHandshake) bool {
		return h.IP == ip && h.SNISwap == swap && (swap || h.SNI == "" || strings.EqualFold(h.SNI, a.domain))
	})
	if i < 0 {
		return measurement.TLSHandshake{}, false
	}
	return hs[i], true
}

// tlsFinding is one address where the probe's handshake diverged from the control's.
type tlsFinding struct {
	ip   string
	kind int // tlsSNI, tlsIntercepted or tlsAny
	h    measurement.TLSHandshake
}

const (
	tlsSNI         = iota // fails with the real name only
	tlsIntercepted        // completes with a certificate the control did not see
	tlsAny                // fails with any name where the control completed
)

// tls compares the probe's handshakes at the addresses it connected to with the
// control's (rule 4). It decides when no address gave the probe a valid handshake.
func (a *analysis) tls(d dnsResult) (measurement.Verdict, bool) {
	var ips []string
	for _, c := range a.userConns() {
		if c.state == connOK {
			ips = append(ips, c.ip)
		}
	}
	ctlAnyValid, ctlAnyCompleted := false, false
	for _, h := range a.ctl.TLS {
		if !h.SNISwap {
			ctlAnyValid = ctlAnyValid || validTLS(h)
			ctlAnyCompleted = ctlAnyCompleted || completed(h)
		}
	}
	var ok, down []string
	var found []tlsFinding
	for _, ip := range ips {
		h, has := a.handshakeAt(a.m.TLS, ip, false)
		if !has {
			continue
		}
		c, hasC := a.handshakeAt(a.ctl.TLS, ip, false)
		switch {
		case validTLS(h):
			ok = append(ok, ip)
		case completed(h):
			switch {
			case hasC && validTLS(c) || !hasC && ctlAnyValid:
				found = append(found, tlsFinding{ip: ip, kind: tlsIntercepted, h: h})
				a.noteInterception(h, c, hasC)
			case hasC && completed(c):
				down = append(down, ip)
				a.note("TLS at %s: the certificate is not valid at the probe (%s) nor at the control (%s)", ip, str(h.Failure), str(c.Failure))
			}
		default:
			f := str(h.Failure)
			s, hasS := a.handshakeAt(a.m.TLS, ip, true)
			ctlDone := hasC && completed(c) || !hasC && ctlAnyCompleted
			switch {
			case hasC && !completed(c):
				down = append(down, ip)
				a.note("TLS at %s with SNI %s failed at the probe (%s) and at the control (%s)", ip, h.SNI, f, str(c.Failure))
			case !ctlDone:
			case hasS && completed(s):
				found = append(found, tlsFinding{ip: ip, kind: tlsSNI, h: h})
				a.note("TLS to %s with SNI %s %s (%s); with SNI %s succeeded", ip, h.SNI, word(f), f, s.SNI)
			default:
				found = append(found, tlsFinding{ip: ip, kind: tlsAny, h: h})
				if hasS {
					a.note("TLS to %s with SNI %s %s (%s); with SNI %s %s (%s) too; the control completed it", ip, h.SNI, word(f), f, s.SNI, word(str(s.Failure)), str(s.Failure))
				} else {
					a.note("TLS to %s with SNI %s %s (%s); the control completed it", ip, h.SNI, word(f), f)
				}
			}
		}
	}
	switch {
	case len(ok) > 0:
		if len(found) > 0 {
			a.note("partial: valid TLS handshakes at %s", list(ok))
		}
		return measurement.Verdict{}, false
	case a.fetchReplied() && len(found)+len(down) > 0:
		a.note("the fetch still got a reply from %s over TLS: the handshake failures did not stop it", a.m.HTTP[0].Address)
		return measurement.Verdict{}, false
	case len(found) > 0:
		return a.tlsBlocked(d, found), true
	case len(down) > 0:
		if d.wrong(down) {
			return a.attribute(d, down, measurement.MethodDNS, "", "could not complete a valid TLS handshake for the site"), true
		}
		return a.down(fmt.Sprintf("Neither the probe nor the control could complete a valid TLS handshake with %s at %s, so it is down rather than blocked.", a.domain, list(down))), true
	}
	return measurement.Verdict{}, false
}

// tlsBlocked phrases the TLS blocking, preferring the most specific finding.
func (a *analysis) tlsBlocked(d dnsResult, found []tlsFinding) measurement.Verdict {
	for _, kind := range []int{tlsSNI, tlsIntercepted, tlsAny} {
		var ips []string
		var first measurement.TLSHandshake
		for _, f := range found {
			if f.kind == kind {
				if len(ips) == 0 {
					first = f.h
				}
				ips = append(ips, f.ip)
			}
		}
		if len(ips) == 0 {
			continue
		}
		f := str(first.Failure)
		switch kind {
		case tlsSNI:
			return a.attribute(d, ips, measurement.MethodTLS,
				fmt.Sprintf("TLS handshakes naming %s %s (%s) while the same server accepted a handshake naming another site, so the blocking keys on the site's name (SNI filtering).", a.domain, happenedAll(f), f),
				"dropped handshakes naming the site")
		case tlsIntercepted:
			return a.attribute(d, ips, measurement.MethodTLS,
				fmt.Sprintf("The probe received a certificate not valid for %s (%s) while the control received a valid one, so the connection was intercepted.", a.domain, f),
				"presented a certificate not valid for the site")
		default:
			return a.attribute(d, ips, measurement.MethodTLS,
				fmt.Sprintf("TLS handshakes with %s at %s %s (%s) from the probe whatever the server name, while the control completed them.", a.domain, list(ips), happenedAll(f), f),
				"failed every TLS handshake")
		}
	}
	return a.inconclusive("The TLS analysis found nothing to report.")
}

// noteInterception records the certificates the probe and the control received.
func (a *analysis) noteInterception(h, c measurement.TLSHandshake, hasC bool) {
	got := "no certificate"
	if len(h.Certificates) > 0 {
		got = fmt.Sprintf("a certificate for %q issued by %q", leafName(h.Certificates[0]), h.Certificates[0].Issuer)
	}
	a.note("TLS to %s with SNI %s: %s, %s", h.IP, h.SNI, str(h.Failure), got)
	if hasC && len(c.Certificates) > 0 {
		a.note("the control got a valid certificate at %s issued by %q", c.IP, c.Certificates[0].Issuer)
	} else {
		a.note("the control got a valid certificate for %s", a.domain)
	}
}

func leafName(c measurement.Certificate) string {
	if len(c.DNSNames) > 0 {
		return strings.Join(c.DNSNames, " ")
	}
	return c.Subject
}

// validHandshake returns an address where the probe's handshake with the real name
// presented a valid certificate for the domain.
func (a *analysis) validHandshake() (string, bool) {
	for _, h := range a.m.TLS {
		if validTLS(h) && !h.SNISwap && strings.EqualFold(h.SNI, a.domain) {
			return h.IP, true
		}
	}
	return "", false
}
