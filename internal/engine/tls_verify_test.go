package engine

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/testpki"
)

// TestVerifyCache: a chain that verified is remembered, never past its expiry, and then
// holds for every name its leaf covers and for no other; a failure is not remembered.
func TestVerifyCache(t *testing.T) {
	ca, other := testpki.NewCA(t, "Test CA"), testpki.NewCA(t, "Other CA")
	parse := func(der []byte) []*x509.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return []*x509.Certificate{c}
	}
	good := parse(ca.Valid(t, "a.example", "b.example").Certificate[0])
	soon := parse(ca.Leaf(t, time.Now().Add(-time.Hour), time.Now().Add(time.Minute), "c.example").Certificate[0])
	foreign := parse(other.Valid(t, "a.example").Certificate[0])
	e := New(Config{RootCAs: ca.Pool}, nil)
	for _, tc := range []struct {
		certs  []*x509.Certificate
		name   string
		ok     bool
		cached int // entries afterwards
	}{
		{good, "a.example", true, 1},
		{good, "a.example", true, 1},  // from the cache
		{good, "b.example", true, 1},  // another name the leaf covers: the same entry
		{good, "x.example", false, 1}, // a name it does not cover: a hostname error
		{foreign, "a.example", false, 1},
		{foreign, "a.example", false, 1}, // failures are not remembered
		{soon, "c.example", true, 2},
	} {
		err := e.verify(tc.certs, tc.name)
		var hostErr x509.HostnameError
		if tc.name == "x.example" && !errors.As(err, &hostErr) {
			t.Errorf("x.example: %v, want a hostname error", err)
		}
		if (err == nil) != tc.ok || len(e.verified.until) != tc.cached {
			t.Errorf("%s for %s: %v with %d cached; want ok %v with %d", tc.certs[0].Subject, tc.name, err, len(e.verified.until), tc.ok, tc.cached)
		}
	}
	now := time.Now()
	if !e.verified.ok(chainKey(good), now.Add(verifyTTL-time.Second)) || e.verified.ok(chainKey(good), now.Add(verifyTTL+time.Second)) {
		t.Error("a verified chain is not remembered for verifyTTL, or longer")
	}
	if e.verified.ok(chainKey(soon), soon[0].NotAfter.Add(time.Second)) {
		t.Error("a chain is remembered past its expiry")
	}
	for i := range verifyEntries + 1 {
		e.verified.add(sha256.Sum256([]byte(itoa(i))), now, good)
	}
	if n := len(e.verified.until); n > verifyEntries {
		t.Errorf("%d entries, want at most %d", n, verifyEntries)
	}
}
