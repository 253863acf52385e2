// Package verdict derives a measurement's verdict (accessible, blocked, down or
// inconclusive, and the blocking method) from its raw observations and the control's.
// It is a pure function of the measurement: no I/O, no clock, no state. The rules, in
// precedence order and with their reasoning, are in docs/verdicts.md; each step of the
// chain DNS → TCP → TLS → HTTP lives in its own file.
package verdict

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// Of returns the verdict for m from m.Observations, m.Fingerprints and m.Control. It
// reads nothing else and never mutates m.
func Of(m *measurement.Measurement) measurement.Verdict {
	if m == nil {
		return clean(measurement.Verdict{Status: measurement.StatusInconclusive, Reason: "There is no measurement to judge."})
	}
	a := newAnalysis(m)
	var v measurement.Verdict
	if a.tcpKind {
		v = a.tcpTarget()
	} else {
		v = a.web()
	}
	return clean(a.unlessIntercepted(v))
}

// analysis is the state of one verdict being derived: the measurement, the usable
// control (nil when there is none) and the evidence gathered so far.
type analysis struct {
	m        *measurement.Measurement
	ctl      *measurement.Observations // nil: no usable control
	domain   string                    // the target's host, without brackets
	tcpKind  bool                      // tcp://HOST:PORT: connect only
	https    bool                      // TLS is part of the measurement
	ipTarget bool                      // the host is an IP literal: no DNS
	// v6works is set when some IPv6 connect or fetch of this measurement succeeded: only
	// then do IPv6 timeouts say anything about the site.
	v6works bool
	// fingerprinted is set once a block-page fingerprint was noted: the verdict rests on a
	// known block page, which no other evidence overrides.
	fingerprinted bool
	ev            []string
}

func newAnalysis(m *measurement.Measurement) *analysis {
	a := &analysis{m: m}
	if m.Control != nil && m.Control.Failure == nil {
		a.ctl = &m.Control.Observations
	}
	a.domain = strings.TrimSuffix(strings.TrimPrefix(m.Domain, "["), "]")
	_, err := netip.ParseAddr(a.domain)
	a.ipTarget = err == nil
	target := strings.ToLower(m.Target)
	a.tcpKind = m.Kind == measurement.KindTCP || (m.Kind != measurement.KindWeb && strings.HasPrefix(target, "tcp://"))
	a.https = !a.tcpKind && strings.HasPrefix(target, "https://")
	a.v6works = ipv6Worked(m)
	return a
}

// note adds one fact to the evidence.
func (a *analysis) note(format string, args ...any) {
	a.ev = append(a.ev, fmt.Sprintf(format, args...))
}

func (a *analysis) verdict(status, method, reason string) measurement.Verdict {
	return measurement.Verdict{Status: status, Method: method, Reason: reason, Evidence: a.ev}
}

func (a *analysis) blocked(method, reason string) measurement.Verdict {
	return a.verdict(measurement.StatusBlocked, method, reason)
}

func (a *analysis) accessible(reason string) measurement.Verdict {
	return a.verdict(measurement.StatusAccessible, "", reason)
}

func (a *analysis) down(reason string) measurement.Verdict {
	return a.verdict(measurement.StatusDown, "", reason)
}

func (a *analysis) inconclusive(reason string) measurement.Verdict {
	return a.verdict(measurement.StatusInconclusive, "", reason)
}

// web judges a web target: DNS, then TCP, TLS (https) and HTTP, stopping at the first
// step where the probe diverged from the control.
func (a *analysis) web() measurement.Verdict {
	d := a.dns()
	if a.ctl == nil {
		return a.withoutControl(d)
	}
	switch d.outcome {
	case dnsBlocked:
		if !d.soft || !a.sameAsControl() || !a.fetchedThrough(d.injected) {
			if d.soft && len(a.ctl.HTTP) > 0 && !a.controlPageOwn() {
				a.note("the control fetched its page through %s, not an address its own DNS returned: its page cannot vouch for the probe's", a.ctl.HTTP[0].Address)
			}
			return a.blocked(measurement.MethodDNS, d.reason)
		}
		if len(d.injected) > 0 {
			a.note("the page fetched through the injected answer %s matches the control's (a transparent proxy): not counted as DNS blocking", list(d.injected))
		} else {
			a.note("answers differ from the control's, but the page matches the control's (CDN)")
		}
		d.unconfirmed = nil
	case dnsDown:
		return a.down(d.reason)
	case dnsUnclear:
		return a.inconclusive(d.reason)
	}
	if v, done := a.tcp(d); done {
		return v
	}
	if a.https {
		if v, done := a.tls(d); done {
			return v
		}
	}
	return a.http(d)
}

