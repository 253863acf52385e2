package qa

import "testing"

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
