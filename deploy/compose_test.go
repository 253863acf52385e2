package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
		Profiles    []string          `yaml:"profiles"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// TestCompose checks the quick server setup: the three services, the collector image that
// scripts/package builds, every file it mounts present in the repository, every named
// volume declared, and InfluxDB reached by its service name from the collector's config
// and Grafana's datasource.
func TestCompose(t *testing.T) {
	var c compose
	if err := yaml.Unmarshal(read(t, "compose/compose.yaml"), &c); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"influxdb", "collector", "grafana"} {
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		if len(s.Profiles) > 0 {
			t.Errorf("%s runs only with profile %v", name, s.Profiles)
		}
	}
	if img := c.Services["collector"].Image; !strings.HasPrefix(img, "localhost/pantau-collector:") {
		t.Errorf("collector image %q is not the one scripts/package builds", img)
	}
	if got := c.Services["influxdb"].Environment["INFLUXDB_DB"]; got != "pantau" {
		t.Errorf("INFLUXDB_DB = %q, want pantau (the config's bucket pantau/autogen)", got)
	}
	defaults := regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`)
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(defaults.ReplaceAllString(v, "$1"), ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join("compose", src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s uses volume %s, not declared", name, src)
			}
		}
	}
	ds := string(read(t, "grafana/provisioning/datasources/pantau-influxdb18.yaml"))
	if !strings.Contains(ds, "url: http://influxdb:8086") {
		t.Error("Grafana's datasource does not name the influxdb service")
	}
}
