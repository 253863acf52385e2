package config_test

import (
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/collector/config"
	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

func noEnv(string) string { return "" }

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

const fileSecret = "change-me-to-48-random-bytes-0123456789abcdefgh"

func resolver(t *testing.T, s string) dnsquery.Resolver {
	t.Helper()
	r, err := dnsquery.ParseResolver(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGood(t *testing.T) {
	c, err := config.Load("testdata/good.yml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Listen = "0.0.0.0:8443"
	want.HTTP = config.HTTP{ReadHeaderTimeout: yamlconf.Duration{Duration: 5 * time.Second}, ReadTimeout: yamlconf.Duration{Duration: 30 * time.Second},
		WriteTimeout: yamlconf.Duration{Duration: 90 * time.Second}, IdleTimeout: yamlconf.Duration{Duration: time.Minute}, ConnsPerAddr: 32}
	want.TLS.Cert, want.TLS.Key = "/etc/pantau/tls/cert.pem", "/etc/pantau/tls/key.pem"
	want.Secret, want.AdminToken = fileSecret, "another-long-random-value"
	want.Revoked = []string{"id:KRUGKIDROVUWG2ZAMJZG653OEE", "probe:sby-02"}
	want.Influx = config.Influx{URL: "https://influx.example.org", Org: "pantau", Bucket: "measurements", Token: "influx-api-token",
		Timeout: yamlconf.Duration{Duration: 10 * time.Second}}
	want.GeoIP = "/var/lib/pantau/GeoLite2-ASN.mmdb"
	want.Control = config.Control{Enabled: true, LabCIDRs: []yamlconf.Prefix{{Prefix: netip.MustParsePrefix("192.0.2.0/24")}},
		SystemResolvers: []dnsquery.Resolver{resolver(t, "1.1.1.1"), resolver(t, "tcp://9.9.9.9:53")}}
	want.SchedulesDir = "/etc/pantau/schedules"
	want.OrdersDir = "/etc/pantau/orders"
	want.Limits.ReportCache = 4_000_000
	want.Limits.NewDomainsPerHour, want.Limits.NewSchedulesPerHour = 5000, 20
	want.Timeline = config.Timeline{K: 4, M: 2, MaxSilence: yamlconf.Duration{Duration: 90 * time.Minute}}
	retries := 3
	want.Alerts = alert.Config{
		Webhooks: []alert.Webhook{{Name: "newsroom", URL: "https://hooks.example.org/pantau", Secret: "webhook-signing-secret",
			Events: []string{"transition", "compliance"}, Timeout: yamlconf.Duration{Duration: 10 * time.Second}, Retries: &retries}},
		Watch:  []alert.Pair{{Domain: "t.me", Network: "Telkomsel"}, {Domain: "web.telegram.org", Network: "*"}},
		Orders: []string{"kominfo-2017-telegram-unblock"}, Interval: yamlconf.Duration{Duration: time.Minute},
		Lookback: yamlconf.Duration{Duration: 7 * 24 * time.Hour}, Queue: 1000, StateFile: "/var/lib/pantau/alerts.json",
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
		l.MaxInFlight != 64 || l.ControlConns != 16 || l.CacheTTL.Duration != time.Minute ||
		l.NewDomainsPerHour != 2000 || l.NewSchedulesPerHour != 100 {
		t.Errorf("defaults: %+v", c)
	}
	if h := c.HTTP; h.ReadHeaderTimeout.Duration != 10*time.Second || h.ReadTimeout.Duration != time.Minute ||
		h.WriteTimeout.Duration != 2*time.Minute || h.IdleTimeout.Duration != 2*time.Minute || h.ConnsPerAddr != 64 {
		t.Errorf("http defaults: %+v", h)
	}
	if r := c.Replicas; r.CacheFresh.Duration != 30*time.Second || r.Revalidate.Duration != 10*time.Second || r.OrdersReload.Duration != 10*time.Second ||
		r.LookupReuse.Duration != 10*time.Second || r.Known() != 10*time.Second {
		t.Errorf("replicas defaults: %+v", r)
	}
	// An explicit 0 stays 0 where 0 means something: probe_rate 0 disables the limit,
	// lookup_reuse 0 reuses no look-up.
	c, err = config.Parse("collector.yaml", []byte("secret: "+fileSecret+"\ninflux: {url: http://127.0.0.1:8086, bucket: a/b}\nlimits: {probe_rate: 0}\nreplicas: {lookup_reuse: 0s}\n"), noEnv)
	if err != nil || c.Limits.ProbeRate != 0 || c.Limits.ProbeBurst != 20 || c.Replicas.LookupReuse.Duration != 0 || c.Replicas.Known() >= 0 {
		t.Errorf("probe_rate 0, lookup_reuse 0: %v %v", c, err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"unknown-key.yml", `:5: influx: field "database" not found` + "\n" + `:7: limits: field "batch_size" not found`},
		{"bad-duration.yml", `:5: influx.timeout: "10" is not a duration (want e.g. 90s, 1m, 7d)` + "\n" +
			`:7: limits.control_cache: "-1m" is negative`},
		{"short-secret.yml", `:1: secret: must be at least 32 bytes, got 9 (set it in the file or PANTAU_SECRET)`},
		{"bad-influx-url.yml", `:2: influx.bucket: required (InfluxDB 1.8: "db/rp")` + "\n" + `:3: influx.url: "127.0.0.1:8086" is not an http(s) URL`},
		{"bad-lab-cidrs.yml", `:7: control.lab_cidrs[1]: "192.0.2.1" is not an address prefix (want e.g. 10.77.0.0/16)` + "\n" +
			`:7: control.lab_cidrs[2]: "fd00::/129" is not an address prefix (want e.g. 10.77.0.0/16)` + "\n" +
			`:8: control.system_resolvers[0]: resolver "udp://": missing host`},
		{"bad-limits.yml", `:6: limits.body_bytes: 100 is less than 1024` + "\n" + `:7: limits.batch_items: 0 is less than 1` + "\n" +
			`:8: limits.probe_rate: -1 is negative (0 disables the limit)` + "\n" + `:9: limits.query_limit: 5000 is more than 1000` + "\n" +
			`:10: limits.max_in_flight: want a whole number, found "abc"` + "\n" +
			`:11: limits.read_rate: -2 is negative (0 disables the limit)` + "\n" + `:12: limits.read_burst: 0 is less than 1` + "\n" +
			`:13: limits.report_cache_items: -5 is not -1 (no cache) or a positive number` + "\n" +
			`:14: limits.new_domains_per_hour: -1 is negative (0 disables the cap)` + "\n" +
			`:15: limits.new_schedules_per_hour: -3 is negative (0 disables the cap)`},
		{"bad-http.yml", `:6: http.read_header_timeout: 2m0s is longer than read_timeout 1m0s` + "\n" +
			`:8: http.write_timeout: 30s is shorter than read_timeout 1m0s` + "\n" +
			`:9: http.idle_timeout: must be positive (a connection without a deadline can be held for ever)` + "\n" +
			`:10: http.conns_per_addr: -1 is negative (0 disables the cap)`},
		{"bad-timeline.yml", ":4: timeline.k: 0 is less than 1\n:5: timeline.m: 0 is less than 1\n:6: timeline.max_silence: 30s is less than 1m"},
		{"bad-alerts.yml", `:6: alerts.webhooks[0].url: must be http or https` + "\n" +
			`:7: alerts.webhooks[0].events[0]: "transitions" is not transition, compliance, probe_silent or network_silent` + "\n" +
			`:9: alerts.watch[0].domain: "t.me\"" is not a domain name` + "\n" + `:10: alerts.interval: 10ms is less than 1s`},
		{"bad-replicas.yml", `:4: replicas.cache_fresh: 0s is less than 100ms` + "\n" + `:5: replicas.revalidate: 10ms is less than 100ms` + "\n" +
			`:7: replicas.lookup_reuse: "-1s" is negative` + "\n" + `:8: alerts.role: "follower" is not leader or off`},
		{"bad-probes.yml", `:6: probes.late_after: 2h0m0s is not shorter than silent_after 1h0m0s`},
		{"bad-revoked.yml", `: revoked[1] "sby-02": want "id:TOKENID" or "probe:PROBEID"`},
		{"bad-listen.yml", `:1: listen: "localhost" is not HOST:PORT (e.g. 127.0.0.1:8080, :443)` + "\n" + `:3: tls: give both cert and key, or neither`},
		{"wrong-type.yml", `:2: influx: want a mapping, found "http://127.0.0.1:8086"` + "\n" + `:3: trust_proxy: want true or false, found "yes"` + "\n" +
			`:4: limits.probe_rate: want a number, found "fast"` + "\n" + `:5: control.lab_cidrs: want a list, found "10.0.0.0/8"` + "\n" +
			`:6: alerts.webhooks[0].retries: want a whole number, found "3 times"` + "\n" + `:7: revoked: want a list, found a mapping`},
		{"several.yml", `:5: influx.timeout: "ten seconds" is not a duration (want e.g. 90s, 1m, 7d)` + "\n" +
			`:6: influx.timeout: given twice (first at line 5)` + "\n" +
			`:8: control.system_resolvers[0]: resolver "dns.google": "dns.google" is not an IP address` + "\n" +
			`:9: control.lab_cidrs[0]: "10.0.0.0" is not an address prefix (want e.g. 10.77.0.0/16)` + "\n" +
			`:10: control: field "enabld" not found` + "\n" +
			`:12: timeline.k: 0 is less than 1` + "\n" + `:14: alerts.lookback: "1 week" is not a duration (want e.g. 90s, 1m, 7d)`},
		{"empty.yml", `:1: secret: must be at least 32 bytes, got 0 (set it in the file or PANTAU_SECRET)` + "\n" +
			`:1: influx.url: "" is not an http(s) URL` + "\n" + `:1: influx.bucket: required (InfluxDB 1.8: "db/rp")`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			_, err := config.Load(path, noEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			var want []string
			for _, line := range strings.Split(tc.want, "\n") {
				want = append(want, path+line)
			}
			if err.Error() != strings.Join(want, "\n") {
				t.Errorf("error\n got %s\nwant %s", err, strings.Join(want, "\n"))
			}
		})
	}
	if _, err := config.Load("testdata/missing.yml", noEnv); err == nil || err.Error() != "config: open testdata/missing.yml: no such file or directory" {
		t.Errorf("missing file: %v", err)
	}
}

// TestDays: every duration takes whole days.
func TestDays(t *testing.T) {
	c, err := config.Parse("collector.yaml", []byte("secret: "+fileSecret+"\ninflux: {url: http://127.0.0.1:8086, bucket: a/b, timeout: 1d}\n"+
		"limits: {control_cache: 2d}\ntimeline: {max_silence: 1d}\nalerts: {interval: 1d, lookback: 30d}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	if c.Influx.Timeout.Duration != day || c.Limits.CacheTTL.Duration != 2*day || c.Timeline.MaxSilence.Duration != day ||
		c.Alerts.Interval.Duration != day || c.Alerts.Lookback.Duration != 30*day {
		t.Errorf("durations: %+v", c)
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
		err.Error() != "testdata/good.yml:8: admin_token: must be at least 16 bytes, got 7 (or leave it empty to disable the admin endpoints)" {
		t.Errorf("short admin token: %v", err)
	}
	// The environment supplies a secret the file lacks, and cannot weaken one.
	if _, err := config.Load("testdata/empty.yml", env(map[string]string{config.EnvSecret: "from-the-environment-0123456789abcdef"})); err == nil ||
		strings.Contains(err.Error(), "secret") {
		t.Errorf("secret from the environment: %v", err)
	}
	_, err = config.Load("testdata/good.yml", env(map[string]string{config.EnvSecret: "short"}))
	if want := "testdata/good.yml:7: secret: must be at least 32 bytes, got 5 (set it in the file or PANTAU_SECRET)"; err == nil || err.Error() != want {
		t.Errorf("short secret from the environment: %v", err)
	}
	// Empty variables do not override.
	c, err = config.Load("testdata/good.yml", env(map[string]string{config.EnvSecret: ""}))
	if err != nil || c.Secret != fileSecret {
		t.Errorf("empty PANTAU_SECRET: %v %v", c, err)
	}
}
