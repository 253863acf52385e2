package config

import (
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	c, err := Load("testdata/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Resolvers) != 3 || c.Concurrency != 32 || c.DNSWait.Duration != 500*time.Millisecond ||
		c.Timeouts.DNS.Duration != 3*time.Second || c.Timeouts.Target.Duration != 45*time.Second || c.LabCIDRs[0] != "10.77.0.0/16" ||
		c.Agent.SpoolMaxMB != 64 || c.Agent.SpoolAsideMaxMB != 8 {
		t.Errorf("Load(good.yml) = %+v", c)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ file, want string }{
		{"testdata/unknown_key.yml", "testdata/unknown_key.yml: unmarshal errors:\n  line 2: field resolverz not found in type config.Config"},
		{"testdata/bad_duration.yml", `testdata/bad_duration.yml: line 2: bad duration "5 seconds"`},
		{"testdata/bad_values.yml", `testdata/bad_values.yml: resolvers[1]: resolver "ftp://9.9.9.9": unsupported scheme "ftp" (want udp, tcp, tls or https)` + "\n" +
			`controls[0]: control URL "helper.example.org": want an absolute http or https URL` + "\n" +
			`lab_cidrs[0]: lab CIDR "10.77.0.0/33": not an address prefix like 10.77.0.0/16` + "\n" +
			`agent.spool_aside_max_mb: -3 is negative` + "\n" +
			`concurrency: -1 is negative`},
		{"testdata/missing.yml", "config: open testdata/missing.yml: no such file or directory"},
	}
	for _, tc := range tests {
		_, err := Load(tc.file)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Load(%s) error =\n%v\nwant\n%s", tc.file, err, tc.want)
		}
	}
}

func TestParseEmpty(t *testing.T) {
	c, err := Parse(nil)
	if err != nil || c.Concurrency != 0 || len(c.Resolvers) != 0 {
		t.Errorf("Parse(empty) = %+v, %v", c, err)
	}
}
