package engine

import (
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/testnet"
)

// listen opens a TCP listener on 127.0.0.1 that the test closes at cleanup.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

func portOf(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// serveConns accepts connections on a new listener and hands each to handle in its own
// goroutine (testnet.ServeConns); it returns the port.
func serveConns(t testing.TB, handle func(c *net.TCPConn)) int {
	t.Helper()
	ln := listen(t)
	testnet.ServeConns(t, ln, func(c net.Conn) { handle(c.(*net.TCPConn)) })
	return portOf(ln)
}

// serveTLS runs TLS handshakes with cfg and then reads until the client closes.
func serveTLS(t testing.TB, cfg *tls.Config) int {
	t.Helper()
	return serveConns(t, func(c *net.TCPConn) {
		tc := tls.Server(c, cfg)
		if tc.Handshake() == nil {
			_, _ = io.Copy(io.Discard, tc)
		}
	})
}

// serveHTTP serves h over HTTP, or HTTPS when cfg is not nil, and returns the port.
func serveHTTP(t testing.TB, h http.Handler, cfg *tls.Config) int {
	t.Helper()
	ln := listen(t)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if cfg != nil {
			_ = srv.Serve(tls.NewListener(ln, cfg))
		} else {
			_ = srv.Serve(ln)
		}
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return portOf(ln)
}

// readRecord reads one whole TLS record (the ClientHello), so that closing afterwards
// leaves no unread data (which would turn a FIN into a RST).
func readRecord(c net.Conn) error {
	var hdr [5]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return err
	}
	if hdr[0] != 22 {
		return errors.New("not a handshake record")
	}
	_, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint16(hdr[3:])))
	return err
}

// reset closes c with a RST.
func reset(c *net.TCPConn) {
	_ = c.SetLinger(0)
	_ = c.Close()
}

// freePort returns a port on 127.0.0.1 that nothing listens on (it was just closed).
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := portOf(ln)
	_ = ln.Close()
	return p
}

// deref returns *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func itoa(i int) string { return strconv.Itoa(i) }

// dump renders v as indented JSON for failure messages.
func dump(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}
