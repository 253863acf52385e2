package cli_test

import (
	"strings"
	"testing"
)

// queryHelp is the help of `collector query`.
const queryHelp = `usage: collector query <command> [flags]

ask a running collector (--url, $PANTAU_COLLECTOR) and print a table, or --format json|csv

commands:
  timeline    print the confirmed states of a domain per network, and the gaps in coverage
  changes     print the transitions confirmed in a time range, on every domain and network
  compliance  print an order's compliance per network and per domain

Run 'collector query <command> --help' for the flags and examples of a command.

examples:
  collector query timeline --url https://collector.example.org --domain t.me --from 7d
  collector query compliance --order kominfo-2017-telegram-block --format json
`

// tokenHelp is the help of `collector token`.
const tokenHelp = `usage: collector token <command> [flags]

issue probe tokens and enrolment codes, signed with the collector's secret; list and revoke them

commands:
  issue   print a probe token (or, with --enrol, a one-time enrolment code) signed with the secret of --config (else $PANTAU_SECRET)
  list    list the tokens recorded in InfluxDB with their state: active, expired or revoked
  revoke  revoke tokens by id (or every token of a probe with --probe), for every collector of the fleet within 30s

Run 'collector token <command> --help' for the flags and examples of a command.

examples:
  collector token issue --config collector.yaml --probe jkt-01 --network Telkomsel --asn 23693 --country ID
  collector token list --config collector.yaml
`

// TestHelp checks the help of every command: on stdout with exit 0 for --help, -h and
// `collector help`, with the usage line, the summary, the flags and examples; a bad flag
// names it on stderr with the usage line and exits 2.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		cmd, usage, summary string
		flags               []string // some of the flags listed
	}{
		{"serve", "usage: collector serve --config FILE [flags]", "receive measurements from probes, store them in InfluxDB and serve the API and the dashboard",
			[]string{"  --config FILE\n        collector config FILE (required; keys in docs/collector-config.md)\n",
				"  --log-level LEVEL\n        LEVEL of the logs on stderr: debug, info, warn or error (default info)\n"}},
		{"token issue", "usage: collector token issue --probe ID --network NAME --asn N --country CC [--expires D] [--enrol --url URL] [flags]",
			"print a probe token (or, with --enrol, a one-time enrolment code) signed with the secret of --config (else $PANTAU_SECRET)",
			[]string{"  --probe ID\n", "  --asn NUMBER\n", "  --country CODE\n", "  --expires DURATION\n", "  --enrol\n", "  --url URL\n"}},
		{"token list", "usage: collector token list --config FILE", "list the tokens recorded in InfluxDB with their state: active, expired or revoked",
			[]string{"  --config FILE\n"}},
		{"token revoke", "usage: collector token revoke --config FILE [--probe] ID...",
			"revoke tokens by id (or every token of a probe with --probe), for every collector of the fleet within 30s", []string{"  --probe\n"}},
		{"query timeline", "usage: collector query timeline --domain D [--network N] [--from T] [--to T] [flags]",
			"print the confirmed states of a domain per network, and the gaps in coverage",
			[]string{"  --domain DOMAIN\n", "  --from START\n        START: RFC 3339 time, date (2017-07-14) or a duration back from now (7d, 36h) (default 7d)\n",
				"  --url URL\n        the collector's base URL (default $PANTAU_COLLECTOR, else http://127.0.0.1:8080)\n",
				"  --format FORMAT\n        FORMAT: table, json or csv (default table)\n", "  --timeout DURATION\n"}},
		{"query changes", "usage: collector query changes [--since T] [--to T] [flags]",
			"print the transitions confirmed in a time range, on every domain and network", []string{"  --since T\n", "  --to T\n"}},
		{"query compliance", "usage: collector query compliance --order ID [--at T] [flags]",
			"print an order's compliance per network and per domain", []string{"  --order ID\n", "  --at T\n"}},
		{"version", "usage: collector version [flags]", "print the version", nil},
		{"help", "usage: collector help [COMMAND...]", "print the help of a command", nil},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			words := strings.Fields(tc.cmd)
			for _, args := range [][]string{append(words, "--help"), append(words, "-h"), append([]string{"help"}, words...)} {
				code, out, errOut := run(t, env(nil), args...)
				if code != 0 || errOut != "" || !strings.HasPrefix(out, tc.usage+"\n\n"+tc.summary+"\n") {
					t.Fatalf("collector %v: exit %d, stderr %q, stdout:\n%s", args, code, errOut, out)
				}
				if !strings.Contains(out, "\nexamples:\n  collector "+tc.cmd) {
					t.Errorf("collector %v: no examples:\n%s", args, out)
				}
				for _, f := range tc.flags {
					if !strings.Contains(out, f) {
						t.Errorf("collector %v: lacks %q:\n%s", args, f, out)
					}
				}
				if internalDefault(out) {
					t.Errorf("collector %v: an internal default shows:\n%s", args, out)
				}
			}
			code, out, errOut := run(t, env(nil), append(words, "--bogus")...)
			want := "collector " + tc.cmd + ": flag provided but not defined: -bogus\n" + tc.usage + "\nRun 'collector " + tc.cmd + " --help' for the flags and examples.\n"
			if code != 2 || out != "" || errOut != want {
				t.Errorf("collector %s --bogus: exit %d, stdout %q, stderr\n%s\nwant\n%s", tc.cmd, code, out, errOut, want)
			}
		})
	}
}

