package verdict

import (
	"testing"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// Names the control finds not to exist, answered by the ISP's resolver.
func TestGhostDomain(t *testing.T) {
	ghost := control(sysFail("A", failure.DNSNXDomain), sysFail("AAAA", failure.DNSNXDomain))
	run(t, []tc{
		{
			name: "the ISP's answer serves a known block page (body)",
			m: meas(httpU, lie(), ghost,
				fingerprint("pantau.id_body_internetpositif", "body", "http[0] body")),
			status:   blocked,
			method:   mDNS,
			reason:   "which served a known block page (pantau.id_body_internetpositif), although the control found that example.org does not exist",
			evidence: []string{"returned " + lieIP + "; control failed (dns_nxdomain_error)", "fingerprint pantau.id_body_internetpositif matched http[0] body"},
		},
		{
			name: "the ISP's answer redirects to a known block page",
			m: meas(httpU,
				probe(sys("A", lieIP), connect(lieIP, ""), get(httpU, lieIP, 302, 0, ""), located("http://lamanlabuh.aduankonten.id/"),
					get("http://lamanlabuh.aduankonten.id/", lieIP, 200, 900, "Internet Positif")),
				ghost,
				fingerprint("pantau.id_location_aduankonten", "header.location", `http[0] header.location "http://lamanlabuh.aduankonten.id/"`)),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"fingerprint pantau.id_location_aduankonten matched http[0] header.location"},
		},
		{
			name: "the ISP's answer is a known block-page address (https)",
			m: meas(httpsU,
				probe(sys("A", lieIP), connect(lieIP, ""), handshake(lieIP, domain, failure.SSLInvalidHostname, false), getFail(httpsU, lieIP, failure.SSLInvalidHostname)),
				ghost,
				fingerprint("pantau.id_dns_telkom_uzone", "dns", "dns "+sysRes+" A answer "+lieIP)),
			status:   blocked,
			method:   mDNS,
			reason:   "known block page (" + lieIP + ")",
			evidence: []string{"fingerprint pantau.id_dns_telkom_uzone matched dns " + sysRes + " A answer " + lieIP},
		},
		{
			name: "an injected address ahead of the resolver's NXDOMAIN (https)",
			m: meas(httpsU,
				probe(sys("A", lieIP), late("NXDOMAIN"), connect(lieIP, failure.ConnectionRefused)),
				ghost),
			status:   blocked,
			method:   mDNS,
			reason:   "injected a forged DNS reply (" + lieIP + ") for example.org ahead of the resolver's own reply (NXDOMAIN)",
			evidence: []string{"first reply " + lieIP + ", then a later reply NXDOMAIN"},
		},
		{
			name: "an address and then an empty reply while the control resolved: no injection",
			m: meas(httpU,
				probe(sys("A", cdnIP), late("NOERROR"), connect(cdnIP, ""), get(httpU, cdnIP, 200, bodyLen, title)),
				control(plainSite(siteIP), connect(cdnIP, ""))),
			status:   accessible,
			evidence: []string{"not counted as injection: the later reply does not agree with the control either", "(CDN)"},
		},
		{
			name:     "the ISP's answer serves nothing known: inconclusive",
			m:        meas(httpU, lie(), ghost),
			status:   inconclusive,
			reason:   "The control found no address for example.org",
			evidence: []string{"returned " + lieIP + "; control failed (dns_nxdomain_error)"},
		},
		{
			name: "the ISP's answer serves a parking page (scope fp): inconclusive",
			m: meas(httpU, lie(), ghost,
				serverSide("cp.fp_x_fpru_domain_register", "body", "http[0] body")),
			status:   inconclusive,
			evidence: []string{"control failed (dns_nxdomain_error)"},
		},
	})
}

