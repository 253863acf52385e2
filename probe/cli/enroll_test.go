package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnrollRefuses checks what `probe enroll` refuses before and after asking the
// collector; the whole enrolment against a real collector is collector/cli's
// TestEnrolEndToEnd.
func TestEnrollRefuses(t *testing.T) {
	var answer struct {
		status int
		body   string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/enrol" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(answer.status)
		_, _ = w.Write([]byte(answer.body))
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.yaml")
	if err := os.WriteFile(existing, []byte("agent: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	claims := []string{"--probe", "jkt-01", "--network", "Telkomsel", "--country", "ID", "--asn", "23693"}
	args := func(extra ...string) []string {
		return append(append([]string{"enroll", "--collector", srv.URL, "--code", "AAAA-BBBB"}, claims...), extra...)
	}
	for _, tc := range []struct {
		name         string
		args         []string
		status       int
		body         string
		code         int
		want, config string
	}{
		{"no collector", append([]string{"enroll", "--code", "X"}, claims...), 0, "", 2, "--collector is required", ""},
		{"not a URL", append([]string{"enroll", "--collector", "collector.example.org", "--code", "X"}, claims...), 0, "", 2, "want the collector's http(s) URL", ""},
		{"no code", append([]string{"enroll", "--collector", srv.URL}, claims...), 0, "", 2, "--code is required", ""},
		{"no claims", []string{"enroll", "--collector", srv.URL, "--code", "X"}, 0, "", 2, "--probe, --network, --country and --asn are required", ""},
		{"existing config", args("--config", existing), 0, "", 2, "exists; --force sets the collector and token in it", existing},
		{"existing token file", args("--config", filepath.Join(dir, "t.yaml"), "--token-file", existing), 0, "", 2, "--token-file " + existing + ": exists", filepath.Join(dir, "t.yaml")},
		{"refused", args("--config", filepath.Join(dir, "a.yaml")), 409, `{"error":"enrolment code already used at 2026-12-07T00:00:00Z"}`, 1,
			"enrolment refused: 409 Conflict: enrolment code already used", filepath.Join(dir, "a.yaml")},
		{"not JSON", args("--config", filepath.Join(dir, "b.yaml")), 200, `<html>`, 1, "not JSON", filepath.Join(dir, "b.yaml")},
		{"no token", args("--config", filepath.Join(dir, "c.yaml")), 200, `{}`, 1, "holds no token", filepath.Join(dir, "c.yaml")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer.status, answer.body = tc.status, tc.body
			code, _, errOut := runMain(tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q, want %d %q", code, errOut, tc.code, tc.want)
			}
			if tc.config == existing {
				if b, _ := os.ReadFile(existing); string(b) != "agent: {}\n" {
					t.Fatal("the existing config was changed")
				}
			} else if tc.config != "" {
				if _, err := os.Stat(tc.config); err == nil {
					t.Fatal("a config was written after a failed enrolment")
				}
			}
		})
	}
}

// TestEnrollForce: --force keeps a packaged config's other keys and comments and sets the
// agent's collector and token file; the token goes to its own file, not in the config.
func TestEnrollForce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"token":"pt1.e30.c2ln","token_id":"enrol-abc"}`))
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "probe.yaml")
	packaged := "# Pantau probe (shipped)\nagent:\n  state_dir: /var/lib/pantau\n  # collector: https://collector.example.org\n  token: old-token\n  spool_max_mb: 8 # small flash\nconcurrency: 8\nmemory_limit_mb: 24\n"
	if err := os.WriteFile(path, []byte(packaged), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMain("enroll", "--collector", srv.URL, "--code", "AAAA", "--probe", "jkt-01", "--network", "Telkomsel",
		"--country", "ID", "--asn", "23693", "--config", path, "--force")
	if code != 0 || !strings.Contains(out, "enrolled probe jkt-01 (token id enrol-abc)") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	b, _ := os.ReadFile(path)
	cfg := string(b)
	for _, want := range []string{"# Pantau probe (shipped)", "state_dir: /var/lib/pantau", "spool_max_mb: 8 # small flash", "concurrency: 8",
		"memory_limit_mb: 24", `collector: "` + srv.URL + `"`, `token_file: "` + filepath.Join(dir, "probe.token") + `"`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "old-token") || strings.Contains(cfg, "pt1.") {
		t.Errorf("a token in the config:\n%s", cfg)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "probe.token"))
	fi, _ := os.Stat(filepath.Join(dir, "probe.token"))
	if err != nil || string(tok) != "pt1.e30.c2ln\n" || fi.Mode().Perm()&0o007 != 0 {
		t.Fatalf("token file %q (%v), mode %v", tok, err, fi.Mode())
	}
}
