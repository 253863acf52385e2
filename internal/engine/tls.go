package engine

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// handshake connects to ip:port and runs a TLS handshake with sni, within the TLS
// timeout. The chain is verified after the handshake, against the configured roots and
// sni, so the certificates are recorded even when they are not valid.
func (e *Engine) handshake(ctx context.Context, ip string, port int, sni string, swap bool) measurement.TLSHandshake {
	rec, _ := e.handshakeKeep(ctx, nil, ip, port, sni, swap, false)
	return rec
}

// handshakeKeep is handshake on conn, the TCP step's connection to ip:port (nil: it
// connects itself); with keep, a connection that can carry the HTTP fetch's first
// request (valid chain for sni, HTTP/1.1 or no ALPN) is returned open instead of
// closed, so that the fetch needs no connect and no handshake of its own.
func (e *Engine) handshakeKeep(ctx context.Context, conn net.Conn, ip string, port int, sni string, swap, keep bool) (rec measurement.TLSHandshake, kept *tls.Conn) {
	hctx, cancel := context.WithTimeout(ctx, e.cfg.Timeouts.TLS)
	defer cancel()
	// rec is a named result so that the deferred timing below lands in what is returned.
	rec = measurement.TLSHandshake{IP: ip, Port: port, SNI: sni, SNISwap: swap}
	start := time.Now()
	defer func() { rec.TimeMS = measurement.Ms(time.Since(start)) }()
	if conn == nil {
		var tcp measurement.TCPConnect
		if tcp, conn = e.connect(hctx, ip, port, ""); conn == nil {
			rec.Failure = tcp.Failure
			return rec, nil
		}
	}
	defer func() {
		if kept == nil {
			_ = conn.Close()
		}
	}()
	if dl, ok := hctx.Deadline(); ok {
		_ = conn.SetDeadline(dl) // backstop for the handshake's own context handling
	}
	tc := tls.Client(conn, clientTLS(sni, "h2", "http/1.1"))
	if err := tc.HandshakeContext(hctx); err != nil {
		rec.Failure = measurement.Failure(failure.Classify(err))
		return rec, nil
	}
	cs := tc.ConnectionState()
	rec.Version = tlsVersion(cs.Version)
	rec.CipherSuite = tls.CipherSuiteName(cs.CipherSuite)
	rec.ALPN = cs.NegotiatedProtocol
	rec.Certificates = certificates(cs.PeerCertificates)
	err := e.verify(cs.PeerCertificates, sni)
	rec.CertValid = err == nil
	rec.Failure = measurement.Failure(failure.Classify(err))
	if keep && err == nil && !swap && (rec.ALPN == "" || rec.ALPN == "http/1.1") {
		_ = conn.SetDeadline(time.Time{}) // the fetch sets its own
		kept = tc
	}
	return rec, kept
}

// clientTLS is the client configuration of every handshake: verification is done by
// verify once the handshake completed.
func clientTLS(sni string, alpn ...string) *tls.Config {
	return &tls.Config{
		ServerName:         sni,
		NextProtos:         alpn,
		InsecureSkipVerify: true, //nolint:gosec // verified by verify, after recording the chain
	}
}

// verify checks that certs (leaf first, as sent) chain to the configured roots and that
// the leaf covers name. A chain that verified is remembered (verifyCache) and then only
// the name is checked: a target's TLS and HTTP steps see the same chain, and so do the
// names a shared certificate (wildcard, CDN) covers. Whether a chain verifies does not
// depend on the name asked for (name constraints apply to the leaf's own names).
func (e *Engine) verify(certs []*x509.Certificate, name string) error {
	if len(certs) == 0 {
		return failure.New(failure.SSLInvalidCert, errors.New("no peer certificate"))
	}
	key, now := chainKey(certs), time.Now()
	if e.verified.ok(key, now) {
		return certs[0].VerifyHostname(name)
	}
	opts := x509.VerifyOptions{Roots: e.cfg.RootCAs, DNSName: name, Intermediates: x509.NewCertPool(), CurrentTime: now}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	chains, err := certs[0].Verify(opts)
	if err == nil {
		e.verified.add(key, now, chains[0])
	}
	return err
}

