package cli_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/internal/influxtest"
)

// TestDemoCheck runs `collector demo --check` on a real InfluxDB with a config that keeps
// the default timeline max_silence (1h, shorter than the simulated cadence): the demo
// raises it, loads the data set, prints the dashboard's pages, serves them and finds the
// plan in its own reports and pages (demo.Check: the block's late and non-compliant
// networks, the five names kept blocked after the lift, the outage as a gap, the flapping
// block, the simulated notice on every page).
func TestDemoCheck(t *testing.T) {
	influx, _ := influxtest.Server(t)
	cfg := writeConfig(t, fmt.Sprintf("secret: %s\ninflux: {url: %s, bucket: %s}\n", secret, influx, influxtest.NewBucket(t)))
	code, out, errOut := run(t, env(nil), "demo", "--config", cfg, "--listen", "127.0.0.1:0", "--check", "--log-level", "info")
	if code != 0 {
		t.Fatalf("demo --check: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, re := range []string{
		`demo: loaded [0-9]{5} simulated measurements \(11 probes, 2017-07-01 to 2017-08-31\) in [0-9.]+m?s`,
		`heatmap of t\.me: +http://127\.0\.0\.1:[0-9]+/\?domain=t\.me&from=2017-07-01&step=6h&to=2017-08-31`,
		`the lift's compliance: +http://127\.0\.0\.1:[0-9]+/orders/kominfo-2017-telegram-unblock\?at=2017-09-01T00:00:00Z`,
		`demo check: the dashboard and the reports show the data set's story`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("stdout lacks %s:\n%s", re, out)
		}
	}
	if !strings.Contains(errOut, "max_silence raised") {
		t.Errorf("stderr does not say max_silence was raised:\n%s", errOut)
	}
}

// TestDemoUsage: a demo without a config, or loading only and yet checking or opening, is a
// usage error (exit 2) that says what is wrong.
func TestDemoUsage(t *testing.T) {
	cfg := writeConfig(t, "secret: "+secret+"\ninflux: {url: http://127.0.0.1:9, bucket: pantau/autogen}\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"demo"}, "--config is required"},
		{[]string{"demo", "--config", cfg, "--load-only", "--check"}, "--load-only serves nothing"},
		{[]string{"demo", "--config", cfg, "--load-only", "--open"}, "--load-only serves nothing"},
	} {
		code, _, errOut := run(t, env(nil), tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}
