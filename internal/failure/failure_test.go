package failure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{context.DeadlineExceeded, GenericTimeout},
		{fmt.Errorf("wrapped: %w", os.ErrDeadlineExceeded), GenericTimeout},
		{context.Canceled, Interrupted},
		{opErr(syscall.ECONNREFUSED), ConnectionRefused},
		{opErr(syscall.ECONNRESET), ConnectionReset},
		{opErr(syscall.EHOSTUNREACH), HostUnreachable},
		{opErr(syscall.ENETUNREACH), NetworkUnreachable},
		{opErr(syscall.ETIMEDOUT), GenericTimeout},
		{io.EOF, EOF},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), EOF},
		{x509.HostnameError{Certificate: &x509.Certificate{}, Host: "t.me"}, SSLInvalidHostname},
		{x509.UnknownAuthorityError{}, SSLUnknownAuth},
		{x509.CertificateInvalidError{Reason: x509.Expired}, SSLInvalidCert},
		{tls.AlertError(40), SSLFailedHandshake},
		{errors.New("tls: first record does not look like a TLS handshake"), SSLFailedHandshake},
		{New(DNSBogon, nil), DNSBogon},
		{fmt.Errorf("x: %w", New(DNSNXDomain, errors.New("nope"))), DNSNXDomain},
		{errors.New("something odd"), "unknown_failure: something odd"},
	}
	for _, tc := range tests {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestRcode(t *testing.T) {
	for rc, want := range map[string]string{"NOERROR": "", "NXDOMAIN": DNSNXDomain, "SERVFAIL": DNSServfail, "REFUSED": DNSRefused, "FORMERR": DNSFormat, "NOTIMP": DNSOtherRcode} {
		if got := Rcode(rc); got != want {
			t.Errorf("Rcode(%s) = %q, want %q", rc, got, want)
		}
	}
	if !IsCertificate(SSLUnknownAuth) || IsCertificate(SSLFailedHandshake) || !IsDNS(DNSBogon) || !IsTLS(SSLInvalidCert) {
		t.Error("predicates")
	}
}
