// Package deploy_test checks that the configuration files the packages and images ship
// load with the programs' own strict decoders, and that they agree with the service files
// that use them (state directory, listening port, InfluxDB's address). The packages
// themselves are built and installed by scripts/package-check.
package deploy_test

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	collectorconfig "github.com/pantau-dev/pantau/collector/config"
	probeconfig "github.com/pantau-dev/pantau/probe/config"
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProbeConfigs loads every shipped probe config and checks its state directory is
// the one the service manager prepares (StateDirectory=pantau, the init script's STATE,
// the image's volume).
func TestProbeConfigs(t *testing.T) {
	for _, tc := range []struct {
		file, stateDir string
	}{
		{"config/probe.yaml", "/var/lib/pantau"},
		{"config/helper.yaml", ""},
		{"openwrt/probe.yaml", "/var/lib/pantau"},
		{"container/probe.yaml", "/var/lib/pantau"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c, err := probeconfig.Parse(tc.file, read(t, tc.file))
			if err != nil {
				t.Fatalf("does not load: %v", err)
			}
			if c.Agent.StateDir != tc.stateDir {
				t.Errorf("agent.state_dir = %q, want %q", c.Agent.StateDir, tc.stateDir)
			}
		})
	}
	init := string(read(t, "openwrt/pantau-probe.init"))
	if !strings.Contains(init, "\nSTATE=/var/lib/pantau\n") {
		t.Error("openwrt/pantau-probe.init does not prepare /var/lib/pantau")
	}
	for _, unit := range []string{"systemd/pantau-probe.service", "systemd/pantau-helper.service"} {
		if !strings.Contains(string(read(t, unit)), "\nStateDirectory=pantau\n") {
			t.Errorf("%s: no StateDirectory=pantau", unit)
		}
	}
}

// TestCollectorConfigs loads the shipped collector configs with a secret from the
// environment (as the unit's EnvironmentFile and the compose file give it) and checks
// where they listen and which InfluxDB they name.
func TestCollectorConfigs(t *testing.T) {
	getenv := func(k string) string {
		if k == collectorconfig.EnvSecret {
			return strings.Repeat("s", 64)
		}
		return ""
	}
	for _, tc := range []struct {
		file, listen, influxHost string
		trustProxy               bool // behind a proxy that appends X-Forwarded-For
	}{
		{"config/collector.yaml", "127.0.0.1:8080", "127.0.0.1:8086", false},
		{"container/collector.yaml", "0.0.0.0:8080", "influxdb:8086", false},
		{"compose/collector-behind-caddy.yaml", "0.0.0.0:8080", "influxdb:8086", true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c, err := collectorconfig.Parse(tc.file, read(t, tc.file), getenv)
			if err != nil {
				t.Fatalf("does not load: %v", err)
			}
			if c.Listen != tc.listen {
				t.Errorf("listen = %q, want %q", c.Listen, tc.listen)
			}
			if c.TrustProxy != tc.trustProxy {
				t.Errorf("trust_proxy = %v, want %v", c.TrustProxy, tc.trustProxy)
			}
			if !strings.Contains(c.Influx.URL, "//"+tc.influxHost) {
				t.Errorf("influx.url = %q, want host %s", c.Influx.URL, tc.influxHost)
			}
		})
	}
	// Without a secret the collector refuses to start: the file must not carry one.
	if _, err := collectorconfig.Parse("config/collector.yaml", read(t, "config/collector.yaml"), func(string) string { return "" }); err == nil {
		t.Error("config/collector.yaml loads without PANTAU_SECRET: a secret is in the shipped file")
	}
}

