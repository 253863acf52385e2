package cli

import (
	"strings"
	"testing"
)

// TestHelp checks the help of every command: on stdout with exit 0 for --help, with the
// usage line, the summary, the flags and examples; a bad flag names it on stderr with the
// usage line and exits 2.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		cmd, usage, summary string
		flags               []string // some of the flags listed
	}{
		{"measure", "usage: probe measure [flags] [TARGET...]", "measure targets now and print one JSON object (or table row) per target",
			[]string{"  --format FORMAT\n        output FORMAT: json (one object per line) or table (default json)\n", "  -f FILE\n",
				"  --dns-wait DURATION\n        keep UDP sockets open this long after the first reply to catch injected replies (default 1s; probe helper: 0)\n",
				"  --memory-limit-mb MB\n        soft memory limit in MB: the garbage collector works harder near it (default 30; 0: none)\n"}},
		{"run", "usage: probe run --config FILE [flags]", "run the schedules on cron, spool the measurements and submit them to the collector",
			[]string{"  --config FILE\n", "  --log-level LEVEL\n        LEVEL of the logs on stderr: debug, info, warn or error (default warn)\n"}},
		{"once", "usage: probe once --config FILE --schedule NAME [flags]", "run one schedule now and submit its measurements",
			[]string{"  --schedule NAME\n        NAME of the schedule to run\n"}},
		{"status", "usage: probe status --config FILE [flags]", "print the schedules, their next runs, the spool depth and the last submission",
			[]string{"  --config FILE\n"}},
		{"helper", "usage: probe helper --listen ADDR [--lab-cidr CIDR]... [flags]", "serve the control API for other probes",
			[]string{"  --listen ADDR\n        ADDR to serve the control API on (default 127.0.0.1:9090)\n", "  --cache-ttl DURATION\n"}},
		{"version", "usage: probe version [flags]", "print the version", nil},
		{"help", "usage: probe help [COMMAND...]", "print the help of a command", nil},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			for _, args := range [][]string{{tc.cmd, "--help"}, {tc.cmd, "-h"}, {"help", tc.cmd}} {
				code, stdout, stderr := runMain(args...)
				if code != 0 || stderr != "" || !strings.HasPrefix(stdout, tc.usage+"\n\n"+tc.summary+"\n") {
					t.Fatalf("probe %v: exit %d, stderr %q, stdout:\n%s", args, code, stderr, stdout)
				}
				if !strings.Contains(stdout, "\nexamples:\n  probe "+tc.cmd) {
					t.Errorf("probe %v: no examples:\n%s", args, stdout)
				}
				for _, f := range tc.flags {
					if !strings.Contains(stdout, f) {
						t.Errorf("probe %v: lacks %q:\n%s", args, f, stdout)
					}
				}
				// No internal "unset" values leak into the defaults.
				if internalDefault(stdout) {
					t.Errorf("probe %v: an internal default shows:\n%s", args, stdout)
				}
			}
			code, stdout, stderr := runMain(tc.cmd, "--bogus")
			want := "probe " + tc.cmd + ": flag provided but not defined: -bogus\n" + tc.usage + "\nRun 'probe " + tc.cmd + " --help' for the flags and examples.\n"
			if code != 2 || stdout != "" || stderr != want {
				t.Errorf("probe %s --bogus: exit %d, stdout %q, stderr\n%s\nwant\n%s", tc.cmd, code, stdout, stderr, want)
			}
		})
	}
}

// TestTopLevel checks the program's own help, version and unknown commands.
func TestTopLevel(t *testing.T) {
	const list = "commands:\n" +
		"  measure       measure targets now and print one JSON object (or table row) per target\n" +
		"  run           run the schedules on cron, spool the measurements and submit them to the collector\n" +
		"  once          run one schedule now and submit its measurements\n" +
		"  status        print the schedules, their next runs, the spool depth and the last submission\n" +
		"  helper        serve the control API for other probes\n" +
		"  enroll        fetch this probe's token with a one-time enrolment code and write its config file\n" +
		"  check-config  check a config file as the probe loads it at start, without starting\n" +
		"  version       print the version\n" +
		"  help          print the help of a command\n"
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string // prefixes; "" wants the stream empty
	}{
		{[]string{"--help"}, 0, "usage: probe <command> [flags]\n\n", ""},
		{[]string{"-h"}, 0, "usage: probe <command> [flags]\n\n", ""},
		{[]string{"help"}, 0, "usage: probe <command> [flags]\n\n", ""},
		{[]string{"--version"}, 0, "pantau probe dev\n", ""},
		{[]string{"version"}, 0, "pantau probe dev\n", ""},
		{nil, 2, "", "usage: probe <command> [flags]\n\n"},
		{[]string{"frobnicate"}, 2, "", "probe: unknown command \"frobnicate\"\nusage: probe <command> [flags]\n\n"},
		{[]string{"help", "frobnicate"}, 2, "", "probe help: unknown command \"probe frobnicate\"\n"},
	} {
		code, stdout, stderr := runMain(tc.args...)
		if code != tc.code || !strings.HasPrefix(stdout, tc.stdout) || (tc.stdout == "") != (stdout == "") ||
			!strings.HasPrefix(stderr, tc.stderr) || (tc.stderr == "") != (stderr == "") {
			t.Errorf("probe %v: exit %d, stdout %q, stderr %q; want exit %d, %q, %q", tc.args, code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
		}
		if help := stdout + stderr; strings.HasPrefix(help, "usage: probe <command>") && !strings.Contains(help, list) {
			t.Errorf("probe %v: command list:\n%s", tc.args, help)
		}
	}
}

// internalDefault says whether a help shows an internal "unset" value as a default: a
// negative default, or a second default after the one the description gives.
func internalDefault(help string) bool {
	for _, l := range strings.Split(help, "\n") {
		if strings.Contains(l, "(default -") || strings.Count(l, "(default") > 1 {
			return true
		}
	}
	return false
}
