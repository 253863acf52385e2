//go:build dist

package dist

import (
	"os/exec"
	"strings"
	"testing"
)

// notInProbe are packages the probe must not link: they belong to tests, to the
// collector, or are heavy and unused (docs/scaling.md "Release sizes").
var notInProbe = []string{
	"testing", // and testing/...: test helpers (schedules.FromFiles once linked testing/fstest)
	"net/http/pprof", "html/template", "text/template",
	"github.com/pantau-dev/pantau/collector", // the collector's code, InfluxDB's client among it
	"github.com/pantau-dev/pantau/internal/influxql", "github.com/pantau-dev/pantau/internal/influxtest",
}

// TestProbeDeps: `go list -deps ./probe` names none of notInProbe, nor a package under one.
func TestProbeDeps(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./probe")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./probe: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, bad := range notInProbe {
			if pkg == bad || strings.HasPrefix(pkg, bad+"/") {
				t.Errorf("the probe links %s", pkg)
			}
		}
	}
}