// TestContainerfiles checks each image runs as nobody, starts its program and exposes
// the port its config listens on.
func TestContainerfiles(t *testing.T) {
	for _, cmd := range []string{"probe", "collector"} {
		t.Run(cmd, func(t *testing.T) {
			s := string(read(t, "container/Containerfile."+cmd))
			for _, want := range []string{
				"\nFROM scratch\n",
				"\nUSER 65534:65534\n",
				"\nENTRYPOINT [\"/usr/bin/pantau-" + cmd + "\"]\n",
				"\nCOPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n",
				"\nCOPY " + cmd + ".yaml /etc/pantau/" + cmd + ".yaml\n",
			} {
				if !strings.Contains(s, want) {
					t.Errorf("no %q", strings.TrimSpace(want))
				}
			}
			if strings.Contains(s, "\nRUN ") {
				t.Error("a RUN step needs a shell the scratch image does not have")
			}
		})
	}
	c, err := collectorconfig.Parse("c", read(t, "container/collector.yaml"), func(string) string { return strings.Repeat("s", 64) })
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(c.Listen)
	if !strings.Contains(string(read(t, "container/Containerfile.collector")), "\nEXPOSE "+port+"\n") {
		t.Errorf("Containerfile.collector does not expose the config's port %s", port)
	}
}

// TestSystemdUnits checks what systemd-analyze cannot: every unit runs as the pantau user
// with no capabilities, and reads the config file the package installs.
func TestSystemdUnits(t *testing.T) {
	for _, tc := range []struct{ unit, config string }{
		{"pantau-probe.service", "/etc/pantau/probe.yaml"},
		{"pantau-helper.service", "/etc/pantau/helper.yaml"},
		{"pantau-collector.service", "/etc/pantau/collector.yaml"},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			keys := unitKeys(t, filepath.Join("systemd", tc.unit))
			for k, want := range map[string]string{
				"User": "pantau", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
				"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
				"PrivateTmp": "yes", "SystemCallFilter": "@system-service",
				"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
			} {
				if got, ok := keys[k]; !ok || got[0] != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			exec := keys["ExecStart"]
			if len(exec) != 1 || !strings.Contains(exec[0], "--config "+tc.config) {
				t.Errorf("ExecStart = %q, want --config %s", exec, tc.config)
			}
			// The config is checked before the start, by the program that reads it.
			prog := strings.Fields(exec[0])[0]
			if pre := keys["ExecStartPre"]; len(pre) != 1 || pre[0] != prog+" check-config --config "+tc.config {
				t.Errorf("ExecStartPre = %q, want %s check-config --config %s", pre, prog, tc.config)
			}
			src := filepath.Join("config", filepath.Base(tc.config))
			if _, err := os.Stat(src); err != nil {
				t.Errorf("the unit's config is not shipped: %v", err)
			}
		})
	}
}

// TestHelperTLSDropIn: the drop-in that lets the helper bind :443 and :80 grants that one
// capability, and docs/install.md shows the same lines.
func TestHelperTLSDropIn(t *testing.T) {
	keys := unitKeys(t, "systemd/pantau-helper-tls.conf")
	for _, k := range []string{"AmbientCapabilities", "CapabilityBoundingSet"} {
		if v := keys[k]; len(v) != 1 || v[0] != "CAP_NET_BIND_SERVICE" {
			t.Errorf("%s = %q, want CAP_NET_BIND_SERVICE only", k, v)
		}
	}
	doc := string(read(t, "../docs/install.md"))
	for _, l := range []string{"[Service]", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"} {
		if !strings.Contains(doc, "\n"+l+"\n") {
			t.Errorf("docs/install.md does not show %q", l)
		}
	}
}

// unitKeys returns the values of each key of a unit file, in order.
func unitKeys(t *testing.T, path string) map[string][]string {
	t.Helper()
	keys := map[string][]string{}
	line := regexp.MustCompile(`^([A-Za-z]+)=(.*)$`)
	sc := bufio.NewScanner(strings.NewReader(string(read(t, path))))
	for sc.Scan() {
		if m := line.FindStringSubmatch(sc.Text()); m != nil {
			keys[m[1]] = append(keys[m[1]], m[2])
		}
	}
	return keys
}
