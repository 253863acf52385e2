package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/testpki"
)

// writeCert writes a certificate for 127.0.0.1, signed by a fresh CA named cn, and its key
// into dir (files named after cn), returning the files, the certificate and a pool holding
// the CA.
func writeCert(t *testing.T, dir, cn string) (certFile, keyFile string, cert *x509.Certificate, roots *x509.CertPool) {
	t.Helper()
	ca := testpki.NewCA(t, cn)
	leaf := ca.Valid(t, "127.0.0.1")
	cert, err := x509.ParseCertificate(leaf.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(leaf.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert, ca.Pool
}

var helperTLSAddrRE = regexp.MustCompile(`listening on https://([0-9.:]+)/api/v1/control`)

// TestHelperTLS: with --tls-cert and --tls-key the helper serves the control API over
// HTTPS, and a client that trusts that certificate gets an answer.
func TestHelperTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _, roots := writeCert(t, dir, "helper")
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"helper", "--listen", "127.0.0.1:0", "--system-resolver", "127.0.0.1:9", "--whoami", "-",
			"--lab-cidr", "127.0.0.0/8", "--tls-cert", certFile, "--tls-key", keyFile}, io.Discard, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := helperTLSAddrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("the helper did not listen over HTTPS:\n%s", stderr)
		}
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	// A closed loopback port: the answer is an observation of a refused connect.
	resp, err := client.Post("https://"+addr+"/api/v1/control", "application/json", strings.NewReader(`{"target":"tcp://127.0.0.1:9"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		MeasuredAt time.Time         `json:"measured_at"`
		TCP        []json.RawMessage `json:"tcp"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != http.StatusOK || ans.MeasuredAt.IsZero() || len(ans.TCP) == 0 {
		t.Errorf("control over HTTPS: HTTP %d, %+v, %v", resp.StatusCode, ans, err)
	}
	// Plain HTTP on the TLS port is not a control answer.
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP on the HTTPS listener answered 200")
		}
	}
}

// TestHelperTLSFlags: bad TLS and ACME flags are usage errors naming the flag, given
// before the helper listens.
func TestHelperTLSFlags(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _, _ := writeCert(t, dir, "one")
	_, otherKey, _, _ := writeCert(t, dir, "two")
	missing := filepath.Join(dir, "missing.key")
	base := []string{"helper", "--listen", "127.0.0.1:0", "--system-resolver", "127.0.0.1:9"}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", certFile}, "--tls-cert: give --tls-key too"},
		{[]string{"--tls-key", keyFile}, "--tls-key: give --tls-cert too"},
		{[]string{"--tls-cert", certFile, "--tls-key", missing}, "--tls-key: open " + missing + ": no such file or directory"},
		{[]string{"--tls-cert", missing, "--tls-key", keyFile}, "--tls-cert: open " + missing + ": no such file or directory"},
		{[]string{"--tls-cert", certFile, "--tls-key", otherKey},
			fmt.Sprintf("--tls-key %s with --tls-cert %s: tls: private key does not match public key", otherKey, certFile)},
		{[]string{"--tls-cert", keyFile, "--tls-key", keyFile},
			fmt.Sprintf("--tls-key %s with --tls-cert %s: tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched", keyFile, keyFile)},
		{[]string{"--tls-cert", certFile, "--tls-key", keyFile, "--acme-domain", "h.example.org"},
			"--acme-domain: not with --tls-cert (certificates come from one or the other)"},
		{[]string{"--acme-email", "ops@example.org"}, "--acme-email: only with --acme-domain"},
		{[]string{"--acme-http-addr", ":8080"}, "--acme-http-addr: only with --acme-domain"},
		{[]string{"--acme-cache", dir}, "--acme-cache: only with --acme-domain"},
		{[]string{"--acme-domain", "h.example.org,", "--acme-cache", dir}, `--acme-domain "h.example.org,": empty name`},
		{[]string{"--acme-domain", "*.example.org", "--acme-cache", dir},
			`--acme-domain "*.example.org": wildcards need DNS-01, which the helper does not do; list each name`},
		{[]string{"--acme-domain", "192.0.2.1", "--acme-cache", dir}, `--acme-domain "192.0.2.1": want a public host name`},
		{[]string{"--acme-domain", "localhost", "--acme-cache", dir}, `--acme-domain "localhost": want a public host name`},
		{[]string{"--acme-domain", "h.example.org", "--acme-cache", dir, "--acme-email", "ops"}, `--acme-email "ops": want an e-mail address`},
		{[]string{"--acme-domain", "h.example.org", "--acme-cache", dir, "--acme-http-addr", "80"}, `--acme-http-addr "80": want HOST:PORT, :PORT or off`},
		{[]string{"--acme-domain", "h.example.org", "--acme-cache", keyFile + "/acme"},
			"--acme-cache: mkdir " + keyFile + ": not a directory"},
	}
	for _, tc := range tests {
		code, _, stderr := runMain(append(base, tc.args...)...)
		if want := "probe helper: " + tc.want + "\n"; code != 2 || stderr != want {
			t.Errorf("%v: exit %d, stderr %q; want 2, %q", tc.args, code, stderr, want)
		}
	}
}

