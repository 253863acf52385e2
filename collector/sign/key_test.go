package sign_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/collector/sign"
)

// TestGenerateLoad: a generated key loads, its public file parses to the same key ID,
// and a second keygen to the same path refuses to overwrite.
func TestGenerateLoad(t *testing.T) {
	path := keyPath(t)
	id, err := sign.Generate(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi.Mode(), err)
	}
	key, err := sign.LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.ParsePublicPEM(pubPEM)
	if err != nil || sign.KeyID(pub) != id || sign.New(key, "dev").KeyID() != id || len(id) != 64 {
		t.Fatalf("public key: %v, id %s, want %s", err, sign.KeyID(pub), id)
	}
	if _, err := sign.Generate(path); err == nil || !strings.Contains(err.Error(), "exists (not overwritten)") {
		t.Fatalf("second keygen: %v", err)
	}
}

func TestLoadKeyErrors(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	seed := strings.Repeat("ab", 32)
	pubPEM, err := sign.PublicPEM(newSigner(t, 1).Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		body []byte // nil: no file
		mode os.FileMode
		err  string // "" loads
	}{
		{"missing", nil, 0o600, "does not exist (create one with `collector evidence keygen --out"},
		{"readable by others", []byte(seed), 0o644, "mode 0644 lets others read or change the private key (chmod 600"},
		{"writable by group", []byte(seed), 0o660, "mode 0660"},
		{"readable by group", []byte(seed), 0o640, ""},
		{"hex seed", []byte(seed + "\n"), 0o600, ""},
		{"raw seed", []byte(strings.Repeat("k", 32)), 0o400, ""},
		{"public key", pubPEM, 0o600, `PEM block is "PUBLIC KEY", not PRIVATE KEY`},
		{"ecdsa key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), 0o600, "PKCS#8 key is *ecdsa.PrivateKey, not Ed25519"},
		{"bad PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}), 0o600, "PKCS#8:"},
		{"short seed", []byte(seed[:62]), 0o600, "neither a PEM PRIVATE KEY (PKCS#8 Ed25519) nor a 32-byte seed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := keyPath(t)
			if c.body != nil {
				if err := os.WriteFile(path, c.body, c.mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, c.mode); err != nil { // past the umask
					t.Fatal(err)
				}
			}
			key, err := sign.LoadKey(path)
			if c.err == "" {
				if err != nil || len(key) == 0 {
					t.Fatalf("LoadKey: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), path) {
				t.Fatalf("LoadKey: %v, want %q naming the file", err, c.err)
			}
		})
	}
	b, _ := hex.DecodeString(seed)
	if _, err := sign.ParsePublicPEM(b); err == nil {
		t.Error("ParsePublicPEM took a seed")
	}
}

// TestKeyHandler: the well-known URL serves the key and its ID (FetchKey reads it back),
// or 404 without a key.
func TestKeyHandler(t *testing.T) {
	s := newSigner(t, 5)
	mux := http.NewServeMux()
	mux.Handle("GET "+sign.WellKnownPath, sign.KeyHandler(s))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	k, err := sign.FetchKey(context.Background(), srv.Client(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.ParsePublicPEM([]byte(k.PEM))
	if err != nil || k.KeyID != s.KeyID() || !pub.Equal(s.Public()) || k.Algorithm != "ed25519" {
		t.Fatalf("key %+v: %v", k, err)
	}
	none := httptest.NewServer(sign.KeyHandler(nil))
	defer none.Close()
	if _, err := sign.FetchKey(context.Background(), none.Client(), none.URL); err == nil || !strings.Contains(err.Error(), "404 Not Found") || !strings.Contains(err.Error(), "no signing key is configured") {
		t.Fatalf("no key: %v", err)
	}
}
