package verdict

import (
	"testing"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// Rule 3 (and the TCP half of rule 2): connects compared per address.
func TestRule3TCP(t *testing.T) {
	run(t, []tc{
		{
			name:     "every address times out while the control connects",
			m:        meas(httpsU, probe(sys("A", siteIP), connect(siteIP, failure.GenericTimeout)), control(site(siteIP), connect(siteIP, ""))),
			status:   blocked,
			method:   mTCP,
			reason:   "Connections to example.org at " + siteIP + " timed out from the probe",
			evidence: []string{"TCP connect to " + siteIP + " timed out (generic_timeout_error) from the probe; the control connected"},
		},
		{
			name: "two addresses, both reset",
			m: meas(httpU,
				probe(sys("A", siteIP, siteIP2), connect(siteIP, failure.ConnectionReset), connect(siteIP2, failure.ConnectionReset)),
				control(plainSite(siteIP), connect(siteIP2, ""))),
			status:   blocked,
			method:   mTCP,
			reason:   "were reset",
			evidence: []string{"TCP connect to " + siteIP2 + " reset (connection_reset)"},
		},
		{
			name: "partial: one address blocked, another connects",
			m: meas(httpsU,
				probe(site(siteIP), sys("A", siteIP2), connect(siteIP2, failure.GenericTimeout)),
				control(site(siteIP), connect(siteIP2, ""))),
			status:   accessible,
			evidence: []string{"TCP connect to " + siteIP2 + " timed out", "partial: the probe connected to " + siteIP},
		},
		{
			name: "no IPv6 at the probe: unreachable IPv6 addresses are ignored",
			m: meas(httpsU,
				probe(site(siteIP), sys("AAAA", siteV6), connect(siteV6, failure.NetworkUnreachable)),
				control(site(siteIP), sys("AAAA", siteV6), connect(siteV6, ""))),
			status:   accessible,
			evidence: []string{"ignored " + siteV6 + ": network_unreachable at the probe (no IPv6 connectivity)"},
		},
		{
			name: "IPv4 blocked, IPv6 unreachable: still blocked",
			m: meas(httpsU,
				probe(sys("A", siteIP), sys("AAAA", siteV6), connect(siteIP, failure.GenericTimeout), connect(siteV6, failure.NetworkUnreachable)),
				control(site(siteIP), sys("AAAA", siteV6), connect(siteV6, ""))),
			status:   blocked,
			method:   mTCP,
			evidence: []string{"ignored " + siteV6},
		},
		{
			name: "only IPv6 addresses and no IPv6 at the probe",
			m: meas(httpsU,
				probe(sys("AAAA", siteV6), connect(siteV6, failure.HostUnreachable)),
				control(sys("AAAA", siteV6), connect(siteV6, ""), handshake(siteV6, domain, "", true), get(httpsU, siteV6, 200, bodyLen, title))),
			status:   inconclusive,
			reason:   "no working IPv6 route",
			evidence: []string{"host_unreachable at the probe (no IPv6 connectivity)"},
		},
		{
			name: "nothing reachable at both",
			m: meas(httpsU,
				probe(sys("A", siteIP), connect(siteIP, failure.ConnectionRefused)),
				control(sys("A", siteIP), connect(siteIP, failure.ConnectionRefused), getFail(httpsU, siteIP, failure.ConnectionRefused))),
			status:   down,
			reason:   "Neither the probe nor the control could connect to example.org",
			evidence: []string{"failed at the probe (connection_refused) and at the control (connection_refused)"},
		},
		{
			name: "the probe times out where the control is refused: down",
			m: meas(httpsU,
				probe(sys("A", siteIP), connect(siteIP, failure.GenericTimeout)),
				control(sys("A", siteIP), connect(siteIP, failure.ConnectionRefused))),
			status:   down,
			evidence: []string{"failed at the probe (generic_timeout_error) and at the control (connection_refused)"},
		},
		{
			name: "the control did not try the probe's address",
			m: meas(httpsU,
				probe(sys("A", siteIP), sys("A", siteIP2), connect(siteIP2, failure.GenericTimeout)),
				control(sys("A", siteIP))),
			status:   inconclusive,
			evidence: []string{"the control did not try it"},
		},
		{
			name: "a failure at an address only the control's DNS gave is evidence only",
			m: meas(httpsU,
				probe(site(siteIP), connectFrom(siteIP2, measurement.OriginControl, failure.GenericTimeout)),
				control(site(siteIP), sys("A", siteIP2), connect(siteIP2, ""))),
			status:   accessible,
			evidence: []string{"TCP connect to the control's address " + siteIP2 + " timed out"},
		},
	})
}

// Rule 3 for connect-only targets.
func TestRule3TCPTargets(t *testing.T) {
	const target = "tcp://example.org:22"
	ipTarget := "tcp://" + siteIP + ":22"
	lit := func(f string) obs { return connectFrom(siteIP, measurement.OriginTarget, f) }
	run(t, []tc{
		{
			name:     "the probe connects",
			m:        meas(target, probe(sys("A", siteIP), connect(siteIP, "")), control(sys("A", siteIP), connect(siteIP, ""))),
			status:   accessible,
			reason:   "The probe connected to tcp://example.org:22 just as the control did.",
			evidence: []string{"the probe connected to " + siteIP},
		},
		{
			name:     "the probe fails, the control connects",
			m:        meas(target, probe(sys("A", siteIP), connect(siteIP, failure.GenericTimeout)), control(sys("A", siteIP), connect(siteIP, ""))),
			status:   blocked,
			method:   mTCP,
			reason:   "Connections to tcp://example.org:22 at " + siteIP + " timed out",
			evidence: []string{"timed out (generic_timeout_error) from the probe; the control connected"},
		},
		{
			name:     "both fail",
			m:        meas(target, probe(sys("A", siteIP), connect(siteIP, failure.ConnectionRefused)), control(sys("A", siteIP), connect(siteIP, failure.ConnectionRefused))),
			status:   down,
			evidence: []string{"failed at the probe (connection_refused) and at the control (connection_refused)"},
		},
		{
			name:     "IP literal, the probe fails, the control connects",
			m:        meas(ipTarget, probe(lit(failure.ConnectionReset)), control(lit(""))),
			status:   blocked,
			method:   mTCP,
			reason:   "were reset",
			evidence: []string{"reset (connection_reset) from the probe; the control connected"},
		},
		{
			name:     "IP literal, both fail",
			m:        meas(ipTarget, probe(lit(failure.GenericTimeout)), control(lit(failure.GenericTimeout))),
			status:   down,
			evidence: []string{"failed at the probe (generic_timeout_error) and at the control (generic_timeout_error)"},
		},
		{
			name:     "IP literal, the probe connects",
			m:        meas(ipTarget, probe(lit("")), control(lit(""))),
			status:   accessible,
			evidence: []string{"the probe connected to " + siteIP},
		},
		{
			name:     "NXDOMAIN while the control resolved",
			m:        meas(target, probe(sysFail("A", failure.DNSNXDomain)), control(sys("A", siteIP), connect(siteIP, ""))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"system resolver failed (dns_nxdomain_error); control returned"},
		},
	})
}

// A connect that failed once does not outweigh a fetch that got through.
func TestRule3TransientFailure(t *testing.T) {
	run(t, []tc{{
		name:     "connect timed out, but the fetch got a reply",
		m:        meas(httpU, probe(sys("A", siteIP), connect(siteIP, failure.GenericTimeout), get(httpU, siteIP, 200, bodyLen, title)), control(plainSite(siteIP))),
		status:   accessible,
		evidence: []string{"the fetch still got a reply from " + siteIP + ":80"},
	}})
}
