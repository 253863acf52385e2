package verdict

import (
	"testing"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// Rules 5 and 6 (and the HTTP half of rules 2 and 8): the fetches compared.
func TestRule5HTTP(t *testing.T) {
	// reply is the probe resolving and connecting fine, then getting the given hops.
	reply := func(hops ...obs) opt {
		return probe(append([]obs{sys("A", siteIP), connect(siteIP, "")}, hops...)...)
	}
	blockPage := get(httpU, siteIP, 200, 900, "Internet Positif")
	run(t, []tc{
		{
			name:     "block page fingerprint in the body",
			m:        meas(httpU, reply(blockPage), control(plainSite(siteIP)), fingerprint("pantau.id_body_internetpositif", "body", "http[0] body")),
			status:   blocked,
			method:   mHTTP,
			reason:   "known block page (pantau.id_body_internetpositif)",
			evidence: []string{"fingerprint pantau.id_body_internetpositif matched http[0] body"},
		},
		{
			name: "block page reached through a redirect",
			m: meas(httpU,
				reply(get(httpU, siteIP, 302, 0, ""), get("http://blocked.isp.example/", lieIP, 200, 900, "Blocked")),
				control(plainSite(siteIP)),
				fingerprint("isp_redirect", "header.location", "http[0] header Location http://blocked.isp.example/")),
			status:   blocked,
			method:   mHTTP,
			reason:   "redirected to a known block page",
			evidence: []string{"fingerprint isp_redirect matched http[0] header Location"},
		},
		{
			name: "block page at a wrong DNS answer: DNS wins",
			m: meas(httpU, probe(sys("A", lieIP), connect(lieIP, ""), blockPage), control(plainSite(siteIP)),
				fingerprint("pantau.id_body_internetpositif", "body", "http[0] body")),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"ASN overlap could not be checked"},
		},
		{
			name:     "the fetch is reset while the control's succeeds",
			m:        meas(httpU, reply(getFail(httpU, siteIP, failure.ConnectionReset)), control(plainSite(siteIP))),
			status:   blocked,
			method:   mHTTP,
			reason:   "Fetching http://example.org/ from the probe was reset",
			evidence: []string{"probe fetch of http://example.org/ failed (connection_reset); control got status 200"},
		},
		{
			name:     "the fetch times out while the control's succeeds",
			m:        meas(httpU, reply(getFail(httpU, siteIP, failure.GenericTimeout)), control(plainSite(siteIP))),
			status:   blocked,
			method:   mHTTP,
			reason:   "timed out",
			evidence: []string{"failed (generic_timeout_error); control got status 200"},
		},
		{
			name: "a redirect to a host the probe cannot resolve",
			m: meas(httpU,
				reply(get(httpU, siteIP, 301, 0, ""), getFail("http://www.example.org/", "", failure.DNSNXDomain)),
				control(plainSite(siteIP))),
			status:   blocked,
			method:   mDNS,
			reason:   "could not resolve www.example.org",
			evidence: []string{"probe fetch of http://www.example.org/ failed (dns_nxdomain_error)"},
		},
		{
			name:     "both fetches fail: down",
			m:        meas(httpU, reply(getFail(httpU, siteIP, failure.EOF)), control(sys("A", siteIP), connect(siteIP, ""), getFail(httpU, siteIP, failure.GenericTimeout))),
			status:   down,
			evidence: []string{"control fetch of http://example.org/ failed (generic_timeout_error)"},
		},
		{
			name:     "plain HTTP: another status",
			m:        meas(httpU, reply(get(httpU, siteIP, 403, bodyLen, title)), control(plainSite(siteIP))),
			status:   blocked,
			method:   mHTTP,
			reason:   "status 403 instead of 200",
			evidence: []string{"probe got status 403"},
		},
		{
			name:     "plain HTTP: a much shorter page with another title",
			m:        meas(httpU, reply(blockPage), control(plainSite(siteIP))),
			status:   blocked,
			method:   mHTTP,
			reason:   "900 bytes instead of 10000",
			evidence: []string{`title "Internet Positif"`, "titles differ"},
		},
		{
			name:     "plain HTTP: a much shorter page, neither has a title",
			m:        meas(httpU, reply(get(httpU, siteIP, 200, 900, "")), control(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 200, bodyLen, ""))),
			status:   blocked,
			method:   mHTTP,
			evidence: []string{"probe got status 200, 900 bytes; control got status 200, 10000 bytes"},
		},
		{
			name:     "plain HTTP: a shorter page with the same title",
			m:        meas(httpU, reply(get(httpU, siteIP, 200, 900, "Example  Domain")), control(plainSite(siteIP))),
			status:   accessible,
			evidence: []string{"matches the control's"},
		},
		{
			name:     "plain HTTP: similar size, another title",
			m:        meas(httpU, reply(get(httpU, siteIP, 200, 9000, "Welcome")), control(plainSite(siteIP))),
			status:   accessible,
			evidence: []string{"the probe's page matches the control's"},
		},
		{
			name: "plain HTTP: truncated at both",
			m: meas(httpU,
				reply(get(httpU, siteIP, 200, 1<<19, ""), lastHop(func(h *measurement.HTTPRequest) { h.BodyTruncated = true })),
				control(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 200, 1<<19, ""), lastHop(func(h *measurement.HTTPRequest) { h.BodyTruncated = true }))),
			status:   accessible,
			evidence: []string{"524288 bytes (truncated)"},
		},
		{
			name: "plain HTTP: the control's page truncated, the probe's tiny",
			m: meas(httpU,
				reply(get(httpU, siteIP, 200, 500, "")),
				control(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 200, 1<<19, ""), lastHop(func(h *measurement.HTTPRequest) { h.BodyTruncated = true }))),
			status:   blocked,
			method:   mHTTP,
			evidence: []string{"body length ratio below 0.7"},
		},
		{
			name: "an OONI false-positive fingerprint (scope fp), even on the control's page, is no block page and no access",
			m: meas(httpsU, probe(site(siteIP)), control(site(siteIP)),
				func(m *measurement.Measurement) {
					m.Fingerprints = append(m.Fingerprints, measurement.FingerprintMatch{Name: "cp.fp_r_fp_6", Scope: "fp", Location: "body", PatternType: "regexp", Pattern: "<meta name=.*twitter:card", Where: "http[0] body"})
				}),
			status:   inconclusive,
			reason:   "known not to be a block page (cp.fp_r_fp_6)",
			evidence: []string{"fingerprint cp.fp_r_fp_6 (scope fp: a server-side challenge, parking or default page, not a block page) matched http[0] body"},
		},
		{
			name:     "HTTPS with a valid certificate: the content is authentic",
			m:        meas(httpsU, probe(sys("A", siteIP), connect(siteIP, ""), handshake(siteIP, domain, "", true), get(httpsU, siteIP, 200, 300, "Other")), control(site(siteIP))),
			status:   accessible,
			evidence: []string{"over HTTPS with a valid certificate"},
		},
		{
			name: "HTTPS after a plain-HTTP redirect to another host is not authentic",
			m: meas(httpU,
				reply(get(httpU, siteIP, 302, 0, ""), get("https://blocked.isp.example/", lieIP, 200, 900, "Blocked")),
				control(plainSite(siteIP))),
			status:   blocked,
			method:   mHTTP,
			evidence: []string{"title \"Blocked\""},
		},
		{
			name:     "the control got an error status: cannot judge",
			m:        meas(httpU, reply(get(httpU, siteIP, 200, 900, "Blocked")), control(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 503, 300, ""))),
			status:   inconclusive,
			reason:   "The control got status 503",
			evidence: []string{"control got status 503"},
		},
		{
			name:     "the probe got a page, the control's fetch failed",
			m:        meas(httpU, reply(get(httpU, siteIP, 200, bodyLen, title)), control(sys("A", siteIP), connect(siteIP, ""), getFail(httpU, siteIP, failure.GenericTimeout))),
			status:   inconclusive,
			evidence: []string{"control fetch failed (generic_timeout_error)"},
		},
		{
			name:     "the probe's fetch failed, the control did not fetch",
			m:        meas(httpU, reply(getFail(httpU, siteIP, failure.ConnectionReset)), control(sys("A", siteIP), connect(siteIP, ""))),
			status:   inconclusive,
			evidence: []string{"the control did not fetch it"},
		},
		{
			name:     "the probe did not fetch at all",
			m:        meas(httpU, probe(sys("A", siteIP), connect(siteIP, "")), control(plainSite(siteIP))),
			status:   inconclusive,
			reason:   "did not fetch",
			evidence: []string{"probe connects: 1 succeeded, 0 failed"},
		},
	})
}

// Rule 6: nothing diverged.
func TestRule6Accessible(t *testing.T) {
	run(t, []tc{
		{
			name:     "HTTPS",
			m:        meas(httpsU, probe(site(siteIP)), control(site(siteIP))),
			status:   accessible,
			reason:   "The probe fetched example.org over HTTPS with a valid certificate, as the control did.",
			evidence: []string{"probe fetched https://example.org/ with status 200"},
		},
		{
			name:     "plain HTTP",
			m:        meas(httpU, probe(plainSite(siteIP)), control(plainSite(siteIP))),
			status:   accessible,
			reason:   "The probe fetched example.org and got the same page as the control.",
			evidence: []string{"the probe's page matches the control's"},
		},
		{
			name: "HTTP upgraded to HTTPS",
			m: meas(httpU,
				probe(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 301, 0, ""), get(httpsU, siteIP, 200, bodyLen, title)),
				control(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 301, 0, ""), get(httpsU, siteIP, 200, bodyLen, title))),
			status:   accessible,
			reason:   "over HTTPS",
			evidence: []string{"probe fetched https://example.org/ with status 200"},
		},
	})
}
