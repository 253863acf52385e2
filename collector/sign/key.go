// Package sign signs the collector's evidence bundles and compliance reports with Ed25519
// and verifies them offline (docs/evidence.md). A signature is detached over a canonical
// manifest (the content's SHA-256 and what the content is about) and carried in the file
// itself: the last member of a JSON object, the last row of a CSV. Verifying needs only
// the file and the collector's public key.
package sign

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Signer signs with one private key; a nil *Signer leaves content unsigned.
type Signer struct {
	key     ed25519.PrivateKey
	id      string
	version string
}

// New returns a Signer with key, recording collectorVersion in each signature.
func New(key ed25519.PrivateKey, collectorVersion string) *Signer {
	pub := key.Public().(ed25519.PublicKey)
	return &Signer{key: key, id: KeyID(pub), version: collectorVersion}
}

// KeyID returns the key's ID, "" for a nil Signer.
func (s *Signer) KeyID() string {
	if s == nil {
		return ""
	}
	return s.id
}

// Version returns the collector version recorded in signatures, "" for a nil Signer.
func (s *Signer) Version() string {
	if s == nil {
		return ""
	}
	return s.version
}

// Public returns the public key, nil for a nil Signer.
func (s *Signer) Public() ed25519.PublicKey {
	if s == nil {
		return nil
	}
	return s.key.Public().(ed25519.PublicKey)
}

// KeyID is the hex SHA-256 of the public key's PKIX DER encoding (the bytes of its PEM
// block): `openssl pkey -pubin -in KEY.pub -outform DER | sha256sum` prints the same.
func KeyID(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil { // only for a key of the wrong length, which ed25519 never makes
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// PublicPEM encodes pub as a PEM "PUBLIC KEY" block (PKIX).
func PublicPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicPEM reads an Ed25519 public key from a PEM "PUBLIC KEY" block.
func ParsePublicPEM(b []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block (want -----BEGIN PUBLIC KEY-----)")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("PEM block is %q, not PUBLIC KEY", block.Type)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, not Ed25519", k)
	}
	return pub, nil
}

// ParsePublicPEMs reads every PEM block of b, each an Ed25519 "PUBLIC KEY" (a file of a
// collector's public keys across rotations); text between the blocks is ignored.
func ParsePublicPEMs(b []byte) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for i := 1; ; i++ {
		block, rest := pem.Decode(b)
		if block == nil {
			break
		}
		pub, err := ParsePublicPEM(pem.EncodeToMemory(block))
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		keys = append(keys, pub)
		b = rest
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM block (want -----BEGIN PUBLIC KEY-----)")
	}
	return keys, nil
}

// LoadKey reads the private key of path: a PEM "PRIVATE KEY" block (PKCS#8, as
// `openssl genpkey -algorithm ed25519` and `collector evidence keygen` write it), or a
// 32-byte Ed25519 seed, raw or as 64 hex digits. The file must not be readable or
// writable by others, nor writable by its group.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("key file %s: does not exist (create one with `collector evidence keygen --out %s`)", path, path)
		}
		return nil, fmt.Errorf("key file: %w", err)
	}
	if m := fi.Mode().Perm(); m&0o027 != 0 {
		return nil, fmt.Errorf("key file %s: mode %04o lets others read or change the private key (chmod 600 %s)", path, m, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	key, err := parsePrivate(b)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

// parsePrivate reads a PKCS#8 PEM private key or a seed (raw or hex).
func parsePrivate(b []byte) (ed25519.PrivateKey, error) {
	if block, _ := pem.Decode(b); block != nil {
		if block.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("PEM block is %q, not PRIVATE KEY (PKCS#8 Ed25519)", block.Type)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PKCS#8: %w", err)
		}
		key, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("PKCS#8 key is %T, not Ed25519", k)
		}
		return key, nil
	}
	if len(b) == ed25519.SeedSize {
		return ed25519.NewKeyFromSeed(b), nil
	}
	if seed, err := hex.DecodeString(strings.TrimSpace(string(b))); err == nil && len(seed) == ed25519.SeedSize {
		return ed25519.NewKeyFromSeed(seed), nil
	}
	return nil, fmt.Errorf("neither a PEM PRIVATE KEY (PKCS#8 Ed25519) nor a %d-byte seed (raw or %d hex digits); %d bytes", ed25519.SeedSize, 2*ed25519.SeedSize, len(b))
}

// Generate creates a key pair: the private key as PKCS#8 PEM in path (mode 0600; an
// existing file is not overwritten) and the public key as PEM in path + ".pub". It
// returns the key ID.
func Generate(path string) (string, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("encode key: %w", err)
	}
	pubPEM, err := PublicPEM(pub)
	if err != nil {
		return "", err
	}
	for _, p := range []string{path, path + ".pub"} {
		if _, err := os.Lstat(p); err == nil {
			return "", fmt.Errorf("write key: %s exists (not overwritten)", p)
		}
	}
	if err := writeNew(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", err
	}
	if err := writeNew(path+".pub", pubPEM, 0o644); err != nil {
		return "", err
	}
	return KeyID(pub), nil
}

// writeNew writes b to a file that must not exist yet.
func writeNew(path string, b []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return nil
}
