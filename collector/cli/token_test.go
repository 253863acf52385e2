package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/cli"
)

const secret = "cli-test-secret-0123456789abcdef-0123456789"

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// run calls cli.Main and returns its exit code, stdout and stderr.
func run(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	code := cli.Main(context.Background(), args, &stdout, &stderr, getenv)
	return code, stdout.String(), stderr.String()
}

// writeConfig writes a collector config holding secret and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "collector.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTokenIssue(t *testing.T) {
	cfg := writeConfig(t, "secret: "+secret+"\ninflux: {url: http://127.0.0.1:8086, bucket: pantau/autogen}\n")
	for _, tc := range []struct {
		name   string
		getenv func(string) string
		extra  []string
	}{
		{"secret from PANTAU_SECRET", env(map[string]string{"PANTAU_SECRET": secret}), nil},
		{"secret from --config", env(nil), []string{"--config", cfg}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			args := append([]string{"token", "issue", "--probe", "jkt-telkomsel-01", "--network", "Telkomsel",
				"--asn", "23693", "--country", "ID", "--expires", "24h"}, tc.extra...)
			code, out, errOut := run(t, tc.getenv, args...)
			if code != 0 || !strings.HasPrefix(errOut, "token id: ") || strings.Count(out, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			v, err := auth.NewVerifier([]byte(secret), nil)
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(strings.TrimSpace(out), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if c.Probe != "jkt-telkomsel-01" || c.Network != "Telkomsel" || c.ASN != 23693 || c.Country != "ID" || c.ID == "" ||
				c.IssuedAt.Before(before) || c.IssuedAt.After(time.Now()) || c.ExpiresAt.Sub(c.IssuedAt) != 24*time.Hour ||
				!strings.HasPrefix(errOut, "token id: "+c.ID+" ") {
				t.Errorf("claims %+v", c)
			}
			// Another secret does not verify it.
			other, _ := auth.NewVerifier([]byte(strings.ToUpper(secret)), nil)
			if _, err := other.Verify(strings.TrimSpace(out), time.Now()); err == nil {
				t.Error("verified with another secret")
			}
		})
	}
	// Without --expires the token does not expire.
	code, out, _ := run(t, env(map[string]string{"PANTAU_SECRET": secret}), "token", "issue", "--probe", "p1", "--network", "Lab net", "--asn", "64512", "--country", "ID")
	v, _ := auth.NewVerifier([]byte(secret), nil)
	if c, err := v.Verify(strings.TrimSpace(out), time.Now().Add(100*365*24*time.Hour)); code != 0 || err != nil || !c.ExpiresAt.IsZero() {
		t.Errorf("no expiry: exit %d, %+v, %v", code, c, err)
	}
	// --expires takes whole days, as the durations of collector.yaml do.
	code, out, _ = run(t, env(map[string]string{"PANTAU_SECRET": secret}), "token", "issue", "--probe", "p1", "--network", "Lab net", "--asn", "64512", "--country", "ID", "--expires", "7d")
	if c, err := v.Verify(strings.TrimSpace(out), time.Now()); code != 0 || err != nil || c.ExpiresAt.Sub(c.IssuedAt) != 7*24*time.Hour {
		t.Errorf("--expires 7d: exit %d, %+v, %v", code, c, err)
	}
}

// issueUsage is what follows a bad flag of `collector token issue` on stderr.
const issueUsage = "usage: collector token issue --probe ID --network NAME --asn N --country CC [--expires D] [--enrol --url URL] [flags]\n" +
	"Run 'collector token issue --help' for the flags and examples."

