//go:build pantau_small

package cli

import (
	"crypto/tls"
	"net/http"
)

// acmeTLS: the small build (routers, `make dist`'s mips and mipsle) leaves the ACME
// client out; a control helper belongs on a server, which runs a full build.
func acmeTLS([]string, string, string) (*tls.Config, http.Handler, error) {
	return nil, nil, usageError("--acme-domain: this build (pantau_small, for routers) has no ACME client: use --tls-cert and --tls-key, or a full build")
}
