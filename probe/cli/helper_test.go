package cli

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is stderr written by a running command while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var helperAddrRE = regexp.MustCompile(`listening on http://([0-9.:]+)/api/v1/control`)

// TestHelperReadTimeout: a client that announces a body and stalls is cut off at the
// helper's read deadline, instead of holding its connection for ever.
func TestHelperReadTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"helper", "--listen", "127.0.0.1:0", "--read-header-timeout", "500ms", "--read-timeout", "1s"}, io.Discard, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := helperAddrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("the helper did not listen:\n%s", stderr)
		}
	}
	for _, tc := range []struct{ name, request string }{
		{"slow body", "POST /api/v1/control HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"target\":"},
		{"slow headers", "POST /api/v1/control HTTP/1.1\r\nHost: x\r\nX-Slow: "},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, tc.request); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_ = conn.SetReadDeadline(start.Add(10 * time.Second))
		_, _ = io.Copy(io.Discard, bufio.NewReader(conn))
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("%s: the connection was held %s; want it closed at the read deadline (1s)", tc.name, d)
		}
		conn.Close()
	}
	// The helper still answers.
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: HTTP %d", resp.StatusCode)
	}
}

func TestHelperServerFlags(t *testing.T) {
	ok := serverFlags{readHeader: time.Second, read: 30 * time.Second, write: 2 * time.Minute, idle: time.Minute}
	srv, err := ok.server(http.NotFoundHandler(), time.Minute)
	if err != nil || srv.ReadHeaderTimeout != time.Second || srv.ReadTimeout != 30*time.Second || srv.WriteTimeout != 2*time.Minute || srv.IdleTimeout != time.Minute {
		t.Errorf("server: %+v, %v", srv, err)
	}
	for _, tc := range []struct {
		change func(*serverFlags)
		want   string
	}{
		{func(f *serverFlags) { f.read = 0 }, "--read-timeout 0s: must be positive"},
		{func(f *serverFlags) { f.idle = -time.Second }, "--idle-timeout -1s: must be positive"},
		{func(f *serverFlags) { f.readHeader = time.Minute }, "--read-header-timeout 1m0s: longer than --read-timeout 30s"},
		{func(f *serverFlags) { f.write = time.Minute }, "--write-timeout 1m0s: must be longer than one observation (--timeout 1m0s)"},
	} {
		f := ok
		tc.change(&f)
		if _, err := f.server(http.NotFoundHandler(), time.Minute); err == nil || err.Error() != "usage: "+tc.want {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	// The command refuses them before it listens.
	code, _, stderr := runMain("helper", "--listen", "127.0.0.1:0", "--write-timeout", "30s")
	if want := "probe helper: --write-timeout 30s: must be longer than one observation (--timeout 1m0s)\n"; code != 2 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 2, %q", code, stderr, want)
	}
}
