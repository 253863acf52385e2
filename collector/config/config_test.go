package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/collector/config"
)

func noEnv(string) string { return "" }

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

const fileSecret = "change-me-to-48-random-bytes-0123456789abcdefgh"

func TestGood(t *testing.T) {
	c, err := config.Load("testdata/good.yml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Listen = "0.0.0.0:8443"
	want.TLS.Cert, want.TLS.Key = "/etc/pantau/tls/cert.pem", "/etc/pantau/tls/key.pem"
	want.Secret, want.AdminToken = fileSecret, "another-long-random-value"
	want.Revoked = []string{"id:KRUGKIDROVUWG2ZAMJZG653OEE", "probe:sby-02"}
	want.Influx = config.Influx{URL: "https://influx.example.org", Org: "pantau", Bucket: "measurements", Token: "influx-api-token",
		Timeout: config.Duration{Duration: 10 * time.Second}}
	want.GeoIP = "/var/lib/pantau/GeoLite2-ASN.mmdb"
	want.Control = config.Control{Enabled: true, LabCIDRs: []string{"192.0.2.0/24"}, SystemResolvers: []string{"1.1.1.1", "tcp://9.9.9.9:53"}}
	want.SchedulesDir = "/etc/pantau/schedules"
	want.OrdersDir = "/etc/pantau/orders"
	want.Limits.ReportCache = 4_000_000
	want.Timeline = config.Timeline{K: 4, M: 2, MaxSilence: config.Duration{Duration: 90 * time.Minute}}
	retries := 3
	want.Alerts = alert.Config{
		Webhooks: []alert.Webhook{{Name: "newsroom", URL: "https://hooks.example.org/pantau", Secret: "webhook-signing-secret",
			Events: []string{"transition", "compliance"}, Timeout: alert.Duration{Duration: 10 * time.Second}, Retries: &retries}},
		Watch:  []alert.Pair{{Domain: "t.me", Network: "Telkomsel"}, {Domain: "web.telegram.org", Network: "*"}},
		Orders: []string{"kominfo-2017-telegram-unblock"}, Interval: alert.Duration{Duration: time.Minute},
		Lookback: alert.Duration{Duration: 7 * 24 * time.Hour}, Queue: 1000, StateFile: "/var/lib/pantau/alerts.json",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c, want)
	}
}