// An injected answer whose server relays the site (a transparent proxy) is no block.
func TestTransparentProxy(t *testing.T) {
	run(t, []tc{
		{
			name: "the page fetched through the injected address is the control's",
			m: meas(httpU,
				probe(sys("A", lieIP), late("NOERROR", siteIP), connect(lieIP, ""), get(httpU, lieIP, 200, bodyLen, title)),
				control(plainSite(siteIP), connect(lieIP, ""))),
			status:   accessible,
			evidence: []string{"first reply " + lieIP + ", then a later reply " + siteIP, "through the injected answer " + lieIP + " matches the control's (a transparent proxy)"},
		},
		{
			name: "same status and body size, no titles",
			m: meas(httpU,
				probe(sys("A", lieIP), late("NOERROR", siteIP), connect(lieIP, ""), get(httpU, lieIP, 200, bodyLen-100, "")),
				control(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 200, bodyLen, ""), connect(lieIP, ""))),
			status:   accessible,
			evidence: []string{"first reply " + lieIP, "transparent proxy"},
		},
		{
			name: "the page fetched through the injected address differs",
			m: meas(httpU,
				probe(sys("A", lieIP), late("NOERROR", siteIP), connect(lieIP, ""), get(httpU, lieIP, 200, 900, "Internet Positif")),
				control(plainSite(siteIP), connect(lieIP, ""))),
			status:   blocked,
			method:   mDNS,
			reason:   "injected a forged DNS reply (" + lieIP + ")",
			evidence: []string{"first reply " + lieIP + ", then a later reply " + siteIP},
		},
		{
			name: "the page is the control's but was fetched elsewhere",
			m: meas(httpU,
				probe(sys("A", lieIP), late("NOERROR", siteIP), connect(lieIP, failure.GenericTimeout), connect(siteIP, ""), get(httpU, siteIP, 200, bodyLen, title)),
				control(plainSite(siteIP), connect(lieIP, ""))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"first reply " + lieIP + ", then a later reply " + siteIP},
			absent:   []string{"transparent proxy"},
		},
	})
}

// A home router forwarding to two upstream resolvers relays two different, honest
// replies: that is no injection.
func TestTwoUpstreams(t *testing.T) {
	const router = "udp://192.168.1.1:53"
	const router2 = "udp://192.168.1.2:53"
	run(t, []tc{
		{
			name: "two CDN answers, neither the control's, the page matches",
			m: meas(httpU,
				probe(sys("A", cdnIP), late("NOERROR", siteIP2), connect(cdnIP, ""), get(httpU, cdnIP, 200, bodyLen, title)),
				control(plainSite(siteIP), connect(cdnIP, ""))),
			status:   accessible,
			evidence: []string{"not counted as injection: the later reply does not agree with the control either", "(CDN)"},
			absent:   []string{"transparent proxy"},
		},
		{
			name: "the first reply in the AS of the confirmed later one",
			m: meas(httpU,
				probe(query(router, "udp", true, "A", cdnIP), asn(54113), late("NOERROR", siteIP), last(func(q *measurement.DNSQuery) { q.LateReplies[0].Answers[0].ASN = 54113 }),
					connect(cdnIP, ""), get(httpU, cdnIP, 200, 7000, "Example Domain")),
				control(plainSite(siteIP), connect(cdnIP, ""))),
			status:   accessible,
			evidence: []string{"not counted as injection: the first reply is in AS54113 like the confirmed later one"},
		},
		{
			name: "the first reply proven by a valid certificate",
			m: meas(httpsU,
				probe(site(cdnIP), late("NOERROR", siteIP)),
				control(site(siteIP))),
			status:   accessible,
			evidence: []string{"not counted as injection: the first reply is confirmed too", "presented a valid certificate"},
		},
		{
			name: "two system resolvers, the second's answer in the AS of the first's confirmed one",
			m: meas(httpsU,
				probe(query(router, "udp", true, "A", cdnIP), asn(54113), query(router2, "udp", true, "A", siteIP2), asn(54113),
					connect(cdnIP, ""), handshake(cdnIP, domain, "", true), connect(siteIP2, failure.GenericTimeout), get(httpsU, cdnIP, 200, bodyLen, title)),
				control(site(siteIP), asn(15133), connect(cdnIP, ""), connect(siteIP2, ""))),
			status:   accessible,
			evidence: []string{"DNS answer " + cdnIP + " presented a valid certificate"},
			absent:   []string{"which the control did not confirm"},
		},
	})
}

