// Package testpki makes throw-away certificate authorities and the server certificates
// they sign, so that tests can run real TLS servers on loopback that a client trusts (or,
// with a second CA, does not). Keys are ECDSA P-256; nothing is written to disk. Only tests
// (_test.go files) and benchmark programs (testbed/bench) import it, never the shipped
// programs; it is an ordinary package so that they all share one CA instead of each keeping
// a copy.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"
)

// CA is a self-signed certificate authority made for one test: its certificate, its key,
// and a pool holding only the certificate, for a client's RootCAs.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	Pool *x509.CertPool
}

// NewCA makes a CA named cn (serial 1, key usage cert sign), valid from an hour ago for a
// day; it stops the test if that fails.
func NewCA(t testing.TB, cn string) *CA {
	t.Helper()
	ca, err := MakeCA(cn)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// MakeCA is NewCA for programs without a testing.TB (benchmark tools): it returns the error.
func MakeCA(cn string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testpki: CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("testpki: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testpki: CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, Key: key, Pool: pool}, nil
}

// Leaf issues a server certificate (server auth, a fresh key, a time-based serial) valid
// from notBefore to notAfter for names: IP literals go to its IP addresses, the others to
// its DNS names, and the first name is its common name. The chain holds the leaf only. It
// stops the test if that fails.
func (ca *CA) Leaf(t testing.TB, notBefore, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	cert, err := ca.Issue(notBefore, notAfter, names...)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// Issue is Leaf for programs without a testing.TB (benchmark tools): it returns the error.
func (ca *CA) Issue(notBefore, notAfter time.Time, names ...string) (tls.Certificate, error) {
	if len(names) == 0 {
		return tls.Certificate{}, errors.New("testpki: a leaf needs at least one name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("testpki: leaf key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("testpki: leaf certificate for %s: %w", names[0], err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// Valid issues a certificate for names that is valid now: from an hour ago for an hour.
func (ca *CA) Valid(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	return ca.Leaf(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), names...)
}
