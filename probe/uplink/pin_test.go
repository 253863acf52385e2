package uplink

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/testpki"
)

// TestPinnedCA: with collector_ca set, only a collector whose certificate chains to that
// CA is trusted.
func TestPinnedCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"items":[{"index":0,"status":"accepted"}]}`)
	}))
	defer srv.Close()
	pinned := x509.NewCertPool()
	pinned.AddCert(srv.Certificate())
	// Another CA: httptest servers all share one certificate, so make a fresh one.
	wrong := testpki.NewCA(t, "other CA").Pool

	for _, tc := range []struct {
		name  string
		roots *x509.CertPool
		ok    bool
	}{{"pinned CA", pinned, true}, {"another CA", wrong, false}, {"system roots", nil, false}} {
		c, err := New(Options{Collector: srv.URL, Token: "tok", RootCAs: tc.roots, Retries: 1, MinWait: time.Millisecond, MaxWait: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Submit(context.Background(), batch(1))
		if tc.ok && (err != nil || len(res.Accepted) != 1) {
			t.Errorf("%s: %v %+v", tc.name, err, res)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "certificate")) {
			t.Errorf("%s: err = %v, want a certificate error", tc.name, err)
		}
	}
}