func TestDefaults(t *testing.T) {
	c, err := config.Load("testdata/minimal.yml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	l := c.Limits
	if c.Listen != "127.0.0.1:8080" || c.Influx.Timeout.Duration != 10*time.Second || c.TrustProxy || c.Control.Enabled ||
		l.BodyBytes != 16<<20 || l.BatchItems != 1000 || l.ProbeRate != 5 || l.ProbeBurst != 20 || l.QueryLimit != 1000 ||
		l.MaxInFlight != 64 || l.ControlConns != 16 || l.CacheTTL.Duration != time.Minute {
		t.Errorf("defaults: %+v", c)
	}
	// An explicit 0 stays 0 where 0 means something: probe_rate 0 disables the limit.
	c, err = config.Parse([]byte("secret: "+fileSecret+"\ninflux: {url: http://127.0.0.1:8086, bucket: a/b}\nlimits: {probe_rate: 0}\n"), noEnv)
	if err != nil || c.Limits.ProbeRate != 0 || c.Limits.ProbeBurst != 20 {
		t.Errorf("probe_rate 0: %v %v", c, err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"unknown-key.yml", `line 5: unknown key "database"` + "\n" + `line 7: unknown key "batch_size"`},
		{"bad-duration.yml", `line 5: "10" is not a duration (want e.g. 90s, 1m, 7d)` + "\n" + `line 7: "-1m" is not a duration (want e.g. 90s, 1m, 7d)`},
		{"short-secret.yml", `secret: must be at least 32 bytes, got 9 (set it in the file or PANTAU_SECRET)`},
		{"bad-influx-url.yml", `influx.url: "127.0.0.1:8086" is not an http(s) URL` + "\n" + `influx.bucket: required (InfluxDB 1.8: "db/rp")`},
		{"bad-lab-cidrs.yml", `control.lab_cidrs[1]: "192.0.2.1" is not a CIDR (e.g. 10.0.0.0/8)` + "\n" +
			`control.lab_cidrs[2]: "fd00::/129" is not a CIDR (e.g. 10.0.0.0/8)` + "\n" +
			`control.system_resolvers[0]: resolver "udp://": missing host`},
		{"bad-limits.yml", `line 10: "abc" is not a valid int`},
		{"bad-timeline.yml", "timeline.k: 0 is less than 1\ntimeline.m: 0 is less than 1\ntimeline.max_silence: 30s is less than 1m"},
		{"bad-alerts.yml", `alerts.webhooks[0].url: must be http or https` + "\n" +
			`alerts.webhooks[0].events[0]: "transitions" is not transition or compliance` + "\n" +
			`alerts.watch[0].domain: "t.me\"" is not a domain name` + "\n" + `alerts.interval: 10ms is less than 1s`},
		{"bad-revoked.yml", `revoked[1] "sby-02": want "id:TOKENID" or "probe:PROBEID"`},
		{"bad-listen.yml", `listen: "localhost" is not HOST:PORT (e.g. 127.0.0.1:8080, :443)` + "\n" + `tls: give both cert and key, or neither`},
		{"empty.yml", `secret: must be at least 32 bytes, got 0 (set it in the file or PANTAU_SECRET)` + "\n" +
			`influx.url: "" is not an http(s) URL` + "\n" + `influx.bucket: required (InfluxDB 1.8: "db/rp")`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			_, err := config.Load(path, noEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			if want := path + ": " + tc.want; err.Error() != want {
				t.Errorf("error\n got %s\nwant %s", err, want)
			}
		})
	}
	// Limits that decode but are out of range, each named.
	b, err := os.ReadFile("testdata/bad-limits.yml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = config.Parse([]byte(strings.Replace(string(b), "max_in_flight: abc", "max_in_flight: 1", 1)), noEnv)
	want := "limits.body_bytes: 100 is less than 1024\nlimits.batch_items: 0 is less than 1\nlimits.read_burst: 0 is less than 1\n" +
		"limits.query_limit: 5000 is more than 1000\nlimits.probe_rate: -1 is negative (0 disables the limit)\n" +
		"limits.report_cache_items: -5 is not -1 (no cache) or a positive number\nlimits.read_rate: -2 is negative (0 disables the limit)"
	if err == nil || err.Error() != want {
		t.Errorf("error\n got %v\nwant %s", err, want)
	}
	if _, err := config.Load("testdata/missing.yml", noEnv); err == nil || err.Error() != "config: open testdata/missing.yml: no such file or directory" {
		t.Errorf("missing file: %v", err)
	}
}

func TestEnvironmentSecrets(t *testing.T) {
	e := env(map[string]string{
		config.EnvSecret:      "from-the-environment-0123456789abcdef",
		config.EnvAdminToken:  "admin-from-the-environment",
		config.EnvInfluxToken: "user:password",
	})
	c, err := config.Load("testdata/good.yml", e)
	if err != nil {
		t.Fatal(err)
	}
	if c.Secret != "from-the-environment-0123456789abcdef" || c.AdminToken != "admin-from-the-environment" || c.Influx.Token != "user:password" {
		t.Errorf("environment not applied: %q %q %q", c.Secret, c.AdminToken, c.Influx.Token)
	}
	if _, err := config.Load("testdata/good.yml", env(map[string]string{config.EnvAdminToken: "letmein"})); err == nil ||
		err.Error() != "testdata/good.yml: admin_token: must be at least 16 bytes, got 7 (or leave it empty to disable the admin endpoints)" {
		t.Errorf("short admin token: %v", err)
	}
	// The environment supplies a secret the file lacks, and cannot weaken one.
	if _, err := config.Load("testdata/empty.yml", env(map[string]string{config.EnvSecret: "from-the-environment-0123456789abcdef"})); err == nil ||
		strings.Contains(err.Error(), "secret") {
		t.Errorf("secret from the environment: %v", err)
	}
	_, err = config.Load("testdata/good.yml", env(map[string]string{config.EnvSecret: "short"}))
	if want := "testdata/good.yml: secret: must be at least 32 bytes, got 5 (set it in the file or PANTAU_SECRET)"; err == nil || err.Error() != want {
		t.Errorf("short secret from the environment: %v", err)
	}
	// Empty variables do not override.
	c, err = config.Load("testdata/good.yml", env(map[string]string{config.EnvSecret: ""}))
	if err != nil || c.Secret != fileSecret {
		t.Errorf("empty PANTAU_SECRET: %v %v", c, err)
	}
}