// verifyCache remembers chains that verified for verifyTTL, and
// never past a certificate of the chain expiring: verifying a chain (building it,
// checking its signatures) costs more than the rest of a handshake's client side.
// Failures are not remembered. At most verifyEntries are kept; when full, it starts over.
type verifyCache struct {
	mu    sync.Mutex
	until map[[sha256.Size]byte]time.Time
}

const (
	verifyTTL     = 5 * time.Minute
	verifyEntries = 1024
)

func (c *verifyCache) ok(key [sha256.Size]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, hit := c.until[key]
	return hit && now.Before(until)
}

func (c *verifyCache) add(key [sha256.Size]byte, now time.Time, chain []*x509.Certificate) {
	until := now.Add(verifyTTL)
	for _, cert := range chain {
		if cert.NotAfter.Before(until) {
			until = cert.NotAfter
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.until == nil || len(c.until) >= verifyEntries {
		c.until = make(map[[sha256.Size]byte]time.Time)
	}
	c.until[key] = until
}

// chainKey identifies a chain as sent.
func chainKey(certs []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, c := range certs {
		binary.BigEndian.PutUint64(n[:], uint64(len(c.Raw)))
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// tlsStep runs a handshake with the target's name on every address that connected and
// has none yet. When one fails before certificates are exchanged (reset, EOF, timeout,
// alert), it is repeated with the innocuous SNI: if that one completes, the blocking
// keys on the name rather than the address.
func (e *Engine) tlsStep(ctx context.Context, r *run) {
	if r.t.URL.Scheme != "https" {
		return
	}
	r.mu.Lock()
	var ips []string
	for _, c := range r.obs.TCP {
		if c.Failure == nil && c.Port == r.t.Port && !hasTLS(r.obs.TLS, c.IP, r.t.Port, r.t.Domain) && !slices.Contains(ips, c.IP) {
			ips = append(ips, c.IP)
		}
	}
	keep := r.spares != nil // the HTTP step is still to come
	r.mu.Unlock()
	recs := make([][]measurement.TLSHandshake, len(ips))
	bounded(len(ips), func(i int) {
		rec, kept := e.handshakeKeep(ctx, r.takeTCP(ips[i]), ips[i], r.t.Port, r.t.Domain, false, keep)
		if kept != nil {
			r.keep(ips[i], r.t.Port, r.t.Domain, kept)
		}
		recs[i] = append(recs[i], rec)
		if rec.Failure != nil && !failure.IsCertificate(*rec.Failure) && ctx.Err() == nil {
			recs[i] = append(recs[i], e.handshake(ctx, ips[i], r.t.Port, e.cfg.InnocuousSNI, true))
		}
	})
	r.dropTCP()
	r.mu.Lock()
	for _, rs := range recs {
		r.obs.TLS = append(r.obs.TLS, rs...)
	}
	r.mu.Unlock()
}

// hasTLS reports whether a handshake with ip:port for sni (or its innocuous repeat) is
// already recorded; a redirect hop's handshake for another name does not count.
func hasTLS(hs []measurement.TLSHandshake, ip string, port int, sni string) bool {
	for _, h := range hs {
		if h.IP == ip && h.Port == port && (h.SNISwap || strings.EqualFold(h.SNI, sni)) {
			return true
		}
	}
	return false
}

// tlsVersion names a TLS version as OONI does ("TLSv1.3").
func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1.0"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tls.VersionName(v)
}

// certificates summarises a peer chain.
func certificates(certs []*x509.Certificate) []measurement.Certificate {
	out := make([]measurement.Certificate, len(certs))
	for i, c := range certs {
		sum := sha256.Sum256(c.Raw)
		out[i] = measurement.Certificate{
			Subject:   c.Subject.String(),
			Issuer:    c.Issuer.String(),
			DNSNames:  c.DNSNames,
			NotBefore: c.NotBefore.UTC(),
			NotAfter:  c.NotAfter.UTC(),
			SHA256:    hex.EncodeToString(sum[:]),
		}
	}
	return out
}
