package cli_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	evsign "github.com/pantau-dev/pantau/collector/sign"
	"github.com/pantau-dev/pantau/internal/influxtest"
)

// TestEvidenceVerify: keygen writes a key; a bundle signed with it verifies with
// --key FILE.pub and with --url (the well-known handler), exit 0; a changed byte, another
// key and an unsigned bundle exit 1 with the reason; bad use exits 2.
func TestEvidenceVerify(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "signing.key")
	code, stdout, stderr := run(t, env(nil), "evidence", "keygen", "--out", keyFile)
	if code != 0 || !strings.Contains(stdout, "key_file: "+keyFile) {
		t.Fatalf("keygen: %d %q %q", code, stdout, stderr)
	}
	if code, _, stderr := run(t, env(nil), "evidence", "keygen", "--out", keyFile); code != 1 || !strings.Contains(stderr, "exists (not overwritten)") {
		t.Errorf("keygen again: %d %q", code, stderr)
	}
	key, err := evsign.LoadKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	s := evsign.New(key, "v1.0.0")
	otherFile := filepath.Join(dir, "other.key")
	if code, _, _ := run(t, env(nil), "evidence", "keygen", "--out", otherFile); code != 0 {
		t.Fatal("keygen other")
	}
	const raw = `{"id":"m1", "target":"t.me"}`
	bundle := []byte(`{"domain":"t.me","network":"Telkomsel","measurements":[{"id":"m1","sha256":"` + sha(raw) + `","raw":` + raw + `}]}`)
	signed, err := s.Sign(bundle, evsign.JSON, evsign.Meta{Kind: "evidence", Domain: "t.me", Network: "Telkomsel",
		At: time.Date(2017, 7, 16, 12, 0, 0, 0, time.UTC), GeneratedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := evsign.Unsigned(bundle, evsign.JSON)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, bad, none := write("good.json", append(signed, '\n')), write("bad.json", bytes.Replace(signed, []byte(`"t.me"}`), []byte(`"t.mf"}`), 1)), write("none.json", unsigned)
	mux := http.NewServeMux()
	mux.Handle("GET "+evsign.WellKnownPath, evsign.KeyHandler(s))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, c := range []struct {
		args []string
		code int
		out  string // in stdout (exit 0) or stderr
	}{
		{[]string{"--key", keyFile + ".pub", good}, 0, "valid: evidence t.me on Telkomsel (json) at 2017-07-16T12:00:00Z, generated 2026-12-01T00:00:00Z by collector v1.0.0, key ID " + s.KeyID()},
		{[]string{"--url", srv.URL, good}, 0, "valid: evidence"},
		{[]string{"--key", keyFile + ".pub", bad}, 1, bad + ": tampered content: measurement 1 (id m1): its raw JSON does not match its sha256"},
		{[]string{"--key", otherFile + ".pub", good}, 1, good + ": wrong key: signed with key " + s.KeyID()},
		{[]string{"--key", keyFile + ".pub", none}, 1, none + ": unsigned: signature is null"},
		{[]string{"--key", keyFile, good}, 1, `PEM block is "PRIVATE KEY", not PUBLIC KEY`},
		{[]string{"--url", srv.URL + "/nothing", good}, 1, "404"},
		{[]string{good}, 2, "give --key PUBFILE or --url COLLECTOR"},
		{[]string{"--key", keyFile + ".pub", "--url", srv.URL, good}, 2, "one of them"},
		{[]string{"--key", keyFile + ".pub"}, 2, "give one FILE to verify, got 0"},
	} {
		code, stdout, stderr := run(t, env(nil), append([]string{"evidence", "verify"}, c.args...)...)
		out := stderr
		if c.code == 0 {
			out = stdout
		}
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("verify %q: exit %d, stdout %q, stderr %q; want %d and %q", c.args, code, stdout, stderr, c.code, c.out)
		}
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestServeSigned runs `collector serve` with signing.key_file on the real InfluxDB: the
// well-known URL serves the key, and an evidence bundle, a compliance report and an
// order's zip bundle downloaded from it verify with `evidence verify --url`.
func TestServeSigned(t *testing.T) {
	influx, _ := influxtest.Server(t)
	keyFile := filepath.Join(t.TempDir(), "signing.key")
	if code, _, stderr := run(t, env(nil), "evidence", "keygen", "--out", keyFile); code != 0 {
		t.Fatal(stderr)
	}
	cfg := writeConfig(t, fmt.Sprintf("listen: 127.0.0.1:0\nsecret: %s\ninflux: {url: %s, bucket: %s, timeout: 30s}\nsigning: {key_file: %s}\n",
		secret, influx, influxtest.NewBucket(t), keyFile))
	c := serve(t, cfg)
	at := url.QueryEscape(time.Now().UTC().Add(-time.Hour).Format(time.RFC3339))
	for i, path := range []string{"/api/v1/evidence?domain=t.me&network=Telkomsel&at=" + at, "/api/v1/orders/kominfo-2017-telegram-block/compliance?format=csv",
		"/api/v1/orders/kominfo-2017-telegram-block/bundle"} {
		code, body := getBody(t, c.url+path)
		file := filepath.Join(t.TempDir(), fmt.Sprint("download-", i))
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil || code != 200 {
			t.Fatalf("%s: %d %v %.200s", path, code, err, body)
		}
		if code, stdout, stderr := run(t, env(nil), "evidence", "verify", "--url", c.url, file); code != 0 || !strings.HasPrefix(stdout, "valid: ") {
			t.Errorf("verify %s: %d %q %q", path, code, stdout, stderr)
		}
	}
}