// TestGroupHelp checks the help of the program and of its groups, and the version.
func TestGroupHelp(t *testing.T) {
	const root = "usage: collector <command> [flags]\n\n" +
		"receive measurements from probes into InfluxDB and serve them back; issue probe tokens; query a running collector\n\n" +
		"commands:\n" +
		"  serve         receive measurements from probes, store them in InfluxDB and serve the API and the dashboard\n" +
		"  token         issue probe tokens and enrolment codes, signed with the collector's secret; list and revoke them\n" +
		"  query         ask a running collector (--url, $PANTAU_COLLECTOR) and print a table, or --format json|csv\n" +
		"  check-config  check a config file as serve loads it at start, without starting\n" +
		"  evidence      create the key that signs evidence bundles and compliance reports; verify a downloaded one offline\n" +
		"  demo          load a simulated 2017 Telegram data set into the configured InfluxDB and serve the dashboard on it, marked as simulated\n" +
		"  import        store measurements from other projects' open data (OONI) as Pantau measurements\n" +
		"  version       print the version\n" +
		"  help          print the help of a command\n\n" +
		"Run 'collector <command> --help' for the flags and examples of a command.\n\n" +
		"examples:\n" +
		"  collector serve --config /etc/pantau/collector.yaml\n" +
		"  collector query changes --url https://collector.example.org --since 7d\n"
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"--help"}, 0, root, ""},
		{[]string{"-h"}, 0, root, ""},
		{[]string{"help"}, 0, root, ""},
		{[]string{"--version"}, 0, "pantau collector dev\n", ""},
		{[]string{"version"}, 0, "pantau collector dev\n", ""},
		{[]string{"query", "--help"}, 0, queryHelp, ""},
		{[]string{"query", "-h"}, 0, queryHelp, ""},
		{[]string{"help", "query"}, 0, queryHelp, ""},
		{[]string{"token", "--help"}, 0, tokenHelp, ""},
		{[]string{"help", "token"}, 0, tokenHelp, ""},
		{nil, 2, "", root},
		{[]string{"frobnicate"}, 2, "", "collector: unknown command \"frobnicate\"\n" + root},
		{[]string{"query"}, 2, "", queryHelp},
		{[]string{"token"}, 2, "", tokenHelp},
		{[]string{"token", "forge"}, 2, "", "collector token: unknown command \"forge\"\n" + tokenHelp},
	} {
		code, out, errOut := run(t, env(nil), tc.args...)
		if code != tc.code || out != tc.stdout || errOut != tc.stderr {
			t.Errorf("collector %q: exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", tc.args, code, tc.code, out, tc.stdout, errOut, tc.stderr)
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