func TestTokenIssueErrors(t *testing.T) {
	withSecret := env(map[string]string{"PANTAU_SECRET": secret})
	bad := writeConfig(t, "secret: short\ninflux: {url: http://127.0.0.1:8086, bucket: pantau/autogen}\n")
	ok := []string{"--probe", "jkt-01", "--network", "Telkomsel", "--asn", "23693", "--country", "ID"}
	with := func(flag, value string) []string {
		out := []string{"token", "issue"}
		for i := 0; i < len(ok); i += 2 {
			if ok[i] == flag {
				if value != "" {
					out = append(out, flag, value)
				}
				continue
			}
			out = append(out, ok[i], ok[i+1])
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		getenv func(string) string
		args   []string
		want   string
	}{
		{"missing secret", env(nil), with("", ""), "collector token issue: no secret: give --config or set PANTAU_SECRET"},
		{"short secret in the config", env(nil), append(with("", ""), "--config", bad),
			"collector token issue: --config: " + bad + ":1: secret: must be at least 32 bytes, got 5 (set it in the file or PANTAU_SECRET)"},
		{"lower-case country", withSecret, with("--country", "id"), `collector token issue: country "id": want upper case "ID"`},
		{"unassigned country", withSecret, with("--country", "XX"), `collector token issue: country "XX": not an assigned ISO 3166 code`},
		{"long country", withSecret, with("--country", "IDN"), `collector token issue: country "IDN": want a two-letter ISO 3166 code`},
		{"asn 0", withSecret, with("--asn", "0"), `collector token issue: asn 0: want 1..4294967294`},
		{"asn too large", withSecret, with("--asn", "4294967296"), `collector token issue: --asn 4294967296: out of range`},
		{"asn not a number", withSecret, with("--asn", "AS23693"),
			`collector token issue: invalid value "AS23693" for flag -asn: parse error` + "\n" + issueUsage},
		{"missing probe", withSecret, with("--probe", ""), `collector token issue: probe "": want 1-63 characters of [a-z0-9._-], starting with a letter or digit`},
		{"bad probe", withSecret, with("--probe", "JKT 01"), `collector token issue: probe "JKT 01": want 1-63 characters of [a-z0-9._-], starting with a letter or digit`},
		{"negative expiry", withSecret, append(with("", ""), "--expires", "-1h"),
			`collector token issue: invalid value "-1h" for flag -expires: "-1h" is negative` + "\n" + issueUsage},
		{"unknown flag", withSecret, append(with("", ""), "--admin"), "collector token issue: flag provided but not defined: -admin\n" + issueUsage},
		{"extra argument", withSecret, append(with("", ""), "extra"), `collector token issue: unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, tc.getenv, tc.args...)
			if code != 2 || out != "" || errOut != tc.want+"\n" {
				t.Errorf("exit %d, stdout %q, stderr\n got %q\nwant %q", code, out, errOut, tc.want+"\n")
			}
		})
	}
}

func TestCommands(t *testing.T) {
	if code, out, _ := run(t, env(nil), "version"); code != 0 || out != "pantau collector dev\n" {
		t.Errorf("version: %d %q", code, out)
	}
	if code, out, _ := run(t, env(nil), "help"); code != 0 || !strings.HasPrefix(out, "usage: collector <command>") {
		t.Errorf("help: %d %q", code, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "collector: unknown command \"frobnicate\"\nusage: collector <command>"},
		{[]string{"token"}, "usage: collector token <command>"},
		{[]string{"token", "forge"}, "collector token: unknown command \"forge\"\nusage: collector token <command>"},
	} {
		code, _, errOut := run(t, env(nil), tc.args...)
		if code != 2 || !strings.HasPrefix(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q", tc.args, code, errOut)
		}
	}
	if code, _, errOut := run(t, env(nil)); code != 2 || !strings.HasPrefix(errOut, "usage:") {
		t.Errorf("no command: %d %q", code, errOut)
	}
	if code, out, errOut := run(t, env(nil), "token", "issue", "-h"); code != 0 || errOut != "" || !strings.Contains(out, "\n  --probe ID\n") {
		t.Errorf("token issue -h: %d %q %q", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "collector serve: --config is required\n"},
		{[]string{"serve", "--config", "/nonexistent/collector.yaml"}, "collector serve: config: open /nonexistent/collector.yaml: no such file or directory\n"},
		{[]string{"serve", "--config", "x", "--log-level", "loud"}, "collector serve: --log-level \"loud\": want debug, info, warn or error\n"},
	} {
		if code, _, errOut := run(t, env(nil), tc.args...); code != 2 || errOut != tc.want {
			t.Errorf("%q: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}
