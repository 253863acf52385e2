package verdict

import (
	"testing"

	"github.com/pantau-dev/pantau/internal/failure"
)

// Rule 7: without a control only certain cases get a definite verdict.
func TestRule7NoControl(t *testing.T) {
	run(t, []tc{
		{
			name:     "no control: inconclusive",
			m:        meas(httpU, probe(plainSite(siteIP))),
			status:   inconclusive,
			reason:   "No control measurement was available",
			evidence: []string{"no control measurement", "probe fetch of http://example.org/ ended with status 200"},
		},
		{
			name:     "the control failed: inconclusive",
			m:        meas(httpU, probe(plainSite(siteIP)), controlFailed("generic_timeout_error")),
			status:   inconclusive,
			evidence: []string{"control unavailable: generic_timeout_error"},
		},
		{
			name:     "no control, DNS failed: inconclusive",
			m:        meas(httpsU, probe(sysFail("A", failure.DNSNXDomain))),
			status:   inconclusive,
			evidence: []string{"system resolver failed: dns_nxdomain_error"},
		},
		{
			name:     "no control, a reserved answer: blocked",
			m:        meas(httpsU, probe(sys("A", "127.0.0.1"), bogons("127.0.0.1"), connect("127.0.0.1", failure.ConnectionRefused))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"returned reserved address 127.0.0.1"},
		},
		{
			name: "no control, a DNS block-page fingerprint: blocked",
			m: meas(httpsU, probe(sys("A", lieIP), connect(lieIP, "")),
				fingerprint("pantau.id_dns_telkom_uzone", "dns", "dns "+sysRes+" A answer "+lieIP)),
			status:   blocked,
			method:   mDNS,
			reason:   "The ISP's resolver answered with the address of a known block page (" + lieIP + ") instead of the site's address.",
			evidence: []string{"fingerprint pantau.id_dns_telkom_uzone matched dns"},
		},
		{
			name: "no control, a body block-page fingerprint: blocked",
			m: meas(httpU, probe(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 200, 900, "Internet Positif")),
				fingerprint("pantau.id_body_internetpositif", "body", "http[0] body")),
			status:   blocked,
			method:   mHTTP,
			evidence: []string{"fingerprint pantau.id_body_internetpositif matched http[0] body"},
		},
		{
			name:     "no control, differing DNS replies: evidence only",
			m:        meas(httpU, probe(sys("A", lieIP), late("NOERROR", siteIP), connect(lieIP, ""), get(httpU, lieIP, 200, 900, "Blocked"))),
			status:   inconclusive,
			evidence: []string{"first reply " + lieIP + ", then a later reply " + siteIP},
		},
		{
			name:     "no control, HTTPS with a valid certificate for the name: accessible",
			m:        meas(httpsU, probe(site(siteIP))),
			status:   accessible,
			reason:   "valid certificate for the name",
			evidence: []string{"no control measurement", "over HTTPS with a valid certificate", "no control: valid certificate for example.org at " + siteIP},
		},
		{
			name:     "the control failed, HTTPS with a valid certificate for the name: accessible",
			m:        meas(httpsU, probe(site(siteIP)), controlFailed("generic_timeout_error")),
			status:   accessible,
			evidence: []string{"control unavailable: generic_timeout_error", "no control: valid certificate for example.org at " + siteIP},
		},
		{
			name: "no control, HTTPS but a block page: blocked",
			m: meas(httpsU, probe(site(siteIP)),
				fingerprint("pantau.id_title_internetpositif", "title", `http[0] title "Internet Positif"`)),
			status:   blocked,
			method:   mHTTP,
			evidence: []string{"fingerprint pantau.id_title_internetpositif matched http[0] title"},
		},
		{
			name:     "no control, HTTPS fetched but no handshake recorded with the real name: inconclusive",
			m:        meas(httpsU, probe(sys("A", siteIP), connect(siteIP, ""), get(httpsU, siteIP, 200, bodyLen, title))),
			status:   inconclusive,
			reason:   "authentic",
			evidence: []string{"no control measurement", "over HTTPS with a valid certificate"},
		},
		{
			name:     "no control, plain HTTP: inconclusive",
			m:        meas(httpU, probe(plainSite(siteIP)), controlFailed("generic_timeout_error")),
			status:   inconclusive,
			reason:   "No control measurement was available",
			evidence: []string{"control unavailable: generic_timeout_error", "probe fetch of http://example.org/ ended with status 200"},
		},
		{
			name:     "no control, HTTPS reached only through plain HTTP: inconclusive",
			m:        meas(httpU, probe(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 302, 0, ""), get("https://other.example/", lieIP, 200, 900, ""))),
			status:   inconclusive,
			evidence: []string{"probe fetch of https://other.example/ ended with status 200"},
		},
		{
			name:     "no control, a connect-only target: inconclusive",
			m:        meas("tcp://example.org:22", probe(sys("A", siteIP), connect(siteIP, ""))),
			status:   inconclusive,
			evidence: []string{"probe connects: 1 succeeded, 0 failed"},
		},
		{
			name:     "no control, a connect-only target with a reserved answer: blocked",
			m:        meas("tcp://example.org:22", probe(sys("A", "0.0.0.0"), bogons("0.0.0.0"), connect("0.0.0.0", failure.ConnectionRefused))),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"returned reserved address 0.0.0.0"},
		},
	})
}

func TestNil(t *testing.T) {
	v := Of(nil)
	if v.Status != inconclusive || v.Reason != "There is no measurement to judge." || v.Evidence == nil {
		t.Errorf("Of(nil) = %+v", v)
	}
}
