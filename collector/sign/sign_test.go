package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/sign"
)

// newSigner returns a Signer with a key from a fixed seed.
func newSigner(t *testing.T, seed byte) *sign.Signer {
	t.Helper()
	return sign.New(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)), "v1.2.3")
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// raw is a measurement as a probe submitted it: white space and escapes kept.
const raw = `{"id": "m1",  "schema_version":1, "target":"t.me", "note":"a \u003c b"}`

func bundleJSON() []byte {
	return []byte(fmt.Sprintf(`{"domain":"t.me","network":"Telkomsel","state":"blocked","measurements":[{"id":"m1","sha256":"%s","raw":%s}],"sha256":"%s"}`,
		hash(raw), raw, hash(hash(raw))))
}

func bundleCSV() []byte {
	q := strings.ReplaceAll(raw, `"`, `""`)
	return []byte("domain,network,state,id,sha256,raw\nt.me,Telkomsel,blocked,m1," + hash(raw) + `,"` + q + "\"\n")
}

var meta = sign.Meta{Kind: "evidence", Domain: "t.me", Network: "Telkomsel",
	At: time.Date(2017, 7, 16, 12, 0, 0, 0, time.UTC), GeneratedAt: time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC)}

func TestVerify(t *testing.T) {
	s, other := newSigner(t, 1), newSigner(t, 2)
	signed := func(format sign.Format, content []byte) []byte {
		b, err := s.Sign(content, format, meta)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	unsigned, err := (*sign.Signer)(nil).Sign(bundleJSON(), sign.JSON, meta)
	if err != nil {
		t.Fatal(err)
	}
	sj, sc := signed(sign.JSON, bundleJSON()), signed(sign.CSV, bundleCSV())
	replace := func(b []byte, old, new string) []byte {
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%q not in %s", old, b)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
	for _, c := range []struct {
		name string
		file []byte
		pub  ed25519.PublicKey
		err  error
		msg  string // in the error
	}{
		{"json valid", sj, s.Public(), nil, ""},
		{"json valid with final line feed", append(bytes.Clone(sj), '\n'), s.Public(), nil, ""},
		{"csv valid", sc, s.Public(), nil, ""},
		{"json raw byte changed", replace(sj, `"t.me", "note"`, `"t.me", "nota"`), s.Public(), sign.ErrTampered, "measurement 1 (id m1): its raw JSON does not match its sha256"},
		{"json white space in raw changed", replace(sj, `"m1",  "schema`, `"m1", "schema`), s.Public(), sign.ErrTampered, "measurement 1 (id m1)"},
		{"json state changed", replace(sj, `"blocked"`, `"accessible"`), s.Public(), sign.ErrTampered, "changed outside the measurements' raw JSON"},
		{"csv raw byte changed", replace(sc, `""t.me""`, `""t.mx""`), s.Public(), sign.ErrTampered, "measurement 1 (id m1)"},
		{"csv state changed", replace(sc, `,blocked,`, `,accessible,`), s.Public(), sign.ErrTampered, "changed outside"},
		{"signature field changed", replace(sj, `"network":"Telkomsel","at"`, `"network":"XL Axiata","at"`), s.Public(), sign.ErrBadSignature, "does not match its fields"},
		{"version changed", replace(sj, `"collector_version":"v1.2.3"`, `"collector_version":"v9"`), s.Public(), sign.ErrBadSignature, ""},
		{"wrong key", sj, other.Public(), sign.ErrWrongKey, "signed with key " + s.KeyID() + ", the given key is " + other.KeyID()},
		{"key id forged", replace(sj, s.KeyID(), other.KeyID()), other.Public(), sign.ErrBadSignature, ""},
		{"unsigned json", unsigned, s.Public(), sign.ErrUnsigned, "signature is null"},
		{"json without signature", bundleJSON(), s.Public(), sign.ErrUnsigned, "no signature member"},
		{"csv without signature", bundleCSV(), s.Public(), sign.ErrUnsigned, "no #pantau-signature row"},
		{"signature not an object", replace(sj, `"signature":{`, `"signature":[{`), s.Public(), sign.ErrMalformed, ""},
		{"unknown signature field", replace(sj, `"signature":{`, `"signature":{"extra":1,`), s.Public(), sign.ErrMalformed, "extra"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sig, err := sign.Verify(c.file, c.pub)
			if !errors.Is(err, c.err) || (c.err != nil && !strings.Contains(err.Error(), c.msg)) {
				t.Fatalf("Verify: %v, want %v containing %q", err, c.err, c.msg)
			}
			if c.err == nil && (sig.KeyID != s.KeyID() || sig.CollectorVersion != "v1.2.3" || sig.Domain != "t.me" || sig.At != "2017-07-16T12:00:00Z") {
				t.Fatalf("signature %+v", sig)
			}
		})
	}
}

// TestSignKeepsContent: the content before the signature is the unsigned content byte
// for byte, and a signed CSV's rows all have the header's number of cells.
func TestSignKeepsContent(t *testing.T) {
	s := newSigner(t, 1)
	sj, err := s.Sign(bundleJSON(), sign.JSON, meta)
	if err != nil {
		t.Fatal(err)
	}
	c := bundleJSON()
	if !bytes.HasPrefix(sj, c[:len(c)-1]) || !bytes.HasSuffix(sj, []byte("}}")) || !bytes.Contains(sj, []byte(`,"signature":{"version":1,"algorithm":"ed25519"`)) {
		t.Fatalf("signed JSON: %s", sj)
	}
	sc, err := s.Sign(bundleCSV(), sign.CSV, meta)
	if err != nil {
		t.Fatal(err)
	}
	last := string(sc[len(bundleCSV()):])
	if !bytes.HasPrefix(sc, bundleCSV()) || !strings.HasPrefix(last, `#pantau-signature,"{""version"":1`) || !strings.HasSuffix(last, ",,,,\n") {
		t.Fatalf("signed CSV row: %s", last)
	}
	for _, bad := range [][]byte{[]byte("{}"), []byte("[1]"), append(bundleJSON(), '\n')} {
		if _, err := s.Sign(bad, sign.JSON, meta); err == nil {
			t.Errorf("signed %q", bad)
		}
	}
	if _, err := s.Sign([]byte("a,b"), sign.CSV, meta); err == nil {
		t.Error("signed a CSV without a final line feed")
	}
	m := meta
	m.Network = "bad\nname"
	if _, err := s.Sign(bundleJSON(), sign.JSON, m); err == nil || !strings.Contains(err.Error(), "network holds a control character") {
		t.Errorf("control character: %v", err)
	}
}

// TestSignCompliance: a compliance report (no measurements) signs and verifies; a
// change is tampering.
func TestSignCompliance(t *testing.T) {
	s := newSigner(t, 3)
	rep := []byte(`{"order":{"id":"kominfo-2017-telegram-block"},"at":"2017-07-20T00:00:00Z","status":"non-compliant","networks":[]}`)
	b, err := s.Sign(rep, sign.JSON, sign.Meta{Kind: "compliance", Order: "kominfo-2017-telegram-block", GeneratedAt: meta.GeneratedAt})
	if err != nil {
		t.Fatal(err)
	}
	if sig, err := sign.Verify(b, s.Public()); err != nil || sig.Order != "kominfo-2017-telegram-block" || sig.Kind != "compliance" {
		t.Fatalf("Verify: %+v %v", sig, err)
	}
	b = bytes.Replace(b, []byte(`"non-compliant"`), []byte(`"compliant"`), 1)
	if _, err := sign.Verify(b, s.Public()); !errors.Is(err, sign.ErrTampered) || !strings.Contains(err.Error(), "tampered content: changed") {
		t.Fatalf("tampered report: %v", err)
	}
}

func keyPath(t *testing.T) string { return filepath.Join(t.TempDir(), "signing.key") }
