// Package failure maps Go errors and DNS outcomes to OONI's stable failure strings
// (https://github.com/ooni/spec/blob/master/data-formats/df-007-errors.md), so that
// measurements from any probe, OS or Go version compare equal.
package failure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// The failure strings Pantau records. Every error maps to one of them.
const (
	DNSNXDomain        = "dns_nxdomain_error"
	DNSServfail        = "dns_servfail_error"
	DNSRefused         = "dns_refused_error"
	DNSNoAnswer        = "dns_no_answer"
	DNSBogon           = "dns_bogon_error"
	DNSFormat          = "dns_format_error"
	DNSOtherRcode      = "dns_other_rcode_error"
	DNSReplyMismatch   = "dns_reply_with_wrong_query"
	ConnectionRefused  = "connection_refused"
	ConnectionReset    = "connection_reset"
	ConnectionAborted  = "connection_aborted"
	HostUnreachable    = "host_unreachable"
	NetworkUnreachable = "network_unreachable"
	GenericTimeout     = "generic_timeout_error"
	EOF                = "eof_error"
	SSLInvalidHostname = "ssl_invalid_hostname"
	SSLUnknownAuth     = "ssl_unknown_authority"
	SSLInvalidCert     = "ssl_invalid_certificate"
	SSLFailedHandshake = "ssl_failed_handshake"
	HTTPTooManyRedir   = "http_too_many_redirects"
	HTTPInvalidReply   = "http_invalid_reply"
	RefusedPrivate     = "refused_private_address"
	Interrupted        = "interrupted"
	Unknown            = "unknown_failure"
)

// Classify maps err to a failure string, or returns "" for a nil error. Unknown errors
// map to "unknown_failure: <message>", as OONI does, so nothing is lost.
func Classify(err error) string {
	if err == nil {
		return ""
	}
	var known *Error
	if errors.As(err, &known) {
		return known.Failure
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return GenericTimeout
	case errors.Is(err, context.Canceled):
		return Interrupted
	case errors.Is(err, syscall.ECONNREFUSED):
		return ConnectionRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ConnectionReset
	case errors.Is(err, syscall.ECONNABORTED):
		return ConnectionAborted
	case errors.Is(err, syscall.EHOSTUNREACH):
		return HostUnreachable
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EAFNOSUPPORT):
		return NetworkUnreachable
	case errors.Is(err, syscall.ETIMEDOUT):
		return GenericTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return EOF
	}
	var hostErr x509.HostnameError
	if errors.As(err, &hostErr) {
		return SSLInvalidHostname
	}
	var authErr x509.UnknownAuthorityError
	if errors.As(err, &authErr) {
		return SSLUnknownAuth
	}
	var invErr x509.CertificateInvalidError
	if errors.As(err, &invErr) {
		return SSLInvalidCert
	}
	var verErr *tls.CertificateVerificationError
	if errors.As(err, &verErr) {
		return SSLInvalidCert
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return SSLFailedHandshake
	}
	var recHdr tls.RecordHeaderError
	if errors.As(err, &recHdr) {
		return SSLFailedHandshake
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return GenericTimeout
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "stopped after 10 redirects"):
		return HTTPTooManyRedir
	case strings.Contains(msg, "tls: "):
		return SSLFailedHandshake
	case strings.Contains(msg, "malformed HTTP"):
		return HTTPInvalidReply
	}
	return Unknown + ": " + msg
}

// Error is an error that already carries its failure string.
type Error struct {
	Failure string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Failure + ": " + e.Err.Error()
	}
	return e.Failure
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error that Classify maps to failure.
func New(failure string, err error) error { return &Error{Failure: failure, Err: err} }

// Rcode maps a DNS rcode name (as miekg/dns prints it) to a failure string, or "" for
// NOERROR.
func Rcode(rcode string) string {
	switch rcode {
	case "NOERROR", "":
		return ""
	case "NXDOMAIN":
		return DNSNXDomain
	case "SERVFAIL":
		return DNSServfail
	case "REFUSED":
		return DNSRefused
	case "FORMERR":
		return DNSFormat
	}
	return DNSOtherRcode
}

// IsDNS reports whether f is a DNS failure.
func IsDNS(f string) bool { return strings.HasPrefix(f, "dns_") }

// IsTLS reports whether f is a TLS failure.
func IsTLS(f string) bool { return strings.HasPrefix(f, "ssl_") }

// IsCertificate reports whether f is a certificate-verification failure: the handshake
// completed, but the peer's certificate is not valid for the name.
func IsCertificate(f string) bool {
	return f == SSLInvalidHostname || f == SSLUnknownAuth || f == SSLInvalidCert
}
