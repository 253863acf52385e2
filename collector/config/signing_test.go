package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/collector/config"
	"github.com/pantau-dev/pantau/collector/sign"
)

// TestSigningKey: signing.key_file is loaded at validation, and a key that would not
// load is named with the field and the line.
func TestSigningKey(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "signing.key")
	if _, err := sign.Generate(good); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(good+".pub", 0o600); err != nil { // the wrong type, not the mode, is the problem
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open.key")
	if err := os.WriteFile(open, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, err string }{
		{good, ""},
		{filepath.Join(dir, "missing.key"), "collector.yaml:3: signing.key_file: key file " + filepath.Join(dir, "missing.key") + ": does not exist"},
		{open, "collector.yaml:3: signing.key_file: key file " + open + ": mode 0644"},
		{good + ".pub", `not PRIVATE KEY`},
	} {
		y := "secret: " + fileSecret + "\ninflux: {url: http://127.0.0.1:8086, bucket: a/b}\nsigning: {key_file: " + c.key + "}\n"
		cfg, err := config.Parse("collector.yaml", []byte(y), noEnv)
		if c.err == "" {
			if err != nil || cfg.Signing.KeyFile != c.key {
				t.Errorf("%s: %v", c.key, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want %q", c.key, err, c.err)
		}
	}
}
