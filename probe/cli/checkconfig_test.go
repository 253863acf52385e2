package cli

import (
	"os"
	"testing"
)

// TestCheckConfig checks good and bad configs as the probe loads them at start: the
// file's own problems, then those of the files it names, each at its line; and that
// nothing is created (the state directory of the configs must not appear).
func TestCheckConfig(t *testing.T) {
	const dir = "testdata/checkconfig/"
	tests := []struct {
		file   string
		code   int
		stdout string
		stderr string
	}{
		{"good.yaml", 0, "ok\n", ""},
		{"bad-values.yaml", 1, "", dir + `bad-values.yaml:2: controls[0]: "helper.example.org" is not an absolute http or https URL` + "\n" +
			dir + `bad-values.yaml:3: field "concurency" not found` + "\n" +
			dir + `bad-values.yaml:5: agent.collector: "ftp://collector.example.org" is not an absolute http or https URL` + "\n" +
			"probe check-config: " + dir + "bad-values.yaml: 3 problem(s)\n"},
		{"missing-files.yaml", 1, "", dir + "missing-files.yaml:3: fingerprints: open " + dir + "none.csv: no such file or directory\n" +
			dir + "missing-files.yaml:6: agent.token_file: open " + dir + "no-token: no such file or directory\n" +
			dir + `missing-files.yaml:8: agent.schedules_dir: lab.yaml:2: cron: "every hour": expected exactly 5 fields, found 2` + "\n" +
			"probe check-config: " + dir + "missing-files.yaml: 3 problem(s)\n"},
		{"bad-ca.yaml", 1, "", dir + "bad-ca.yaml:3: control_token_file: open " + dir + "no-control-token: no such file or directory\n" +
			dir + "bad-ca.yaml:7: agent.collector_ca: " + dir + "token holds no PEM certificate\n" +
			dir + "bad-ca.yaml:8: agent.schedules_dir: stat " + dir + "no-schedules: no such file or directory\n" +
			"probe check-config: " + dir + "bad-ca.yaml: 3 problem(s)\n"},
		{"no-resolv.yaml", 1, "", dir + "no-resolv.yaml:1: resolv_conf: read resolv.conf: open " + dir + "no-resolv.conf: no such file or directory (or set system_resolvers)\n" +
			"probe check-config: " + dir + "no-resolv.yaml: 1 problem(s)\n"},
		{"missing.yaml", 1, "", "config: open " + dir + "missing.yaml: no such file or directory\n" +
			"probe check-config: " + dir + "missing.yaml: 1 problem(s)\n"},
	}
	for _, tc := range tests {
		code, stdout, stderr := runMain("check-config", "--config", dir+tc.file)
		if code != tc.code || stdout != tc.stdout || stderr != tc.stderr {
			t.Errorf("check-config %s: exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q", tc.file, code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
		}
	}
	if _, err := os.Stat(dir + "state-not-created"); !os.IsNotExist(err) {
		t.Errorf("check-config created the state directory (stat: %v)", err)
	}
	for _, args := range [][]string{{"check-config"}, {"check-config", "--config"}, {"check-config", "--config", dir + "good.yaml", "extra"}} {
		if code, _, _ := runMain(args...); code != 2 {
			t.Errorf("probe %v: exit %d, want 2", args, code)
		}
	}
}
