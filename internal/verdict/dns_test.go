package verdict

import (
	"testing"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

const (
	blocked      = measurement.StatusBlocked
	accessible   = measurement.StatusAccessible
	down         = measurement.StatusDown
	inconclusive = measurement.StatusInconclusive
	mDNS         = measurement.MethodDNS
	mTCP         = measurement.MethodTCP
	mTLS         = measurement.MethodTLS
	mHTTP        = measurement.MethodHTTP
)

// lie is a probe that resolved example.org to lieIP and fetched what is there over
// plain HTTP: a page that is not the site's.
func lie() opt {
	return probe(sys("A", lieIP), connect(lieIP, ""), get(httpU, lieIP, 200, 900, "Internet Positif"))
}

// Rule 1: the probe's DNS answers must be the site's.
func TestRule1DNSConsistency(t *testing.T) {
	run(t, []tc{
		{
			name:     "same address as the control",
			m:        meas(httpsU, probe(site(siteIP)), control(site(siteIP))),
			status:   accessible,
			evidence: []string{"DNS answers overlap the control's (" + siteIP + ")"},
		},
		{
			name:     "one shared address among several",
			m:        meas(httpsU, probe(site(siteIP), sys("A", siteIP2)), control(site(siteIP2), sys("A", cdnIP))),
			status:   accessible,
			evidence: []string{"overlap the control's (" + siteIP2 + ")"},
		},
		{
			name: "disjoint answers in the same ASN",
			m: meas("tcp://example.org:22",
				probe(sys("A", cdnIP), asn(54113), connect(cdnIP, "")),
				control(sys("A", siteIP), asn(54113), connect(siteIP, ""), connect(cdnIP, ""))),
			status:   accessible,
			evidence: []string{"AS54113", "ASN overlap"},
		},
		{
			name: "disjoint answers, unknown ASNs, a connect-only target reached at both ends (geo-DNS)",
			m: meas("tcp://example.org:22",
				probe(sys("A", cdnIP), connect(cdnIP, "")),
				control(sys("A", siteIP), connect(siteIP, ""), connect(cdnIP, ""))),
			status:   accessible,
			evidence: []string{"ASN overlap could not be checked", "the probe and the control both connected to " + cdnIP + " (CDN or geo-DNS)"},
		},
		{
			name: "disjoint answers, unknown ASNs, the control cannot connect to the probe's answer",
			m: meas("tcp://example.org:22",
				probe(sys("A", cdnIP), connect(cdnIP, "")),
				control(sys("A", siteIP), connect(siteIP, ""), connect(cdnIP, failure.GenericTimeout))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"system resolver returned " + cdnIP + "; control returned " + siteIP, "ASN overlap could not be checked"},
		},
		{
			name: "disjoint answers in different known ASNs",
			m: meas("tcp://example.org:22",
				probe(sys("A", lieIP), asn(7713), connect(lieIP, "")),
				control(sys("A", siteIP), asn(15133), connect(siteIP, ""), connect(lieIP, failure.ConnectionRefused))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"no address or ASN overlap"},
		},
		{
			name:     "disjoint answers proven by a valid certificate at the probe",
			m:        meas(httpsU, probe(site(cdnIP)), control(site(siteIP))),
			status:   accessible,
			evidence: []string{"DNS answer " + cdnIP + " presented a valid certificate for example.org"},
		},
		{
			name: "disjoint answers without TLS proof (https)",
			m: meas(httpsU,
				probe(sys("A", lieIP), connect(lieIP, ""), handshake(lieIP, domain, failure.SSLInvalidHostname, false), getFail(httpsU, lieIP, failure.SSLInvalidHostname)),
				control(site(siteIP), connect(lieIP, ""), handshake(lieIP, domain, failure.SSLInvalidHostname, false))),
			status:   blocked,
			method:   mDNS,
			reason:   "The ISP's resolver answered with " + lieIP,
			evidence: []string{"system resolver returned " + lieIP + "; control returned " + siteIP, "no address overlap; ASN overlap could not be checked", "no valid certificate"},
		},
		{
			name:     "CDN: disjoint answers, same page over plain HTTP",
			m:        meas(httpU, probe(plainSite(cdnIP)), control(plainSite(siteIP), connect(cdnIP, ""))),
			status:   accessible,
			evidence: []string{"CDN"},
		},
		{
			name: "CDN: same status and title, different body size",
			m: meas(httpU,
				probe(sys("A", cdnIP), connect(cdnIP, ""), get(httpU, cdnIP, 200, 2000, title)),
				control(plainSite(siteIP))),
			status:   accessible,
			evidence: []string{"(CDN)"},
		},
		{
			name:     "disjoint answers and a different page",
			m:        meas(httpU, lie(), control(plainSite(siteIP), connect(lieIP, ""))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"system resolver returned " + lieIP + "; control returned"},
		},
		{
			name: "disjoint answers, similar size but another title is no CDN",
			m: meas(httpU,
				probe(sys("A", lieIP), connect(lieIP, ""), get(httpU, lieIP, 200, bodyLen, "Internet Positif")),
				control(plainSite(siteIP))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"ASN overlap could not be checked"},
		},
		{
			name: "IPv6 answers differ but IPv4 answers match",
			m: meas(httpU,
				probe(plainSite(siteIP), sys("AAAA", "2a00:1450::1"), connectFrom("2a00:1450::1", measurement.OriginProbe, failure.NetworkUnreachable)),
				control(plainSite(siteIP), sys("AAAA", siteV6))),
			status:   accessible,
			evidence: []string{"also returned 2a00:1450::1, which the control did not confirm", "ignored 2a00:1450::1"},
		},
		{
			name: "block-page fingerprint on the answer",
			m: meas(httpsU, probe(sys("A", lieIP), connect(lieIP, "")), control(site(siteIP)),
				fingerprint("pantau.id_dns_telkom_uzone", "dns", "dns "+sysRes+" A answer "+lieIP)),
			status:   blocked,
			method:   mDNS,
			reason:   "known block page (" + lieIP + ")",
			evidence: []string{"fingerprint pantau.id_dns_telkom_uzone matched dns " + sysRes + " A answer " + lieIP},
		},
		{
			name: "block-page fingerprint at a configured resolver only",
			m: meas(httpsU, probe(site(siteIP), query("udp://8.8.8.8:53", "udp", false, "A", lieIP)), control(site(siteIP)),
				fingerprint("pantau.id_dns_telkom_uzone", "dns", "dns udp://8.8.8.8:53 A answer "+lieIP)),
			status:   accessible,
			evidence: []string{"(not a system resolver)"},
		},
		{
			name:     "reserved address",
			m:        meas(httpsU, probe(sys("A", "127.0.0.1"), bogons("127.0.0.1")), control(site(siteIP))),
			status:   blocked,
			method:   mDNS,
			reason:   "reserved address",
			evidence: []string{"returned reserved address 127.0.0.1"},
		},
		{
			name:     "reserved addresses at both vantage points (lab or intranet)",
			m:        meas(httpsU, probe(site("10.77.100.10"), bogons("10.77.100.10")), control(site("10.77.100.10"), bogons("10.77.100.10"))),
			status:   accessible,
			evidence: []string{"not held against the probe"},
		},
		{
			name:     "NXDOMAIN while the control resolved",
			m:        meas(httpsU, probe(sysFail("A", failure.DNSNXDomain), sysFail("AAAA", failure.DNSNXDomain)), control(site(siteIP))),
			status:   blocked,
			method:   mDNS,
			reason:   "said example.org does not exist",
			evidence: []string{"system resolver failed (dns_nxdomain_error); control returned " + siteIP},
		},
		{
			name:     "SERVFAIL while the control resolved",
			m:        meas(httpsU, probe(sysFail("A", failure.DNSServfail)), control(site(siteIP))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{failure.DNSServfail},
		},
		{
			name:     "REFUSED while the control resolved",
			m:        meas(httpsU, probe(sysFail("A", failure.DNSRefused)), control(site(siteIP))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{failure.DNSRefused},
		},
		{
			name:     "no answer while the control resolved",
			m:        meas(httpsU, probe(sysFail("A", failure.DNSNoAnswer)), control(site(siteIP))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{failure.DNSNoAnswer},
		},
		{
			name:     "timeout while the control resolved",
			m:        meas(httpsU, probe(sysFail("A", failure.GenericTimeout)), control(site(siteIP))),
			status:   blocked,
			method:   mDNS,
			reason:   "did not answer",
			evidence: []string{failure.GenericTimeout},
		},
		{
			name:     "IPv4 query fails while IPv6 resolves",
			m:        meas(httpU, probe(sysFail("A", failure.DNSServfail), sys("AAAA", siteV6), connect(siteV6, ""), get(httpU, siteV6, 200, bodyLen, title)), control(plainSite(siteIP), sys("AAAA", siteV6))),
			status:   blocked,
			method:   mDNS,
			reason:   "no IPv4 address",
			evidence: []string{"A query failed (dns_servfail_error)"},
		},
		{
			name:     "an AAAA query without answer is normal",
			m:        meas(httpsU, probe(site(siteIP), sysFail("AAAA", failure.DNSNoAnswer)), control(site(siteIP), sys("AAAA", siteV6))),
			status:   accessible,
			evidence: []string{"DNS answers overlap the control's"},
		},
		{
			name: "injection: a forged reply ahead of the real one",
			m: meas(httpsU,
				probe(sys("A", lieIP), late("NOERROR", siteIP), connect(lieIP, generic())),
				control(site(siteIP), connect(lieIP, ""))),
			status:   blocked,
			method:   mDNS,
			reason:   "injected a forged DNS reply (" + lieIP + ")",
			evidence: []string{"first reply " + lieIP + ", then a later reply " + siteIP},
		},
		{
			name: "injection: a forged NXDOMAIN ahead of the real answer",
			m: meas(httpsU,
				probe(sysFail("A", failure.DNSNXDomain), late("NOERROR", siteIP)),
				control(site(siteIP))),
			status:   blocked,
			method:   mDNS,
			reason:   "forged DNS reply (NXDOMAIN)",
			evidence: []string{"first reply NXDOMAIN, then a later reply " + siteIP},
		},
		{
			name:     "an identical duplicate reply is no injection",
			m:        meas(httpsU, probe(site(siteIP), late("NOERROR", siteIP)), control(site(siteIP))),
			status:   accessible,
			evidence: []string{"identical duplicate reply"},
		},
		{
			name:     "a differing late reply after a good first reply is only evidence",
			m:        meas(httpsU, probe(site(siteIP), late("NOERROR", siteIP2)), control(site(siteIP), sys("A", siteIP2))),
			status:   accessible,
			evidence: []string{"a later reply (" + siteIP2 + ") differed"},
		},
		{
			name: "an encrypted resolver agrees with the control",
			m: meas(httpU, lie(), probe(doh("A", siteIP)),
				control(plainSite(siteIP))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"configured resolver " + dohRes + " (doh) returned " + siteIP + ", matching the control"},
		},
		{
			name: "without system resolvers the configured ones drive the verdict",
			m: meas(httpU,
				probe(query(dohRes, "doh", false, "A", lieIP), connect(lieIP, ""), get(httpU, lieIP, 200, 900, "Blocked")),
				control(plainSite(siteIP))),
			status:   blocked,
			method:   mDNS,
			reason:   "The probe's resolver answered with " + lieIP,
			evidence: []string{"resolver returned " + lieIP + "; control returned"},
		},
		{
			name:     "a configured resolver that lies is noted, the system resolver decides",
			m:        meas(httpsU, probe(site(siteIP), query("udp://8.8.8.8:53", "udp", false, "A", lieIP)), control(site(siteIP))),
			status:   accessible,
			evidence: []string{"configured resolver udp://8.8.8.8:53 (udp) returned " + lieIP + ", which does not match the control"},
		},
		{
			name: "an unreachable encrypted resolver says nothing about the site",
			m: meas(httpsU, probe(query(dohRes, "doh", false, "A"), last(func(q *measurement.DNSQuery) {
				q.Rcode = ""
				q.Failure = measurement.Failure(failure.ConnectionReset)
			})), control(site(siteIP))),
			status:   inconclusive,
			reason:   "could not reach its encrypted resolver",
			evidence: []string{"resolver failed (connection_reset) without any reply"},
		},
		{
			name:     "an IP target has no DNS to judge",
			m:        meas("http://"+siteIP+"/", probe(connectFrom(siteIP, measurement.OriginTarget, ""), get("http://"+siteIP+"/", siteIP, 200, bodyLen, title)), control(connectFrom(siteIP, measurement.OriginTarget, ""), get("http://"+siteIP+"/", siteIP, 200, bodyLen, title))),
			status:   accessible,
			evidence: []string{"matches the control's"},
		},
	})
}

func generic() string { return failure.GenericTimeout }

// Rule 2 (DNS half) and rule 8 (DNS half): both failed.
func TestRule2DNSDown(t *testing.T) {
	run(t, []tc{
		{
			name:     "NXDOMAIN at both",
			m:        meas(httpsU, probe(sysFail("A", failure.DNSNXDomain)), control(sysFail("A", failure.DNSNXDomain))),
			status:   down,
			reason:   "Neither the ISP's resolver nor the control could resolve example.org",
			evidence: []string{"system resolver failed (dns_nxdomain_error); control failed (dns_nxdomain_error)"},
		},
		{
			name:     "NXDOMAIN at the probe, no answer at the control",
			m:        meas(httpsU, probe(sysFail("A", failure.DNSNXDomain)), control(sysFail("A", failure.DNSNoAnswer))),
			status:   down,
			evidence: []string{"control failed (dns_no_answer)"},
		},
		{
			name:     "SERVFAIL at both",
			m:        meas("tcp://example.org:22", probe(sysFail("A", failure.DNSServfail)), control(sysFail("A", failure.DNSServfail))),
			status:   down,
			evidence: []string{"system resolver failed (dns_servfail_error); control failed (dns_servfail_error)"},
		},
	})
}

func TestRule8DNSUnclear(t *testing.T) {
	run(t, []tc{
		{
			name:     "SERVFAIL at the probe, NXDOMAIN at the control",
			m:        meas(httpsU, probe(sysFail("A", failure.DNSServfail)), control(sysFail("A", failure.DNSNXDomain))),
			status:   inconclusive,
			reason:   "failed differently",
			evidence: []string{"system resolver failed (dns_servfail_error); control failed (dns_nxdomain_error)"},
		},
		{
			name:     "the probe resolved a name the control found not to exist",
			m:        meas(httpU, lie(), control(sysFail("A", failure.DNSNXDomain))),
			status:   inconclusive,
			reason:   "The control found no address for example.org",
			evidence: []string{"returned " + lieIP + "; control failed (dns_nxdomain_error)"},
		},
		{
			name:     "the probe resolved a name the control found not to exist, but proved it",
			m:        meas(httpsU, probe(site(siteIP)), control(sysFail("A", failure.DNSNXDomain), connect(siteIP, ""), handshake(siteIP, domain, "", true), get(httpsU, siteIP, 200, bodyLen, title))),
			status:   accessible,
			evidence: []string{"valid certificate for example.org at " + siteIP},
		},
		{
			name: "the control's resolver timed out: the rest is compared",
			m: meas(httpU, probe(plainSite(siteIP)),
				control(sysFail("A", failure.GenericTimeout), connect(siteIP, ""), get(httpU, siteIP, 200, bodyLen, title))),
			status:   accessible,
			evidence: []string{"the control's DNS failed (generic_timeout_error)"},
		},
	})
}
