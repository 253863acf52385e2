package cli

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/internal/target"
)

// helperTLS are the flags of `probe helper` that serve HTTPS itself (docs/control.md,
// "TLS"): a certificate pair from files, or certificates from an ACME CA (Let's Encrypt)
// for the names given. Without either the helper serves plain HTTP, for a reverse proxy
// in front of it.
type helperTLS struct {
	certFile, keyFile string
	domains           string
	cacheDir          string
	email             string
	httpAddr          string
	fs                *flag.FlagSet // tells which flags were given
}

func (t *helperTLS) register(fs *flag.FlagSet) {
	t.fs = fs
	fs.StringVar(&t.certFile, "tls-cert", "", "serve HTTPS with the PEM certificate chain in `FILE` (with --tls-key; re-read when the files change)")
	fs.StringVar(&t.keyFile, "tls-key", "", "PEM private key `FILE` of --tls-cert")
	fs.StringVar(&t.domains, "acme-domain", "", "serve HTTPS with certificates from Let's Encrypt (ACME) for these host `NAMES` (comma-separated); other names are refused")
	fs.StringVar(&t.cacheDir, "acme-cache", "", "`DIR` keeping the ACME account key and certificates (default STATE_DIR/acme, STATE_DIR being agent.state_dir or /var/lib/pantau)")
	fs.StringVar(&t.email, "acme-email", "", "contact `ADDRESS` given to the ACME CA (expiry warnings); optional")
	fs.StringVar(&t.httpAddr, "acme-http-addr", ":80", "`ADDR` answering ACME HTTP-01 challenges (and redirecting other requests to HTTPS); \"off\": TLS-ALPN-01 on --listen only, which must then be port 443")
}

// tlsSetup is how the helper serves TLS: the server's config and, for ACME's HTTP-01
// challenges, the handler to serve on httpAddr ("" for none).
type tlsSetup struct {
	config   *tls.Config
	httpAddr string
	// challenge answers ACME HTTP-01 challenges on httpAddr; nil without ACME.
	challenge http.Handler
}

// setup checks the flags and returns how to serve TLS; nil means plain HTTP. stateDir
// is the default parent of the ACME cache.
func (t *helperTLS) setup(stateDir string, log *slog.Logger) (*tlsSetup, error) {
	given := map[string]bool{}
	if t.fs != nil {
		t.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	}
	switch {
	case t.certFile != "" && t.keyFile == "":
		return nil, usageError("--tls-cert: give --tls-key too")
	case t.keyFile != "" && t.certFile == "":
		return nil, usageError("--tls-key: give --tls-cert too")
	case t.certFile != "" && t.domains != "":
		return nil, usageError("--acme-domain: not with --tls-cert (certificates come from one or the other)")
	}
	if t.domains == "" {
		for _, name := range []string{"acme-cache", "acme-email", "acme-http-addr"} {
			if given[name] {
				return nil, usageError("--%s: only with --acme-domain", name)
			}
		}
	}
	if t.certFile != "" {
		r, err := newCertReloader(t.certFile, t.keyFile, log)
		if err != nil {
			return nil, err
		}
		return &tlsSetup{config: &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.getCertificate}}, nil
	}
	if t.domains == "" {
		return nil, nil
	}
	return t.acme(stateDir)
}

// acme checks the ACME flags and returns the autocert setup.
func (t *helperTLS) acme(stateDir string) (*tlsSetup, error) {
	domains, err := parseACMEDomains(t.domains)
	if err != nil {
		return nil, err
	}
	if t.email != "" && (!strings.Contains(t.email, "@") || strings.ContainsAny(t.email, " \t<>")) {
		return nil, usageError("--acme-email %q: want an e-mail address", t.email)
	}
	httpAddr := t.httpAddr
	if httpAddr == "off" {
		httpAddr = ""
	} else if _, _, err := net.SplitHostPort(httpAddr); err != nil {
		return nil, usageError("--acme-http-addr %q: want HOST:PORT, :PORT or off", t.httpAddr)
	}
	dir := t.cacheDir
	if dir == "" {
		dir = filepath.Join(stateDir, "acme")
	}
	// The cache holds the account key: private, and created now so that a directory the
	// helper cannot write fails at start rather than at the first handshake.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, usageError("--acme-cache: %v", err)
	}
	config, challenge, err := acmeTLS(domains, dir, t.email)
	if err != nil {
		return nil, err
	}
	return &tlsSetup{config: config, httpAddr: httpAddr, challenge: challenge}, nil
}

// parseACMEDomains parses the comma-separated host names of --acme-domain into their
// A-label form. IP addresses and wildcards are refused: an ACME CA issues neither over
// HTTP-01 or TLS-ALPN-01.
func parseACMEDomains(s string) ([]string, error) {
	var out []string
	for _, d := range strings.Split(s, ",") {
		d = strings.TrimSpace(d)
		if d == "" {
			return nil, usageError("--acme-domain %q: empty name", s)
		}
		if strings.Contains(d, "*") {
			return nil, usageError("--acme-domain %q: wildcards need DNS-01, which the helper does not do; list each name", d)
		}
		h, err := target.Host(d)
		if err != nil {
			return nil, usageError("--acme-domain %q: %v", d, err)
		}
		if _, err := netip.ParseAddr(h); err == nil || !strings.Contains(h, ".") {
			return nil, usageError("--acme-domain %q: want a public host name", d)
		}
		out = append(out, h)
	}
	return out, nil
}

// certReloader serves a certificate pair read from files, re-read when either file's
// content changes (a renewal by certbot or similar needs no restart). A pair that no
// longer loads is logged and the last good one kept.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	pem     string    // the files' content, as loaded
	checked time.Time // when the files were last read
}

// newCertReloader loads the pair; an error names the flag of the file at fault.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	certPEM, keyPEM, err := r.read()
	if err != nil {
		return nil, usageError("%v", err)
	}
	if r.cert, err = r.parse(certPEM, keyPEM); err != nil {
		return nil, usageError("%v", err)
	}
	r.pem, r.checked = string(certPEM)+string(keyPEM), time.Now()
	return r, nil
}

// read reads both files.
func (r *certReloader) read() (certPEM, keyPEM []byte, err error) {
	if certPEM, err = os.ReadFile(r.certFile); err != nil {
		return nil, nil, fmt.Errorf("--tls-cert: %w", err)
	}
	if keyPEM, err = os.ReadFile(r.keyFile); err != nil {
		return nil, nil, fmt.Errorf("--tls-key: %w", err)
	}
	return certPEM, keyPEM, nil
}

// parse returns the pair of the files' content.
func (r *certReloader) parse(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("--tls-key %s with --tls-cert %s: %w", r.keyFile, r.certFile, err)
	}
	return &cert, nil
}

// getCertificate is tls.Config.GetCertificate: the cached pair, after re-reading the
// files (once a second at most; they are small) and parsing them again if they changed.
func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) < time.Second {
		return r.cert, nil
	}
	r.checked = time.Now()
	certPEM, keyPEM, err := r.read()
	if err == nil && string(certPEM)+string(keyPEM) == r.pem {
		return r.cert, nil
	}
	var cert *tls.Certificate
	if err == nil {
		cert, err = r.parse(certPEM, keyPEM)
	}
	if err != nil {
		r.log.Error("TLS certificate not reloaded; serving the previous one", "err", err)
		return r.cert, nil
	}
	r.cert, r.pem = cert, string(certPEM)+string(keyPEM)
	r.log.Info("TLS certificate reloaded", "cert", r.certFile)
	return r.cert, nil
}
