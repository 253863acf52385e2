package verdict

import (
	"testing"

	"github.com/pantau-dev/pantau/internal/failure"
)

// Rule 4: TLS handshakes compared per address.
func TestRule4TLS(t *testing.T) {
	// at is the probe resolving and connecting to ip, then the given handshakes and fetch.
	at := func(ip string, rest ...obs) opt {
		return probe(append([]obs{sys("A", ip), connect(ip, "")}, rest...)...)
	}
	run(t, []tc{
		{
			name: "SNI filtering: reset with the real name, fine with another",
			m: meas(httpsU,
				at(siteIP, handshake(siteIP, domain, failure.ConnectionReset, false), swapped(siteIP, failure.SSLInvalidHostname), getFail(httpsU, siteIP, failure.ConnectionReset)),
				control(site(siteIP))),
			status:   blocked,
			method:   mTLS,
			reason:   "SNI filtering",
			evidence: []string{"TLS to " + siteIP + " with SNI example.org reset (connection_reset); with SNI example.com succeeded"},
		},
		{
			name: "SNI filtering by timeout, the swapped handshake fully valid",
			m: meas(httpsU,
				at(siteIP, handshake(siteIP, domain, failure.GenericTimeout, false), swapped(siteIP, ""), getFail(httpsU, siteIP, failure.GenericTimeout)),
				control(site(siteIP))),
			status:   blocked,
			method:   mTLS,
			evidence: []string{"timed out (generic_timeout_error); with SNI example.com succeeded"},
		},
		{
			name: "SNI filtering at a CDN address the control proved",
			m: meas(httpsU,
				at(cdnIP, handshake(cdnIP, domain, failure.EOF, false), swapped(cdnIP, failure.SSLInvalidHostname), getFail(httpsU, cdnIP, failure.EOF)),
				control(site(siteIP), connect(cdnIP, ""), handshake(cdnIP, domain, "", true))),
			status:   blocked,
			method:   mTLS,
			evidence: []string{"with SNI example.com succeeded"},
		},
		{
			name: "fails with any name while the control completes",
			m: meas(httpsU,
				at(siteIP, handshake(siteIP, domain, failure.ConnectionReset, false), swapped(siteIP, failure.ConnectionReset), getFail(httpsU, siteIP, failure.ConnectionReset)),
				control(site(siteIP))),
			status:   blocked,
			method:   mTLS,
			reason:   "whatever the server name",
			evidence: []string{"with SNI example.com reset (connection_reset) too; the control completed it"},
		},
		{
			name: "interception: a certificate the control did not get",
			m: meas(httpsU,
				at(siteIP, handshake(siteIP, domain, failure.SSLUnknownAuth, false), getFail(httpsU, siteIP, failure.SSLUnknownAuth)),
				control(site(siteIP))),
			status:   blocked,
			method:   mTLS,
			reason:   "intercepted",
			evidence: []string{`issued by "CN=Middlebox CA"`, `the control got a valid certificate at ` + siteIP + ` issued by "CN=Real CA"`},
		},
		{
			name: "interception at a wrong address from DNS: DNS wins",
			m: meas(httpsU,
				at(lieIP, handshake(lieIP, domain, failure.SSLInvalidHostname, false), getFail(httpsU, lieIP, failure.SSLInvalidHostname)),
				control(site(siteIP), connect(lieIP, ""), handshake(lieIP, domain, failure.SSLInvalidHostname, false))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"no valid certificate for example.org at " + lieIP},
		},
		{
			name: "interception only at an unconfirmed extra DNS answer: DNS wins",
			m: meas(httpsU,
				probe(sys("A", lieIP), sys("AAAA", siteV6), connect(lieIP, ""), connect(siteV6, failure.NetworkUnreachable),
					handshake(lieIP, domain, failure.SSLInvalidHostname, false), getFail(httpsU, lieIP, failure.SSLInvalidHostname)),
				control(site(siteIP), sys("AAAA", siteV6), connect(lieIP, ""), handshake(lieIP, domain, failure.SSLInvalidHostname, false))),
			status:   blocked,
			method:   mDNS,
			reason:   "The ISP's resolver sent the probe to " + lieIP,
			evidence: []string{lieIP + " came from the probe's DNS answers"},
		},
		{
			name: "partial: one address filtered, another fine",
			m: meas(httpsU,
				probe(site(siteIP), sys("A", siteIP2), connect(siteIP2, ""), handshake(siteIP2, domain, failure.ConnectionReset, false), swapped(siteIP2, "")),
				control(site(siteIP), connect(siteIP2, ""), handshake(siteIP2, domain, "", true))),
			status:   accessible,
			evidence: []string{"partial: valid TLS handshakes at " + siteIP},
		},
		{
			name: "TLS fails at both: down",
			m: meas(httpsU,
				at(siteIP, handshake(siteIP, domain, failure.SSLFailedHandshake, false), swapped(siteIP, failure.SSLFailedHandshake), getFail(httpsU, siteIP, failure.SSLFailedHandshake)),
				control(sys("A", siteIP), connect(siteIP, ""), handshake(siteIP, domain, failure.SSLFailedHandshake, false), getFail(httpsU, siteIP, failure.SSLFailedHandshake))),
			status:   down,
			evidence: []string{"failed at the probe (ssl_failed_handshake) and at the control (ssl_failed_handshake)"},
		},
		{
			name: "an invalid certificate at both: down",
			m: meas(httpsU,
				at(siteIP, handshake(siteIP, domain, failure.SSLInvalidCert, false), getFail(httpsU, siteIP, failure.SSLInvalidCert)),
				control(sys("A", siteIP), connect(siteIP, ""), handshake(siteIP, domain, failure.SSLInvalidCert, false), getFail(httpsU, siteIP, failure.SSLInvalidCert))),
			status:   down,
			evidence: []string{"the certificate is not valid at the probe"},
		},
	})
}

// A handshake that failed once does not outweigh a fetch that got through.
func TestRule4TransientFailure(t *testing.T) {
	run(t, []tc{{
		name: "handshake timed out, but the HTTPS fetch succeeded",
		m: meas(httpsU,
			probe(sys("A", siteIP), connect(siteIP, ""), handshake(siteIP, domain, failure.GenericTimeout, false), swapped(siteIP, failure.GenericTimeout), get(httpsU, siteIP, 200, bodyLen, title)),
			control(site(siteIP))),
		status:   accessible,
		evidence: []string{"the fetch still got a reply from " + siteIP + ":443 over TLS"},
	}})
}
