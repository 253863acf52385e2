package verdict

import (
	"testing"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// A network that intercepts every name (captive portal, hotel or office network), as
// the run's canary shows it, makes a target's odd answers no evidence of censorship.
func TestIntercept(t *testing.T) {
	const portal = "10.10.0.1"
	const portalURL = "http://portal.hotel.example/login"
	hijacked := canary([]string{portal}, portalURL, 200, portalSHA, "Hotel WiFi Login")
	// lured is the target resolved to the portal and fetched there.
	lured := probe(sys("A", portal), bogons(portal), connect(portal, ""), get(httpU, portal, 302, 0, ""), located(portalURL),
		get(portalURL, portal, 200, 3000, "Hotel WiFi Login"), hashed(portalSHA))
	// portalPage is the target resolved correctly, but its fetch ended on a portal page.
	portalPage := func(u, sha, t string) opt {
		return probe(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 302, 0, ""), located(u), get(u, "198.51.100.7", 200, 3000, t), hashed(sha))
	}
	publicPortal := canary([]string{canaryIP}, portalURL, 200, portalSHA, "Hotel WiFi Login")
	run(t, []tc{
		{
			name:     "the canary and the target both resolve to the same private address",
			m:        meas(httpU, lured, control(plainSite(siteIP)), hijacked),
			status:   inconclusive,
			reason:   "the network intercepts every name",
			evidence: []string{"canary example.net resolved to reserved address " + portal, "the target's answers " + portal + " are the canary's reserved addresses", "without the canary the verdict would be blocked/dns"},
		},
		{
			name:     "no control: a reserved answer is no proof on an intercepting network",
			m:        meas(httpU, lured, hijacked),
			status:   inconclusive,
			reason:   "the network intercepts every name",
			evidence: []string{"canary example.net resolved to reserved address", "no control measurement"},
		},
		{
			name:     "a connect-only target",
			m:        meas("tcp://example.org:22", probe(sys("A", portal), bogons(portal), connect(portal, failure.ConnectionRefused)), control(sys("A", siteIP), connect(siteIP, "")), hijacked),
			status:   inconclusive,
			reason:   "the network intercepts every name",
			evidence: []string{"resolved to reserved address " + portal},
		},
		{
			name:     "the target's fetch ends on the canary's page (same body)",
			m:        meas(httpU, portalPage("http://other.example/", portalSHA, "Welcome"), control(plainSite(siteIP)), canary([]string{canaryIP}, "http://other2.example/", 200, portalSHA, "Hi")),
			status:   inconclusive,
			reason:   "the network intercepts every name",
			evidence: []string{"the target's fetch ended on the canary's page (the same body)", "without the canary the verdict would be blocked/http"},
		},
		{
			name:     "the target's fetch ends on the canary's page (same final URL)",
			m:        meas(httpU, portalPage(portalURL, "aa", "Welcome"), control(plainSite(siteIP)), publicPortal),
			status:   inconclusive,
			reason:   "the network intercepts every name",
			evidence: []string{"the same final URL " + portalURL},
		},
		{
			name:     "the target's fetch ends on the canary's page (same title)",
			m:        meas(httpU, portalPage("http://login.example/?u=example.org", "aa", "Hotel WiFi Login"), control(plainSite(siteIP)), publicPortal),
			status:   inconclusive,
			reason:   "the network intercepts every name",
			evidence: []string{"the same title"},
		},
		{
			name:     "an ordinary network: the canary changes nothing",
			m:        meas(httpU, lie(), control(plainSite(siteIP), connect(lieIP, "")), normalCanary()),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"system resolver returned " + lieIP},
			absent:   []string{"canary"},
		},
		{
			name: "the target's page is the control's and shares the canary's title: not the canary's page",
			m: meas(httpU,
				probe(sys("A", lieIP), late("NOERROR", siteIP), connect(lieIP, failure.GenericTimeout), connect(siteIP, ""), get(httpU, siteIP, 200, bodyLen, title)),
				control(plainSite(siteIP), connect(lieIP, "")), normalCanary()),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"first reply " + lieIP + ", then a later reply " + siteIP},
			absent:   []string{"canary"},
		},
		{
			name:     "an ordinary network: a reserved answer is still blocked",
			m:        meas(httpsU, probe(sys("A", "127.0.0.1"), bogons("127.0.0.1")), control(site(siteIP)), normalCanary()),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"returned reserved address 127.0.0.1"},
		},
		{
			name: "the canary's name failed to resolve: nothing to say",
			m: meas(httpU, lie(), control(plainSite(siteIP), connect(lieIP, "")), func(m *measurement.Measurement) {
				f, g := failure.DNSServfail, failure.DNSServfail
				m.Canary = &measurement.Canary{Name: canaryName, Addrs: []string{}, DNSFailure: &f, Failure: &g}
			}),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"no address overlap"},
		},
		{
			name: "a known block page stands on an intercepting network",
			m: meas(httpU, lie(), control(plainSite(siteIP)), hijacked,
				fingerprint("pantau.id_dns_telkom_uzone", "dns", "dns "+sysRes+" A answer "+lieIP)),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"fingerprint pantau.id_dns_telkom_uzone matched"},
			absent:   []string{"canary"},
		},
		{
			name:     "an accessible site stays accessible",
			m:        meas(httpsU, probe(site(siteIP)), control(site(siteIP)), hijacked),
			status:   accessible,
			evidence: []string{"probe fetched https://example.org/ with status 200"},
		},
		{
			name: "a target that is the canary's own name is judged on its own",
			m: meas(httpsU, probe(sys("A", portal), bogons(portal)), control(site(siteIP)), hijacked, func(m *measurement.Measurement) {
				m.Canary.Name = domain
			}),
			status:   blocked,
			method:   mDNS,
			evidence: []string{"returned reserved address " + portal},
		},
		{
			name: "empty bodies are not the same page",
			m: meas(httpU,
				probe(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 200, 0, ""), hashed(emptySHA256)),
				control(plainSite(siteIP)), canary([]string{canaryIP}, "http://"+canaryName+"/", 200, emptySHA256, "")),
			status:   blocked,
			method:   mHTTP,
			evidence: []string{"probe got status 200, 0 bytes"},
		},
	})
}
