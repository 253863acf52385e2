package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
	probecli "github.com/pantau-dev/pantau/probe/cli"
	probeconfig "github.com/pantau-dev/pantau/probe/config"
)

const fleetAdmin = "fleet-cli-admin-token-0123456789"

// enrollArgs finds the `probe enroll` command line in the output of `token issue --enrol`
// and splits it as a POSIX shell would (words, single quotes).
func enrollArgs(t *testing.T, out string) []string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "probe enroll ") {
			continue
		}
		var args []string
		var cur strings.Builder
		quoted, inWord := false, false
		for _, r := range line {
			switch {
			case r == '\'':
				quoted, inWord = !quoted, true
			case r == ' ' && !quoted:
				if inWord {
					args = append(args, cur.String())
					cur.Reset()
				}
				inWord = false
			default:
				cur.WriteRune(r)
				inWord = true
			}
		}
		return append(args, cur.String())[1:] // without "probe"
	}
	t.Fatalf("no probe enroll command in:\n%s", out)
	return nil
}

// probeRun runs the probe's command line in-process.
func probeRun(args ...string) (int, string, string) {
	var stdout, stderr strings.Builder
	code := probecli.Main(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// beat posts a heartbeat with tok and returns the status.
func beat(t *testing.T, base, tok string) int {
	t.Helper()
	hb, _ := json.Marshal(measurement.Heartbeat{SentAt: time.Now().UTC(), Software: measurement.Software{Name: "pantau", Version: "v1.0.0"}})
	code, _ := post(t, base+"/api/v1/heartbeats", tok, hb)
	return code
}

// TestEnrolEndToEnd: the operator issues a code, `probe enroll` redeems it against a real
// collector and writes probe.yaml, whose token the collector accepts; the code is refused a
// second time, also after a restart; `token list` shows the token and `token revoke`
// revokes it on the running collector.
func TestEnrolEndToEnd(t *testing.T) {
	influx, _ := influxtest.Server(t)
	cfg := writeConfig(t, fmt.Sprintf("listen: 127.0.0.1:0\nsecret: %s\nadmin_token: %s\ninflux: {url: %s, bucket: %s}\nlimits: {read_rate: 0}\n",
		secret, fleetAdmin, influx, influxtest.NewBucket(t)))
	c := serve(t, cfg)
	code, out, errOut := run(t, env(nil), "token", "issue", "--config", cfg, "--enrol", "--url", c.url+"/", "--probe", "jkt-09",
		"--network", "Indosat Ooredoo", "--country", "ID", "--asn", "4761", "--expires", "2h")
	if code != 0 || errOut != "" || !strings.Contains(out, "(single use)") {
		t.Fatalf("token issue --enrol: exit %d\n%s%s", code, out, errOut)
	}
	args := enrollArgs(t, out)
	dir := t.TempDir()
	path := filepath.Join(dir, "etc", "probe.yaml")
	code, out, errOut = probeRun(append(args, "--config", path)...)
	if code != 0 || !strings.Contains(out, "enrolled probe jkt-09") {
		t.Fatalf("probe enroll: exit %d\n%s%s", code, out, errOut)
	}
	pc, err := probeconfig.Load(path)
	if err != nil || pc.Agent.Collector != c.url || pc.Agent.Token != "" {
		t.Fatalf("probe.yaml: %+v, %v", pc, err)
	}
	fi, err := os.Stat(pc.Agent.TokenFile)
	if err != nil || fi.Mode().Perm()&0o007 != 0 {
		t.Fatalf("token file %q: %v, mode %v", pc.Agent.TokenFile, err, fi.Mode())
	}
	b, _ := os.ReadFile(pc.Agent.TokenFile)
	tok := strings.TrimSpace(string(b))
	v, _ := auth.NewVerifier([]byte(secret), nil)
	claims, err := v.Verify(tok, time.Now())
	if err != nil || claims.Probe != "jkt-09" || claims.Network != "Indosat Ooredoo" || claims.ASN != 4761 || claims.Country != "ID" {
		t.Fatalf("token %+v, %v", claims, err)
	}
	if st := beat(t, c.url, tok); st != http.StatusOK {
		t.Fatalf("heartbeat with the enrolled token: HTTP %d", st)
	}
	// Not again: an existing file is kept, a used code is refused (also after a restart).
	if code, _, errOut := probeRun(append(args, "--config", path)...); code != 2 || !strings.Contains(errOut, "exists; --force sets") {
		t.Fatalf("existing probe.yaml: exit %d %s", code, errOut)
	}
	for round := range 2 {
		code, _, errOut := probeRun(append(args, "--config", path, "--force")...)
		if code != 1 || !strings.Contains(errOut, "409 Conflict: enrolment code already used") {
			t.Fatalf("round %d, replayed code: exit %d %s", round, code, errOut)
		}
		if round == 0 {
			c.stop(t)
			c = serve(t, cfg) // on another port
			for i := range args {
				if i > 0 && args[i-1] == "--collector" {
					args[i] = c.url
				}
			}
		}
	}
	if b2, err := os.ReadFile(pc.Agent.TokenFile); err != nil || strings.TrimSpace(string(b2)) != tok {
		t.Fatal("a refused enrolment changed the token file")
	}
	tokenListRevoke(t, cfg, claims.ID)
	// A collector reads the stored revocations when it starts, then every 30 s
	// (TestRefreshRevoked).
	c.stop(t)
	c = serve(t, cfg)
	waitFor(t, "the collector to refuse the revoked token", func() bool { return beat(t, c.url, tok) == http.StatusUnauthorized })
}

// tokenListRevoke lists the tokens and revokes the enrolled one.
func tokenListRevoke(t *testing.T, cfg, enrolled string) {
	t.Helper()
	code, issued, issueErr := run(t, env(nil), "token", "issue", "--config", cfg, "--probe", "jkt-10", "--network", "Telkomsel",
		"--asn", "23693", "--country", "ID", "--expires", "1h")
	if code != 0 || issueErr == "" || strings.Contains(issueErr, "not recorded") {
		t.Fatalf("token issue: exit %d %s", code, issueErr)
	}
	issued = strings.TrimSpace(issued)
	code, out, errOut := run(t, env(nil), "token", "list", "--config", cfg)
	if code != 0 || !strings.Contains(out, "ID ") || !strings.Contains(out, enrolled) || strings.Count(out, " active\n") != 2 ||
		!strings.Contains(out, "jkt-10") || !strings.Contains(out, "Indosat Ooredoo") || strings.Contains(out, issued) {
		t.Fatalf("token list: exit %d\n%s%s", code, out, errOut)
	}
	for _, bad := range [][]string{{"token", "revoke", "--config", cfg}, {"token", "revoke", "--config", cfg, "--probe", "JKT 09"}, {"token", "revoke", enrolled}} {
		if code, _, _ := run(t, env(nil), bad...); code != 2 {
			t.Errorf("%q: exit %d, want 2", bad, code)
		}
	}
	code, out, errOut = run(t, env(nil), "token", "revoke", "--config", cfg, enrolled)
	if code != 0 || !strings.Contains(out, "revoked id:"+enrolled) {
		t.Fatalf("token revoke: exit %d\n%s%s", code, out, errOut)
	}
	_, out, _ = run(t, env(nil), "token", "list", "--config", cfg)
	if !strings.Contains(out, " revoked\n") || strings.Count(out, " active\n") != 1 {
		t.Fatalf("token list after revoke:\n%s", out)
	}
}
