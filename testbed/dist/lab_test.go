//go:build dist

package dist

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pantau-dev/pantau/internal/testdns"
)

const pageTitle = "Pantau release check"

// lab is what the releases measure, all on 127.0.0.1: a DNS server that answers every
// A question with 127.0.0.1, an HTTP server with a known page, and an HTTPS server with
// a throwaway certificate.
type lab struct {
	dnsAddr           string
	httpPort, tlsPort int
	pageSHA256        string
	certSHA256        string
}

func startLab(t *testing.T) *lab {
	t.Helper()
	page := []byte("<html><head><title>" + pageTitle + "</title></head><body>dist</body></html>")
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(page)
	})
	web := httptest.NewServer(handler)
	t.Cleanup(web.Close)
	tlsSrv := httptest.NewUnstartedServer(handler)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the probe ends on purpose (bad certificate)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	return &lab{
		dnsAddr:    serveDNS(t),
		httpPort:   web.Listener.Addr().(*net.TCPAddr).Port,
		tlsPort:    tlsSrv.Listener.Addr().(*net.TCPAddr).Port,
		pageSHA256: hexSHA256(page),
		certSHA256: hexSHA256(tlsSrv.Certificate().Raw),
	}
}

// serveDNS answers A questions for any name with 127.0.0.1, AAAA with no answer.
func serveDNS(t *testing.T) string {
	t.Helper()
	return testdns.Start(t, testdns.Zone{Default: []string{"127.0.0.1"}})
}
