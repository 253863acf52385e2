package verdict

import (
	"testing"

	"github.com/pantau-dev/pantau/internal/failure"
)

// The clauses that clear or explain a probe's page by the control's (the transparent
// proxy of rule 1.3, the CDN exception of rule 1.6, the site's own page where the canary's
// was expected in rule 9) only count a page the control fetched from its own addresses.
// A control that found none of its own fetched through the probe's addresses, so its
// page is whatever they serve.
func TestControlPageThroughProbeAddress(t *testing.T) {
	const blockTitle = "Access Denied"
	const portal = "198.51.100.7"
	run(t, []tc{
		{
			name: "transparent proxy: a ghost name's control page came through the injected address",
			m: meas(httpU,
				probe(sys("A", lieIP), late("NXDOMAIN"), connect(lieIP, ""), get(httpU, lieIP, 200, 130, blockTitle)),
				control(sysFail("A", failure.DNSNXDomain), connect(lieIP, ""), get(httpU, lieIP, 200, 130, blockTitle))),
			status:   blocked,
			method:   mDNS,
			reason:   "injected a forged DNS reply (" + lieIP + ")",
			evidence: []string{"first reply " + lieIP + ", then a later reply NXDOMAIN", "the control fetched its page through " + lieIP + ":80, not an address its own DNS returned"},
			absent:   []string{"transparent proxy"},
		},
		{
			name: "transparent proxy: the control's own page still clears it",
			m: meas(httpU,
				probe(sys("A", lieIP), late("NOERROR", siteIP), connect(lieIP, ""), get(httpU, lieIP, 200, bodyLen, title)),
				control(sys("A", siteIP), connect(siteIP, failure.GenericTimeout), connect(lieIP, ""), get(httpU, siteIP, 200, bodyLen, title))),
			status:   accessible,
			evidence: []string{"(a transparent proxy)"},
		},
		{
			name: "CDN exception: the control's own address timed out and it fetched through the probe's",
			m: meas(httpU,
				probe(sys("A", lieIP), connect(lieIP, ""), get(httpU, lieIP, 200, 900, blockTitle)),
				control(sys("A", siteIP), connect(siteIP, failure.GenericTimeout), connect(lieIP, ""), get(httpU, lieIP, 200, 900, blockTitle))),
			status:   blocked,
			method:   mDNS,
			reason:   "which is not among the control's addresses",
			evidence: []string{"system resolver returned " + lieIP + "; control returned " + siteIP, "the control fetched its page through " + lieIP + ":80"},
			absent:   []string{"(CDN)"},
		},
		{
			name: "intercept: the canary's page is not the site's because the control got it through the probe's address",
			m: meas(httpU,
				probe(sys("A", portal), connect(portal, ""), get(httpU, portal, 200, 3000, "Hotel WiFi Login")),
				control(sys("A", siteIP), connect(siteIP, failure.GenericTimeout), connect(portal, ""), get(httpU, portal, 200, 3000, "Hotel WiFi Login")),
				canary([]string{canaryIP}, "http://portal.hotel.example/login", 200, portalSHA, "Hotel WiFi Login")),
			status:   inconclusive,
			reason:   "the network intercepts every name",
			evidence: []string{"the target's fetch ended on the canary's page (the same title)", "without the canary the verdict would be blocked/dns"},
		},
	})
}
