//go:build !pantau_small

package cli

import (
	"crypto/tls"
	"net/http"

	"golang.org/x/crypto/acme/autocert"
)

// acmeTLS returns the TLS config that obtains and renews certificates for domains from
// an ACME CA (Let's Encrypt), keeping them in dir, and the handler that answers the CA's
// HTTP-01 challenges (and redirects other plain-HTTP requests to HTTPS).
func acmeTLS(domains []string, dir, email string) (*tls.Config, http.Handler, error) {
	m := acmeManager(domains, dir, email)
	return m.TLSConfig(), m.HTTPHandler(nil), nil
}

// acmeManager returns the autocert manager that obtains and renews certificates for
// domains only (any other name in a ClientHello is refused before the CA is asked),
// keeping them in dir.
func acmeManager(domains []string, dir, email string) *autocert.Manager {
	return &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(dir),
		HostPolicy: autocert.HostWhitelist(domains...),
		Email:      email,
	}
}
