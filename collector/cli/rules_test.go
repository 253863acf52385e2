package cli_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/internal/influxtest"
)

// promRules is the shape of a Prometheus rule file.
type promRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

var metricRE = regexp.MustCompile(`\bpantau_[a-z_]+\b`)

// TestPrometheusRules checks deploy/prometheus/pantau-rules.yml: every rule is complete,
// and every pantau_ metric it names is in a running collector's /metrics.
func TestPrometheusRules(t *testing.T) {
	b, err := os.ReadFile("../../deploy/prometheus/pantau-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rf promRules
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("pantau-rules.yml: %v", err)
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(hook.Close)
	influx, _ := influxtest.Server(t)
	cfg := writeConfig(t, fmt.Sprintf("listen: 127.0.0.1:0\nsecret: %s\ninflux: {url: %s, bucket: %s}\nalerts: {webhooks: [{name: ops, url: %s}]}\n",
		secret, influx, influxtest.NewBucket(t), hook.URL))
	c := serve(t, cfg)
	if st := beat(t, c.url, issue(t, cfg, "jkt-01")); st != http.StatusOK {
		t.Fatalf("heartbeat: HTTP %d", st)
	}
	resp, err := http.Get(c.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\npantau_probes{state=\"ok\"} 1\n") || !strings.Contains(string(body), "\npantau_probes{state=\"silent\"} 0\n") {
		t.Errorf("pantau_probes in /metrics:\n%s", body)
	}
	exposed := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			name, _, _ = strings.Cut(name, "{")
			exposed[name] = true
		}
	}
	seen, rules := map[string]bool{}, 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			rules++
			if r.Alert == "" || seen[r.Alert] || strings.TrimSpace(r.Expr) == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %q: want a unique alert name, an expr, labels.severity and annotations.summary", r.Alert)
			}
			seen[r.Alert] = true
			for _, m := range metricRE.FindAllString(r.Expr, -1) {
				if !exposed[m] {
					t.Errorf("rule %s: metric %s is not in the collector's /metrics", r.Alert, m)
				}
			}
		}
	}
	if rules < 5 {
		t.Fatalf("%d rules", rules)
	}
}