// Server-side challenges, parking and default pages (fingerprints of scope fp).
func TestServerSidePages(t *testing.T) {
	challenge := func(m *measurement.Measurement) {
		serverSide("pantau.fp_cloudflare_challenge", "header.cf-mitigated", `http[0] header.cf-mitigated "challenge"`)(m)
	}
	run(t, []tc{
		{
			name: "a Cloudflare challenge over HTTPS while the control got the page",
			m: meas(httpsU,
				probe(sys("A", siteIP), connect(siteIP, ""), handshake(siteIP, domain, "", true), get(httpsU, siteIP, 403, 5000, "Just a moment...")),
				control(site(siteIP)), challenge),
			status:   inconclusive,
			reason:   "known not to be a block page (pantau.fp_cloudflare_challenge)",
			evidence: []string{"fingerprint pantau.fp_cloudflare_challenge (scope fp", "probe fetch of https://example.org/ ended with status 403"},
		},
		{
			name: "a parking page over plain HTTP is no HTTP block",
			m: meas(httpU,
				probe(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 200, 2000, "Domain parked")),
				control(plainSite(siteIP)), serverSide("pantau.fp_parking", "body", "http[0] body")),
			status:   inconclusive,
			evidence: []string{"fingerprint pantau.fp_parking (scope fp"},
		},
		{
			name: "a challenge without a control, valid certificate or not",
			m: meas(httpsU,
				probe(sys("A", siteIP), connect(siteIP, ""), handshake(siteIP, domain, "", true), get(httpsU, siteIP, 403, 5000, "Just a moment...")),
				challenge),
			status:   inconclusive,
			evidence: []string{"no control measurement", "(scope fp"},
		},
		{
			name: "a challenge at both vantage points: nobody saw the content",
			m: meas(httpU,
				probe(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 403, 5000, "Just a moment...")),
				control(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 403, 5000, "Just a moment...")), challenge),
			status:   inconclusive,
			evidence: []string{"fingerprint pantau.fp_cloudflare_challenge (scope fp"},
		},
		{
			name: "a scope-fp match on an earlier hop says nothing about the final page",
			m: meas(httpU,
				probe(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 302, 0, ""), located("/home"), get("http://example.org/home", siteIP, 200, 900, "Blocked")),
				control(plainSite(siteIP)), serverSide("pantau.fp_parking", "body", "http[0] body")),
			status:   blocked,
			method:   mHTTP,
			evidence: []string{"titles differ"},
		},
		{
			name: "a known block page wins over a scope-fp match",
			m: meas(httpU,
				probe(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 200, 900, "Internet Positif")),
				control(plainSite(siteIP)), serverSide("pantau.fp_parking", "body", "http[0] body"),
				fingerprint("pantau.id_body_internetpositif", "body", "http[0] body")),
			status:   blocked,
			method:   mHTTP,
			evidence: []string{"fingerprint pantau.id_body_internetpositif matched http[0] body"},
		},
	})
}

// A redirect hop that fails is judged by the step it failed at.
func TestRedirectHopMethods(t *testing.T) {
	const www = "https://www.example.org/"
	// hop is the probe reaching the site, redirected to www at cdnIP, where f happened.
	hop := func(u, f string) opt {
		return probe(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 301, 0, ""), located(u), getFail(u, cdnIP, f))
	}
	ctl := control(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 301, 0, ""), located(www), get(www, cdnIP, 200, bodyLen, title))
	run(t, []tc{
		{
			name:     "refused",
			m:        meas(httpU, hop(www, failure.ConnectionRefused), ctl),
			status:   blocked,
			method:   mTCP,
			reason:   "The connection to www.example.org, which the fetch of example.org was redirected to, was refused",
			evidence: []string{"probe fetch of " + www + " failed (connection_refused)"},
		},
		{
			name:     "timed out",
			m:        meas(httpU, hop(www, failure.GenericTimeout), ctl),
			status:   blocked,
			method:   mTCP,
			evidence: []string{"failed (generic_timeout_error); control got status 200"},
		},
		{
			name:     "reset during the TLS handshake",
			m:        meas(httpU, hop(www, failure.ConnectionReset), ctl),
			status:   blocked,
			method:   mTLS,
			reason:   "The TLS handshake with www.example.org was reset",
			evidence: []string{"failed (connection_reset)"},
		},
		{
			name:     "cut off during the TLS handshake",
			m:        meas(httpU, hop(www, failure.EOF), ctl),
			status:   blocked,
			method:   mTLS,
			evidence: []string{"failed (eof_error)"},
		},
		{
			name:     "reset on a plain-HTTP hop",
			m:        meas(httpU, hop("http://www.example.org/", failure.ConnectionReset), ctl),
			status:   blocked,
			method:   mHTTP,
			evidence: []string{"failed (connection_reset)"},
		},
		{
			name:     "an unknown failure",
			m:        meas(httpU, hop(www, "unknown_failure: something odd"), ctl),
			status:   inconclusive,
			reason:   "could not classify",
			evidence: []string{"failed (unknown_failure: something odd)"},
		},
		{
			name: "a timeout on the first hop after the connect step connected stays http",
			m: meas(httpU,
				probe(sys("A", siteIP), connect(siteIP, ""), getFail(httpU, siteIP, failure.GenericTimeout)),
				control(plainSite(siteIP))),
			status:   blocked,
			method:   mHTTP,
			evidence: []string{"failed (generic_timeout_error)"},
		},
	})
}