// TestACMEManager: the manager obtains certificates only for the names given; the
// HostPolicy refuses any other name before a CA would be asked. (No ACME CA is reachable
// here, so no certificate is obtained.)
func TestACMEManager(t *testing.T) {
	domains, err := parseACMEDomains("Helper.Example.org, ЯНДЕКС.РФ")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"helper.example.org", "xn--d1acpjx3f.xn--p1ai"}; strings.Join(domains, ",") != strings.Join(want, ",") {
		t.Fatalf("domains %q, want %q", domains, want)
	}
	dir := t.TempDir()
	m := acmeManager(domains, dir, "ops@example.org")
	if m.Email != "ops@example.org" || m.Prompt == nil {
		t.Errorf("manager: email %q, prompt set %t", m.Email, m.Prompt != nil)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		host string
		ok   bool
	}{{"helper.example.org", true}, {"xn--d1acpjx3f.xn--p1ai", true}, {"other.example.org", false}, {"example.org", false}, {"127.0.0.1", false}} {
		if err := m.HostPolicy(ctx, tc.host); (err == nil) != tc.ok {
			t.Errorf("HostPolicy(%q) = %v; want allowed %t", tc.host, err, tc.ok)
		}
	}
	// The TLS config answers TLS-ALPN-01 challenges on the HTTPS listener.
	if protos := strings.Join(m.TLSConfig().NextProtos, ","); !strings.Contains(protos, "acme-tls/1") {
		t.Errorf("NextProtos %q lack acme-tls/1", protos)
	}
	// setup creates the cache and defaults it under the state directory.
	state := filepath.Join(t.TempDir(), "state")
	tl := helperTLS{domains: "helper.example.org", httpAddr: "off"}
	ts, err := tl.setup(state, slog.New(slog.DiscardHandler))
	if err != nil || ts == nil || ts.httpAddr != "" {
		t.Fatalf("setup: %+v, %v", ts, err)
	}
	if fi, err := os.Stat(filepath.Join(state, "acme")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("ACME cache: %v, %v; want a 0700 directory", fi, err)
	}
}

// TestCertReload: a renewed pair is served without a restart; a broken one is logged
// and the previous pair kept.
func TestCertReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, first, _ := writeCert(t, dir, "a")
	r, err := newCertReloader(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	serial := func() string {
		c, err := r.getCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		r.checked = time.Time{} // look at the files again on the next handshake
		return c.Leaf.SerialNumber.String()
	}
	if got := serial(); got != first.SerialNumber.String() {
		t.Fatalf("serial %s, want %s", got, first.SerialNumber)
	}
	c2, k2, second, _ := writeCert(t, dir, "b")
	for _, p := range [][2]string{{c2, certFile}, {k2, keyFile}} {
		if err := os.Rename(p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	if got := serial(); got != second.SerialNumber.String() {
		t.Errorf("after renewal: serial %s, want %s", got, second.SerialNumber)
	}
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := serial(); got != second.SerialNumber.String() {
		t.Errorf("after a broken key: serial %s, want the previous %s", got, second.SerialNumber)
	}
}

var acmeHTTPAddrRE = regexp.MustCompile(`ACME HTTP-01 challenges answered.*addr=([0-9.:]+)`)

// TestHelperACMEListeners starts the helper with --acme-domain (no CA is contacted: no
// handshake asks for the allowed name): the HTTPS listener refuses a ClientHello for
// another name, and the HTTP-01 listener redirects other requests to HTTPS.
func TestHelperACMEListeners(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"helper", "--listen", "127.0.0.1:0", "--system-resolver", "127.0.0.1:9", "--log-level", "debug",
			"--acme-domain", "helper.example.org", "--acme-cache", t.TempDir(), "--acme-http-addr", "127.0.0.1:0"}, io.Discard, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var addr, httpAddr string
	for deadline := time.Now().Add(30 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := helperTLSAddrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			if h := acmeHTTPAddrRE.FindStringSubmatch(stderr.String()); h != nil {
				httpAddr = h[1]
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("the helper did not listen over HTTPS:\n%s", stderr)
		}
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "other.example.org", InsecureSkipVerify: true})
	if err == nil {
		conn.Close()
		t.Error("a handshake for other.example.org succeeded; want it refused by the host policy")
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), `host \"other.example.org\" not configured in HostWhitelist`); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the refusal is not the host policy's:\n%s", stderr)
		}
	}
	if httpAddr == "" {
		t.Fatalf("no HTTP-01 listener logged:\n%s", stderr)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("http://" + httpAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "https://") {
		t.Errorf("HTTP-01 listener: %d Location %q; want a redirect to https://", resp.StatusCode, loc)
	}
}
