package demo

import (
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// TestEveryVerdictFollowsThePlan builds the whole data set and checks that the verdict
// derived from each measurement's observations is the state the plan gives (item fails
// otherwise), with the blocking method the network's Method implies and the block page
// recognised by its fingerprint, and that the data set is the same on every build.
func TestEveryVerdictFollowsThePlan(t *testing.T) {
	b := newBuilder()
	methods := map[string]map[string]int{}
	n := 0
	for _, p := range Probes() {
		for _, s := range Samples(p) {
			it, err := b.item(s)
			if err != nil {
				t.Fatal(err)
			}
			n++
			if methods[s.net.Name] == nil {
				methods[s.net.Name] = map[string]int{}
			}
			methods[s.net.Name][it.M.Verdict.Status+" "+it.M.Verdict.Method]++
			// A block page's address or CNAME is recognised by the built-in fingerprints
			// (a private address is evidence by itself).
			if it.M.Verdict.Method == measurement.MethodDNS && len(it.M.DNS[0].Bogons) == 0 && len(it.M.Fingerprints) == 0 {
				t.Errorf("%s %s on %s: blocked by DNS without a fingerprint: %+v", s.probe, s.domain, s.net.Name, it.M.DNS)
			}
		}
	}
	t.Logf("%d measurements: %v", n, methods)
	want := map[string]string{"Telkom Indonesia": "dns", "Telkomsel": "dns", "XL Axiata": "dns", "Indosat Ooredoo": "tls",
		"Biznet": "dns", "First Media": "dns", "Smartfren": "dns"}
	for net, m := range want {
		if methods[net]["blocked "+m] == 0 || len(methods[net]) != 2 {
			t.Errorf("%s: verdicts %v, want accessible and blocked by %s only", net, methods[net], m)
		}
	}
	for _, net := range []string{"MyRepublic", "DigitalOcean SG"} {
		if len(methods[net]) != 1 || methods[net][measurement.StatusAccessible+" "] == 0 {
			t.Errorf("%s: verdicts %v, want accessible only", net, methods[net])
		}
	}
	if n < 20000 || n > 40000 {
		t.Errorf("%d measurements: want between 20,000 and 40,000 (a readable heatmap that loads in seconds)", n)
	}
	p := Probes()[0]
	s := Samples(p)[100]
	a, b2 := newBuilder().measure(s), newBuilder().measure(s)
	if a.ID != b2.ID || a.RuntimeMS != b2.RuntimeMS || a.StartedAt != b2.StartedAt || !a.StartedAt.Equal(s.at.Truncate(time.Millisecond)) {
		t.Errorf("two builds of one sample differ: %+v / %+v", a, b2)
	}
}
