package cli_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// TestCheckConfig checks good and bad configs as `collector serve` loads them at start:
// the file's own problems, then those of what serve builds from it, each at its line.
func TestCheckConfig(t *testing.T) {
	const dir = "testdata/checkconfig/"
	const secret48 = "0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		file   string
		env    map[string]string
		code   int
		stdout string
		stderr string
	}{
		{"good.yml", nil, 0, "ok\n", ""},
		{"no-secret.yml", map[string]string{"PANTAU_SECRET": secret48}, 0, "ok\n", ""},
		{"no-secret.yml", nil, 1, "", dir + "no-secret.yml:1: secret: must be at least 32 bytes, got 0 (set it in the file or PANTAU_SECRET)\n" +
			"collector check-config: " + dir + "no-secret.yml: 1 problem(s)\n"},
		{"bad-values.yml", nil, 1, "", dir + `bad-values.yml:3: influx.url: "ftp://127.0.0.1:8086" is not an http(s) URL` + "\n" +
			dir + `bad-values.yml:5: field "listn" not found` + "\n" +
			"collector check-config: " + dir + "bad-values.yml: 2 problem(s)\n"},
		{"missing-files.yml", nil, 1, "", dir + "missing-files.yml:5: geoip_mmdb: geo: open " + dir + "none.mmdb: no such file or directory\n" +
			dir + "missing-files.yml:7: tls.cert: open " + dir + "none.crt: no such file or directory\n" +
			dir + `missing-files.yml:10: alerts.orders[0]: no order "no-such-order" (orders_dir "" and the seeds)` + "\n" +
			"collector check-config: " + dir + "missing-files.yml: 3 problem(s)\n"},
		{"bad-orders.yml", nil, 1, "", dir + "bad-orders.yml:5: orders_dir: " + dir + "orders/bad.yaml:1: reference: missing\n" +
			dir + "bad-orders.yml:5: orders_dir: " + dir + "orders/bad.yaml:1: expect: missing\n" +
			dir + "bad-orders.yml:5: orders_dir: " + dir + "orders/bad.yaml:1: effective: missing\n" +
			dir + "bad-orders.yml:5: orders_dir: " + dir + "orders/bad.yaml:1: networks: missing\n" +
			dir + "bad-orders.yml:5: orders_dir: " + dir + "orders/bad.yaml:1: domains: missing: give domains or target_list\n" +
			dir + `bad-orders.yml:5: orders_dir: ` + dir + `orders/bad.yaml:3: field "issued" not found` + "\n" +
			"collector check-config: " + dir + "bad-orders.yml: 6 problem(s)\n"},
		{"missing.yml", nil, 1, "", "config: open " + dir + "missing.yml: no such file or directory\n" +
			"collector check-config: " + dir + "missing.yml: 1 problem(s)\n"},
	}
	for _, tc := range tests {
		code, stdout, stderr := run(t, env(tc.env), "check-config", "--config", dir+tc.file)
		if code != tc.code || stdout != tc.stdout || stderr != tc.stderr {
			t.Errorf("check-config %s: exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q", tc.file, code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
		}
	}
	for _, args := range [][]string{{"check-config"}, {"check-config", "--config", dir + "good.yml", "extra"}} {
		if code, _, _ := run(t, env(nil), args...); code != 2 {
			t.Errorf("collector %v: exit %d, want 2", args, code)
		}
	}
}

// TestCheckConfigNoSideEffects: checking a config asks nothing of InfluxDB, listens on
// nothing and writes nothing (the alert state file is not created).
func TestCheckConfigNoSideEffects(t *testing.T) {
	var requests atomic.Int64
	influx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { requests.Add(1) }))
	defer influx.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, "alerts.json")
	cfg := filepath.Join(dir, "collector.yaml")
	body := "secret: \"change-me-to-48-random-bytes-0123456789abcdefgh\"\nlisten: 127.0.0.1:1\ninflux:\n  url: " + influx.URL +
		"\n  bucket: pantau/autogen\nalerts:\n  state_file: " + state + "\n  webhooks: [{name: ops, url: \"" + influx.URL + "/hook\"}]\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, env(nil), "check-config", "--config", cfg)
	if code != 0 || stdout != "ok\n" {
		t.Fatalf("check-config: exit %d, %q %q", code, stdout, stderr)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("InfluxDB (or the webhook) got %d requests; want none", n)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("the alert state file exists after check-config (stat: %v)", err)
	}
}