// A final redirect that the engine could not follow is not a page.
func TestUnusableRedirect(t *testing.T) {
	stuck := func(loc string) opt {
		return probe(sys("A", siteIP), connect(siteIP, ""), handshake(siteIP, domain, "", true), get(httpsU, siteIP, 302, 0, ""), located(loc))
	}
	run(t, []tc{
		{
			name:     "an empty location over HTTPS",
			m:        meas(httpsU, stuck(""), control(site(siteIP))),
			status:   inconclusive,
			reason:   "redirect to a location that cannot be followed",
			evidence: []string{`ended with status 302 and location ""`},
		},
		{
			name:     "another scheme over HTTPS",
			m:        meas(httpsU, stuck("market://details?id=x"), control(site(siteIP))),
			status:   inconclusive,
			evidence: []string{`location "market://details?id=x"`},
		},
		{
			name:     "the same redirect at the control",
			m:        meas(httpsU, stuck(""), control(sys("A", siteIP), connect(siteIP, ""), handshake(siteIP, domain, "", true), get(httpsU, siteIP, 302, 0, ""))),
			status:   accessible,
			evidence: []string{"the probe's page matches the control's"},
		},
		{
			name:     "no control: not authentic",
			m:        meas(httpsU, stuck("")),
			status:   inconclusive,
			reason:   "No control measurement was available",
			evidence: []string{"probe fetch of https://example.org/ ended with status 302"},
		},
		{
			name: "plain HTTP: compared like any reply",
			m: meas(httpU,
				probe(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 302, 0, ""), located("")),
				control(plainSite(siteIP))),
			status:   blocked,
			method:   mHTTP,
			reason:   "status 302 instead of 200",
			evidence: []string{"probe got status 302"},
		},
	})
}

// IPv6 timeouts count only when the probe's IPv6 is shown to work.
func TestIPv6Unproven(t *testing.T) {
	const v6b = "2606:2800:220:1::35"
	run(t, []tc{
		{
			name: "only IPv6 answers, all time out, the control connects",
			m: meas(httpsU,
				probe(sys("AAAA", siteV6), connect(siteV6, failure.GenericTimeout)),
				control(sys("AAAA", siteV6), connect(siteV6, ""), handshake(siteV6, domain, "", true), get(httpsU, siteV6, 200, bodyLen, title))),
			status:   inconclusive,
			reason:   "no working IPv6 route",
			evidence: []string{"ignored " + siteV6 + ": generic_timeout_error at the probe (no IPv6 connect succeeded in this measurement"},
		},
		{
			name: "IPv4 and IPv6 time out: blocked at the IPv4 address only",
			m: meas(httpsU,
				probe(sys("A", siteIP), sys("AAAA", siteV6), connect(siteIP, failure.GenericTimeout), connect(siteV6, failure.GenericTimeout)),
				control(site(siteIP), sys("AAAA", siteV6), connect(siteV6, ""))),
			status:   blocked,
			method:   mTCP,
			reason:   "Connections to example.org at " + siteIP + " timed out",
			evidence: []string{"ignored " + siteV6},
		},
		{
			name: "IPv4 connects, IPv6 times out: accessible, the IPv6 failure ignored",
			m: meas(httpsU,
				probe(site(siteIP), sys("AAAA", siteV6), connect(siteV6, failure.GenericTimeout)),
				control(site(siteIP), sys("AAAA", siteV6), connect(siteV6, ""))),
			status:   accessible,
			evidence: []string{"ignored " + siteV6},
			absent:   []string{"partial"},
		},
		{
			name: "IPv6 shown to work by another address: the timeout counts",
			m: meas(httpsU,
				probe(sys("AAAA", siteV6), connect(siteV6, failure.GenericTimeout), connectFrom(v6b, measurement.OriginControl, "")),
				control(sys("AAAA", siteV6, v6b), connect(siteV6, ""), connect(v6b, ""))),
			status:   blocked,
			method:   mTCP,
			evidence: []string{"TCP connect to " + siteV6 + " timed out (generic_timeout_error) from the probe; the control connected"},
		},
		{
			name: "an IPv6 reset is an answer: it counts",
			m: meas(httpsU,
				probe(sys("AAAA", siteV6), connect(siteV6, failure.ConnectionReset)),
				control(sys("AAAA", siteV6), connect(siteV6, ""))),
			status:   blocked,
			method:   mTCP,
			evidence: []string{"reset (connection_reset) from the probe"},
		},
		{
			name: "IPv6 times out at both: down",
			m: meas(httpsU,
				probe(sys("AAAA", siteV6), connect(siteV6, failure.GenericTimeout)),
				control(sys("AAAA", siteV6), connect(siteV6, failure.GenericTimeout))),
			status:   down,
			evidence: []string{"failed at the probe (generic_timeout_error) and at the control (generic_timeout_error)"},
		},
	})
}
