package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/sign"
)

func archiveFiles() []sign.File {
	return []sign.File{{Name: "compliance.json", Data: []byte(`{"a":1}`)}, {Name: "measurements/t.me/m1.json", Data: []byte(raw)}}
}

var archiveMeta = sign.Meta{Kind: "order-bundle", Order: "o", At: time.Date(2017, 7, 20, 0, 0, 0, 0, time.UTC),
	GeneratedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}

// TestSignArchive: an archive verifies with its key among others, is the same bytes for
// the same input, and refuses names that are not new relative paths; without a key it
// says unsigned; a flipped byte inside the zip is named by the zip's own checksum.
func TestSignArchive(t *testing.T) {
	s, other := newSigner(t, 1), newSigner(t, 2)
	a, err := s.SignArchive(archiveFiles(), archiveMeta)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.SignArchive(archiveFiles(), archiveMeta)
	if !bytes.Equal(a, again) || !sign.IsZip(a) {
		t.Error("the same input gave other bytes, or not a zip")
	}
	sig, err := sign.VerifyKeys(a, []ed25519.PublicKey{other.Public(), s.Public()})
	if err != nil || sig.Kind != "order-bundle" || sig.Order != "o" || sig.Format != sign.Zip || sig.KeyID != s.KeyID() {
		t.Errorf("verify: %+v %v", sig, err)
	}
	_, err = sign.VerifyKeys(a, []ed25519.PublicKey{other.Public(), newSigner(t, 3).Public()})
	if !errors.Is(err, sign.ErrWrongKey) || !strings.Contains(err.Error(), "none of the 2 given keys ("+other.KeyID()) {
		t.Errorf("unknown key: %v", err)
	}
	for _, name := range []string{"../x", "/abs", "manifest.json", "signature.json", "compliance.json", "", "a//b"} {
		if _, err := s.SignArchive(append(archiveFiles(), sign.File{Name: name}), archiveMeta); err == nil {
			t.Errorf("name %q: no error", name)
		}
	}
	var nilSigner *sign.Signer
	unsigned, err := nilSigner.SignArchive(archiveFiles(), archiveMeta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.VerifyArchive(unsigned, []ed25519.PublicKey{s.Public()}); !errors.Is(err, sign.ErrUnsigned) || !strings.Contains(err.Error(), "signature.json is null") {
		t.Errorf("unsigned: %v", err)
	}
	flipped := flipInEntry(t, s)
	if _, err := sign.VerifyArchive(flipped, []ed25519.PublicKey{s.Public()}); !errors.Is(err, sign.ErrTampered) || !strings.Contains(err.Error(), "m.json: cannot be read (the archive was altered or damaged)") {
		t.Errorf("flipped byte: %v", err)
	}
	if _, err := sign.VerifyArchive(a[:len(a)/2], []ed25519.PublicKey{s.Public()}); !errors.Is(err, sign.ErrTampered) || !strings.Contains(err.Error(), "not a readable zip") {
		t.Errorf("cut archive: %v", err)
	}
}

// flipInEntry signs an archive whose measurement is long and repetitive text, and changes
// one byte of its compressed data: the zip's CRC-32 no longer matches.
func flipInEntry(t *testing.T, s *sign.Signer) []byte {
	t.Helper()
	a, err := s.SignArchive([]sign.File{{Name: "m.json", Data: bytes.Repeat([]byte("t.me "), 2000)}}, archiveMeta)
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(a)
	data := 30 + int(b[26]) + int(b[27])<<8 + int(b[28]) + int(b[29])<<8 // after the local header, its name and extra field
	b[data+2] ^= 0x01
	return b
}
