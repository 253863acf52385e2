package testpki_test

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/testpki"
)

// TestLeafVerifies checks that a leaf verifies against its CA's pool for the names it was
// issued for (DNS names and IP literals alike), not for other names, not against another
// CA's pool, and not outside its validity.
func TestLeafVerifies(t *testing.T) {
	ca, other := testpki.NewCA(t, "Test CA"), testpki.NewCA(t, "Other CA")
	now := time.Now()
	leaf, err := x509.ParseCertificate(ca.Valid(t, "a.example", "127.0.0.1", "::1").Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	expired, err := x509.ParseCertificate(ca.Leaf(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour), "a.example").Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Subject.CommonName != "a.example" {
		t.Errorf("common name %q, want the first name a.example", leaf.Subject.CommonName)
	}
	tests := []struct {
		name string
		cert *x509.Certificate
		pool *x509.CertPool
		host string
		ok   bool
	}{
		{"DNS name", leaf, ca.Pool, "a.example", true},
		{"IPv4 literal", leaf, ca.Pool, "127.0.0.1", true},
		{"IPv6 literal", leaf, ca.Pool, "::1", true},
		{"other name", leaf, ca.Pool, "b.example", false},
		{"other address", leaf, ca.Pool, "127.0.0.2", false},
		{"other CA", leaf, other.Pool, "a.example", false},
		{"expired", expired, ca.Pool, "a.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cert.Verify(x509.VerifyOptions{Roots: tt.pool, DNSName: tt.host,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			if (err == nil) != tt.ok {
				t.Errorf("Verify for %s: error %v, want ok=%v", tt.host, err, tt.ok)
			}
		})
	}
}

// TestIssueNeedsName checks that a leaf without names is an error, not a nameless
// certificate that no client could match.
func TestIssueNeedsName(t *testing.T) {
	ca, err := testpki.MakeCA("Test CA")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Issue(time.Now(), time.Now().Add(time.Hour)); err == nil {
		t.Error("Issue without names: no error")
	}
}
