package config

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

func TestLoad(t *testing.T) {
	c, err := Load("testdata/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(s string) dnsquery.Resolver {
		r, err := dnsquery.ParseResolver(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	zero, off, canary := int64(0), false, "Bérita.Example"
	want := &Config{
		ResolvConf:            "/etc/resolv.conf",
		Resolvers:             []dnsquery.Resolver{parse("1.1.1.1"), parse("tls://dns.quad9.net"), parse("https://dns.google/dns-query")},
		SystemResolvers:       []dnsquery.Resolver{parse("127.0.0.1:5353")},
		Controls:              []string{"https://helper.example.org/api/v1/control"},
		ControlTokenFile:      "/etc/pantau/control-token",
		ControlTokenPlainHTTP: true,
		LabCIDRs:              []yamlconf.Prefix{{Prefix: netip.MustParsePrefix("10.77.0.0/16")}, {Prefix: netip.MustParsePrefix("fd77::/48")}},
		Concurrency:           32,
		Canary:                &canary,
		MemoryLimitMB:         &zero,
		BuiltinFingerprints:   &off,
		DNSWait:               yamlconf.Duration{Duration: 500 * time.Millisecond},
		Timeouts:              Timeouts{DNS: yamlconf.Duration{Duration: 3 * time.Second}, Target: yamlconf.Duration{Duration: 45 * time.Second}},
		Agent: Agent{Collector: "https://collector.example.org", SpoolMaxMB: 64, SpoolAsideMaxMB: 8, DrainRate: 2.5,
			Heartbeat: yamlconf.Duration{Duration: 90 * time.Second}, Sync: yamlconf.Duration{Duration: 7 * 24 * time.Hour}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load(good.yml) =\n%+v\nwant\n%+v", c, want)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ file, want string }{
		{"unknown_key.yml", `testdata/unknown_key.yml:2: field "resolverz" not found`},
		{"bad_duration.yml", `testdata/bad_duration.yml:2: timeouts.tcp: "5 seconds" is not a duration (want e.g. 90s, 1m, 7d)`},
		{"bad_values.yml", `testdata/bad_values.yml:3: resolvers[1]: resolver "ftp://9.9.9.9": unsupported scheme "ftp" (want udp, tcp, tls or https)` + "\n" +
			`testdata/bad_values.yml:4: controls[0]: "helper.example.org" is not an absolute http or https URL` + "\n" +
			`testdata/bad_values.yml:5: lab_cidrs[0]: "10.77.0.0/33" is not an address prefix (want e.g. 10.77.0.0/16)` + "\n" +
			`testdata/bad_values.yml:6: concurrency: -1 is negative` + "\n" +
			`testdata/bad_values.yml:8: agent.spool_aside_max_mb: -3 is negative` + "\n" +
			`testdata/bad_values.yml:9: canary: "xn--zz": invalid internationalised domain name: idna: invalid label "zz"`},
		{"wrong_type.yml", `testdata/wrong_type.yml:1: concurrency: want a whole number, found "lots"` + "\n" +
			`testdata/wrong_type.yml:2: builtin_fingerprints: want true or false, found "yes"` + "\n" +
			`testdata/wrong_type.yml:3: lab_cidrs: want a list, found "10.77.0.0/16"` + "\n" +
			`testdata/wrong_type.yml:4: agent: want a mapping, found a list` + "\n" +
			`testdata/wrong_type.yml:6: timeouts.dns: want a string, found a mapping`},
		{"several.yml", `testdata/several.yml:3: resolvers[1]: resolver "udp://": missing host` + "\n" +
			`testdata/several.yml:4: system_resolvers[0]: resolver "dns.google": "dns.google" is not an IP address` + "\n" +
			`testdata/several.yml:5: lab_cidrs[1]: "10.77.0.1" is not an address prefix (want e.g. 10.77.0.0/16)` + "\n" +
			`testdata/several.yml:6: dns_wait: "1 second" is not a duration (want e.g. 90s, 1m, 7d)` + "\n" +
			`testdata/several.yml:7: field "concurency" not found` + "\n" +
			`testdata/several.yml:8: memory_limit_mb: -1 is negative` + "\n" +
			`testdata/several.yml:10: agent.collector: "ftp://collector.example.org" is not an absolute http or https URL` + "\n" +
			`testdata/several.yml:12: agent.heartbeat: given twice (first at line 11)` + "\n" +
			`testdata/several.yml:13: agent.drain_rate: -1 is negative`},
		{"missing.yml", "config: open testdata/missing.yml: no such file or directory"},
	}
	for _, tc := range tests {
		_, err := Load("testdata/" + tc.file)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Load(%s) error =\n%v\nwant\n%s", tc.file, err, tc.want)
		}
	}
}

// TestCanaryName checks the canary a config runs: the default, none, or the name given
// in A-labels.
func TestCanaryName(t *testing.T) {
	tests := []struct{ yaml, want, err string }{
		{yaml: "", want: "example.org"},
		{yaml: "canary: \"\"", want: ""},
		{yaml: "canary: Example.NET.", want: "example.net"},
		{yaml: "canary: ЯНДЕКС.РФ", want: "xn--d1acpjx3f.xn--p1ai"},
		{yaml: "canary: 192.0.2.1", err: `probe.yaml:1: canary: "192.0.2.1" is an IP address; want a host name, resolved like a target's`},
		{yaml: "canary: http://example.org/", err: `probe.yaml:1: canary: "http://example.org/": bad character ':' in domain label "http://example"`},
	}
	for _, tc := range tests {
		c, err := Parse("probe.yaml", []byte(tc.yaml))
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %s", tc.yaml, err, tc.err)
			}
			continue
		}
		if err != nil || c.CanaryName() != tc.want {
			t.Errorf("%q: canary %q (%v), want %q", tc.yaml, c.CanaryName(), err, tc.want)
		}
	}
}

func TestParseEmpty(t *testing.T) {
	for _, y := range []string{"", "# nothing\n", "---\n"} {
		c, err := Parse("probe.yaml", []byte(y))
		if err != nil || !reflect.DeepEqual(c, &Config{}) {
			t.Errorf("Parse(%q) = %+v, %v", y, c, err)
		}
	}
}
