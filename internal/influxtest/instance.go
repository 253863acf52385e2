package influxtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long influxd may take to answer /health: 3 to 10 s on a 2-core
// machine (mostly Flux initialising), 30 s and more when test packages run in parallel.
const startTimeout = 120 * time.Second

// Instance is a private influxd owned by one test: it can be stopped and restarted on the
// same ports and directories, so data written before a stop is there after the restart.
type Instance struct {
	t        testing.TB
	bin, dir string
	env      []string // extra influxd settings (INFLUXDB_…=…)
	httpAddr string
	rpcAddr  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a private influxd (the binary in PANTAU_TEST_INFLUXD, else influxd from PATH
// or the cache folder of scripts/with-influxdb) on free loopback ports with its own
// directories, and stops it when the test ends. env adds influxd settings such as
// "INFLUXDB_HTTP_AUTH_ENABLED=true". Without a binary the test is skipped, or failed when
// CI=true.
func Start(t testing.TB, env ...string) *Instance {
	t.Helper()
	bin := findInfluxd()
	if bin == "" {
		unavailable(t, "no influxd binary ("+EnvInfluxd+" is not set and none is in PATH): run the tests through scripts/with-influxdb (make test)")
	}
	in := &Instance{t: t, bin: bin, dir: t.TempDir(), env: env}
	t.Cleanup(in.Stop) // registered after TempDir: runs before the directory is removed
	for attempt := 1; ; attempt++ {
		in.httpAddr, in.rpcAddr = freeAddrs(t)
		err := in.start()
		if err == nil {
			return in
		}
		if attempt == 5 || !errors.Is(err, errPortTaken) {
			t.Fatalf("starting influxd: %v", err)
		}
	}
}

// URL returns the instance's base URL, http://127.0.0.1:PORT.
func (in *Instance) URL() string { return "http://" + in.httpAddr }

// NewBucket creates a database with a unique name on the instance and returns its bucket
// ("db/autogen").
func (in *Instance) NewBucket(t testing.TB) string {
	t.Helper()
	return newDatabase(t, in.URL())
}

// Stop sends influxd SIGTERM and waits until it has exited (SIGKILL after 30 s). Stopping
// a stopped instance does nothing.
func (in *Instance) Stop() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil {
		return
	}
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		_ = in.cmd.Process.Kill()
		<-in.done
	}
	in.cmd = nil
}

// Restart stops the instance if it runs and starts it again on the same ports and
// directories; it fails the test if influxd does not come back.
func (in *Instance) Restart() {
	in.t.Helper()
	in.Stop()
	if err := in.start(); err != nil {
		in.t.Fatalf("restarting influxd: %v", err)
	}
}

var errPortTaken = errors.New("port already in use")

// start launches influxd and waits for /health.
func (in *Instance) start() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	logPath := filepath.Join(in.dir, "influxd.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	cmd := exec.Command(in.bin, "run")
	cmd.Env = append(append(os.Environ(), Env(in.dir, in.httpAddr, in.rpcAddr)...), in.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	orphanProof(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := waitHealthy(ctx, in.URL(), done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		log, _ := os.ReadFile(logPath)
		if strings.Contains(string(log), "address already in use") {
			return fmt.Errorf("%w: %s", errPortTaken, log)
		}
		return fmt.Errorf("%w; influxd log:\n%s", err, log)
	}
	in.cmd, in.done = cmd, done
	return nil
}

// Env returns the environment for a throwaway influxd keeping its files under dir.
func Env(dir, httpAddr, rpcAddr string) []string {
	return []string{
		"INFLUXDB_META_DIR=" + filepath.Join(dir, "meta"),
		"INFLUXDB_DATA_DIR=" + filepath.Join(dir, "data"),
		"INFLUXDB_DATA_WAL_DIR=" + filepath.Join(dir, "wal"),
		"INFLUXDB_HTTP_BIND_ADDRESS=" + httpAddr,
		"INFLUXDB_BIND_ADDRESS=" + rpcAddr,
		"INFLUXDB_HTTP_FLUX_ENABLED=true",
		"INFLUXDB_REPORTING_DISABLED=true",
		"INFLUXDB_LOGGING_LEVEL=warn",
		"INFLUXDB_HTTP_LOG_ENABLED=false",
		"INFLUXDB_DATA_QUERY_LOG_ENABLED=false",
		"INFLUXDB_MONITOR_STORE_ENABLED=false",
		"INFLUXDB_CONTINUOUS_QUERIES_ENABLED=false",
	}
}

// waitHealthy polls GET /health until it answers 200, the process exits or ctx ends.
func waitHealthy(ctx context.Context, base string, exited <-chan struct{}) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("influxd exited during start-up")
		case <-ctx.Done():
			return fmt.Errorf("influxd did not answer %s/health within %s", base, startTimeout)
		case <-tick.C:
		}
	}
}

// freeAddrs returns two distinct loopback addresses whose ports were free a moment ago.
func freeAddrs(t testing.TB) (string, string) {
	t.Helper()
	var addrs [2]string
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		defer l.Close() // held until both are chosen, so they differ
		addrs[i] = l.Addr().String()
	}
	return addrs[0], addrs[1]
}

// findInfluxd returns the influxd binary to run, or "".
func findInfluxd() string {
	if p := os.Getenv(EnvInfluxd); p != "" {
		return p
	}
	if p, err := exec.LookPath("influxd"); err == nil {
		return p
	}
	cache := os.Getenv("PANTAU_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(home, ".cache", "pantau")
	}
	if p := filepath.Join(cache, "bin", "influxd"); isExecutable(p) {
		return p
	}
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
