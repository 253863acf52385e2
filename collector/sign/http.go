package sign

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// WellKnownPath is where the collector serves its public signing key.
const WellKnownPath = "/.well-known/pantau-signing-key"

// PublicKey is the answer at WellKnownPath.
type PublicKey struct {
	Algorithm string `json:"algorithm"` // "ed25519"
	KeyID     string `json:"key_id"`    // KeyID
	PEM       string `json:"public_key"`
}

// KeyHandler answers GET WellKnownPath with s's public key as JSON (PublicKey), or 404
// when s is nil (no signing key is configured).
func KeyHandler(s *Signer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if s == nil {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "no signing key is configured: evidence and compliance reports are unsigned"})
			return
		}
		pem, err := PublicPEM(s.Public())
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		_ = json.NewEncoder(w).Encode(PublicKey{Algorithm: "ed25519", KeyID: s.id, PEM: string(pem)})
	})
}

// maxKeyAnswer bounds the answer FetchKey reads.
const maxKeyAnswer = 64 << 10

// FetchKey gets the public key a collector serves at base + WellKnownPath and checks that
// the key ID it gives is the key's. It proves only which key the collector holds now:
// fetch it over HTTPS, and keep it with the bundles it verified.
func FetchKey(ctx context.Context, client *http.Client, base string) (PublicKey, error) {
	u := strings.TrimRight(base, "/") + WellKnownPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return PublicKey{}, fmt.Errorf("signing key: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return PublicKey{}, fmt.Errorf("signing key: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyAnswer))
	if err != nil {
		return PublicKey{}, fmt.Errorf("signing key: %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return PublicKey{}, fmt.Errorf("signing key: %s: %s: %.200s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	var k PublicKey
	if err := json.Unmarshal(body, &k); err != nil {
		return PublicKey{}, fmt.Errorf("signing key: %s: %w", u, err)
	}
	pub, err := ParsePublicPEM([]byte(k.PEM))
	if err != nil {
		return PublicKey{}, fmt.Errorf("signing key: %s: %w", u, err)
	}
	if id := KeyID(pub); id != k.KeyID {
		return PublicKey{}, fmt.Errorf("signing key: %s: key_id %s is not the key's (%s)", u, k.KeyID, id)
	}
	return k, nil
}
