package qa

import (
	"context"
	"slices"
	"testing"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// pantauScenarios are cases OONI's suite lacks that the same QA internet can build:
// answers that differ from the control's without any interference.
var pantauScenarios = []scenario{
	// Geo-DNS: the probe's resolver gives another node of the site's CDN, serving the
	// same page (and, over HTTPS, a valid certificate).
	{name: "geoDNSWithHTTP", input: "http://www.example.com:{http}/",
		probe: zone{"www.example.com": at(addrCDNNode)}, status: accessible, check: wantFinal(200, "Default Web Page", addrCDNNode)},
	{name: "geoDNSWithHTTPS", input: "https://www.example.com:{tls}/",
		probe: zone{"www.example.com": at(addrCDNNode)}, status: accessible, check: wantFinal(200, "Default Web Page", addrCDNNode)},
	// Two upstream resolvers behind the probe's answer with different CDN nodes, one
	// reply after the other: a duplicate reply that is not an injection.
	{name: "twoUpstreamRepliesWithHTTP", input: "http://www.example.com:{http}/",
		inject: zone{"www.example.com": at(addrCDNNode)}, status: accessible, check: wantFinal(200, "Default Web Page", addrCDNNode)},
	{name: "twoUpstreamRepliesWithHTTPS", input: "https://www.example.com:{tls}/",
		inject: zone{"www.example.com": at(addrCDNNode)}, status: accessible, check: wantFinal(200, "Default Web Page", addrCDNNode)},
}

// TestPantauQA measures pantauScenarios like TestOONIQA.
func TestPantauQA(t *testing.T) { runScenarios(t, newWorld(t), pantauScenarios) }

// TestPantauCaptivePortal: a network whose resolver answers every name, the run's
// canary included, with its portal's private address. The target's reserved answer
// would say blocked/dns; the canary shows the network intercepts every name, so the
// verdict is inconclusive (docs/verdicts.md, rule 9). Without a canary it stays blocked.
func TestPantauCaptivePortal(t *testing.T) {
	w := newWorld(t)
	const portal = "10.255.255.1"
	probeZone := honest.with(zone{"www.example.com": at(portal), "example.org": at(portal)})
	tg, err := target.Parse(w.url("https://www.example.com:{tls}/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		canary string
		status string
		method string
	}{
		{"example.org", inconclusive, ""},
		{"", blocked, byDNS},
	} {
		t.Run("canary="+tc.canary, func(t *testing.T) {
			eng := engine.New(engine.Config{
				SystemResolvers: []dnsquery.Resolver{serveZone(t, probeZone, nil)}, LabCIDRs: labCIDRs,
				RootCAs: w.ca.Pool, Timeouts: timeouts, Canary: tc.canary,
			}, nil)
			var got []*measurement.Measurement
			eng.Run(context.Background(), []target.Target{tg}, 1, w.controlClient(t, honest),
				func(m *measurement.Measurement) { got = append(got, m) })
			if len(got) != 1 {
				t.Fatalf("%d measurements, want 1", len(got))
			}
			m := got[0]
			if m.Verdict.Status != tc.status || m.Verdict.Method != tc.method {
				t.Errorf("verdict %s/%s (%s; evidence %q), want %s/%s", m.Verdict.Status, m.Verdict.Method,
					m.Verdict.Reason, m.Verdict.Evidence, tc.status, tc.method)
			}
			if tc.canary != "" && (m.Canary == nil || !slices.Equal(m.Canary.Addrs, []string{portal})) {
				t.Errorf("canary %+v, want it resolved to %s", m.Canary, portal)
			}
		})
	}
}
