package cli

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
)

func TestReloadRevoked(t *testing.T) {
	const secret = "reload-test-secret-0123456789abcdef-0123"
	path := filepath.Join(t.TempDir(), "collector.yaml")
	writeRevoked := func(list string) {
		t.Helper()
		body := "secret: " + secret + "\ninflux: {url: http://127.0.0.1:8086, bucket: pantau/autogen}\nrevoked: " + list + "\n"
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	issue := func(probe string) string {
		t.Helper()
		tok, err := auth.Issue([]byte(secret), auth.Claims{Probe: probe, Network: "Lab", Country: "ID", ASN: 64512})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	a, b := issue("sby-01"), issue("sby-02")
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	getenv := func(string) string { return "" }
	v, err := auth.NewVerifier([]byte(secret), nil)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(tok string) error { _, err := v.Verify(tok, time.Now()); return err }

	writeRevoked("[probe:sby-01]")
	if err := reloadRevoked(path, getenv, v, log); err != nil {
		t.Fatal(err)
	}
	if err := verify(a); !errors.Is(err, auth.ErrRevoked) {
		t.Errorf("revoked probe: %v", err)
	}
	if err := verify(b); err != nil {
		t.Errorf("other probe: %v", err)
	}
	if !strings.Contains(logs.String(), `msg="SIGHUP: revocation list reloaded" entries=1`) {
		t.Errorf("log %q", logs.String())
	}

	// A bad list keeps the old one.
	writeRevoked("[probe:sby-02, sby-03]")
	err = reloadRevoked(path, getenv, v, log)
	if want := path + `: revoked[1] "sby-03": want "id:TOKENID" or "probe:PROBEID"`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if err := verify(a); !errors.Is(err, auth.ErrRevoked) {
		t.Errorf("still revoked: %v", err)
	}
	if err := verify(b); err != nil {
		t.Errorf("not revoked by the refused list: %v", err)
	}
	// So does a file that does not load for another reason.
	if err := os.WriteFile(path, []byte("secret: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := reloadRevoked(path, getenv, v, log); err == nil || verify(a) == nil || verify(b) != nil {
		t.Errorf("broken file: %v", err)
	}
	if n := strings.Count(logs.String(), `msg="SIGHUP: config not reloaded; keeping the old revocation list"`); n != 2 {
		t.Errorf("%d refusals logged:\n%s", n, logs.String())
	}

	// An emptied list revokes nothing.
	writeRevoked("[]")
	if err := reloadRevoked(path, getenv, v, log); err != nil || verify(a) != nil {
		t.Errorf("emptied list: %v, %v", err, verify(a))
	}
}