// tcpTarget judges a tcp://HOST:PORT target: DNS (for a name), then the connects.
func (a *analysis) tcpTarget() measurement.Verdict {
	d := a.dns()
	if a.ctl == nil {
		return a.withoutControl(d)
	}
	switch d.outcome {
	case dnsBlocked:
		both := a.connectedAtBoth()
		if !d.soft || len(d.injected) > 0 || len(both) == 0 {
			return a.blocked(measurement.MethodDNS, d.reason)
		}
		a.note("answers differ from the control's, but the probe and the control both connected to %s (CDN or geo-DNS)", list(both))
		d.unconfirmed = nil
	case dnsDown:
		return a.down(d.reason)
	case dnsUnclear:
		return a.inconclusive(d.reason)
	}
	if v, done := a.tcp(d); done {
		return v
	}
	return a.accessible(fmt.Sprintf("The probe connected to %s just as the control did.", a.m.Target))
}

// withoutControl is the verdict when no control is available: blocked only when the
// probe's own observations are certain (a bogon or block-page answer, a known block
// page), accessible only when they are certain too (an HTTPS page behind a valid
// certificate for the name); everything else is inconclusive.
func (a *analysis) withoutControl(d dnsResult) measurement.Verdict {
	if a.m.Control != nil && a.m.Control.Failure != nil {
		a.note("control unavailable: %s", *a.m.Control.Failure)
	} else {
		a.note("no control measurement")
	}
	if d.outcome == dnsBlocked && d.certain {
		return a.blocked(measurement.MethodDNS, d.reason)
	}
	if !a.tcpKind {
		if fp, ok := a.httpFingerprint(); ok {
			a.noteFingerprint(fp)
			return a.blocked(measurement.MethodHTTP, blockPageReason(fp))
		}
		if v, ok := a.serverSidePage(); ok {
			return v
		}
		if final, ok := a.authenticFetch(); ok {
			a.note("probe fetched %s with status %d over HTTPS with a valid certificate", final.URL, final.Status)
			if ip, ok := a.validHandshake(); ok {
				a.note("no control: valid certificate for %s at %s (TLS with the real SNI) proves the site was reached", a.domain, ip)
				return a.accessible(fmt.Sprintf("The probe fetched %s over HTTPS with a valid certificate for the name, which only the site can present, so it is reachable although no control measurement was available.", a.domain))
			}
			return a.inconclusive(fmt.Sprintf("The probe fetched an authentic page from %s over HTTPS, but no control measurement was available to confirm the site is working normally.", a.domain))
		}
	}
	a.noteProbeOutcome()
	return a.inconclusive(fmt.Sprintf("No control measurement was available to compare with, and nothing the probe saw proves that %s is blocked.", a.domain))
}

// noteProbeOutcome summarises how far the probe got, for inconclusive verdicts.
func (a *analysis) noteProbeOutcome() {
	m := a.m
	if n := len(m.HTTP); n > 0 {
		h := m.HTTP[n-1]
		if h.Failure != nil {
			a.note("probe fetch of %s failed (%s)", h.URL, *h.Failure)
		} else {
			a.note("probe fetch of %s ended with status %d", h.URL, h.Status)
		}
		return
	}
	ok, failed := 0, 0
	for _, c := range m.TCP {
		if c.Failure == nil {
			ok++
		} else {
			failed++
		}
	}
	if ok+failed > 0 {
		a.note("probe connects: %d succeeded, %d failed", ok, failed)
	}
}
