package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/engine"
)

// helperCommand is `probe helper`: serve the control API from this (uncensored) vantage
// point.
func helperCommand(s streams) *cmdline.Command {
	return &cmdline.Command{
		Name:    "helper",
		Summary: "serve the control API for other probes",
		Usage:   "--listen ADDR [--lab-cidr CIDR]... [flags]",
		Details: "Serves POST /api/v1/control (docs/control.md), GET /healthz and GET /metrics.\n" +
			"Without --token-file every client is anonymous and limited per address (--rate-limit).\n" +
			"With --tls-cert and --tls-key, or --acme-domain, it serves HTTPS itself; else plain HTTP, for a reverse proxy in front.",
		Examples: []string{
			"probe helper --listen 0.0.0.0:9090",
			"probe helper --listen 0.0.0.0:9090 --token-file /etc/pantau/helper-tokens --allow-anonymous",
			"probe helper --listen 127.0.0.1:9090 --lab-cidr 10.77.0.0/16 --max-concurrent 512",
			"probe helper --listen :443 --tls-cert /etc/pantau/helper.crt --tls-key /etc/pantau/helper.key",
			"probe helper --listen :443 --acme-domain helper.example.org --acme-email ops@example.org",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			var ef engineFlags
			ef.register(fs)
			listen := fs.String("listen", "127.0.0.1:9090", "`ADDR` to serve the control API on")
			maxConc := fs.Int("max-concurrent", control.DefaultMaxConcurrent, "observations at once")
			maxQueue := fs.Int("max-queue", 0, "observations waiting for a slot before requests are answered 503 (default 4 per --max-concurrent)")
			cacheTTL := fs.Duration("cache-ttl", time.Minute, "how long an observation is reused for the same target")
			cpuProfile := fs.String("cpuprofile", "", "write a CPU profile until the helper stops to `FILE` (go tool pprof)")
			var acc helperAccess
			acc.register(fs)
			var sf serverFlags
			sf.register(fs)
			var tl helperTLS
			tl.register(fs)
			return func(ctx context.Context, _ []string) error {
				stop, err := startCPUProfile(*cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
				return helper(ctx, &ef, &acc, &sf, &tl, *listen, capacity{*maxConc, *maxQueue}, *cacheTTL, s.stderr)
			}
		},
	}
}

// capacity is how many observations a helper runs at once and how many may wait.
type capacity struct{ concurrent, queue int }

// helper serves the control API on listen until ctx ends.
func helper(ctx context.Context, ef *engineFlags, acc *helperAccess, sf *serverFlags, tl *helperTLS, listen string, cp capacity, cacheTTL time.Duration, stderr io.Writer) error {
	if cp.concurrent < 1 {
		return usageError("--max-concurrent %d: must be at least 1", cp.concurrent)
	}
	if cp.queue < 0 {
		return usageError("--max-queue %d: must be 0 (default) or more", cp.queue)
	}
	// The helper reports what its resolvers answer: no injection watch unless asked.
	c, err := ef.load(0)
	if err != nil {
		return err
	}
	log, err := ef.newLogger(stderr)
	if err != nil {
		return err
	}
	ecfg, err := engineConfig(c, "pantau-helper")
	if err != nil {
		return err
	}
	guard := control.Guard(ecfg.LabCIDRs)
	ecfg.DialGuard = guard
	eng := engine.New(ecfg, log)
	mux := http.NewServeMux()
	ho := control.HandlerOptions{
		Timeout: ecfg.Timeouts.Target, CacheTTL: cacheTTL, MaxConcurrent: cp.concurrent, MaxQueue: cp.queue, Guard: guard, Metrics: &control.Metrics{},
	}
	if err := acc.apply(&ho, log); err != nil {
		return err
	}
	mux.Handle("/api/v1/control", control.NewHandler(eng, ho, log))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /metrics", serveMetrics(ho.Metrics))
	target := ecfg.Timeouts.Target
	if target <= 0 {
		target = engine.DefaultTimeouts.Target
	}
	srv, err := sf.server(mux, target)
	if err != nil {
		return err
	}
	ts, err := tl.setup(stateDir(c), log)
	if err != nil {
		return err
	}
	return serveHelper(ctx, srv, ts, listen, log, stderr)
}

// serveHelper serves srv on listen, over TLS when ts says so (with ACME's HTTP-01
// answerer on its own address), until ctx ends.
func serveHelper(ctx context.Context, srv *http.Server, ts *tlsSetup, listen string, log *slog.Logger, stderr io.Writer) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	scheme := "http"
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	if ts != nil {
		scheme = "https"
		srv.TLSConfig = ts.config
		// Failed handshakes (scanners, plain HTTP) are noise, not the helper's errors.
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
		if ts.httpAddr != "" {
			hln, err := net.Listen("tcp", ts.httpAddr)
			if err != nil {
				ln.Close()
				return fmt.Errorf("--acme-http-addr: %w", err)
			}
			hs := &http.Server{Handler: ts.challenge, ReadHeaderTimeout: srv.ReadHeaderTimeout,
				ReadTimeout: srv.ReadTimeout, WriteTimeout: srv.WriteTimeout, IdleTimeout: srv.IdleTimeout}
			servers = append(servers, hs)
			log.Info("ACME HTTP-01 challenges answered", "addr", hln.Addr().String())
			go func() { errc <- fmt.Errorf("--acme-http-addr: %w", hs.Serve(hln)) }()
		}
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	log.Info("control helper listening", "addr", ln.Addr().String(), "scheme", scheme)
	fmt.Fprintf(stderr, "probe helper: listening on %s://%s/api/v1/control\n", scheme, ln.Addr())
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) && serveErr == nil {
			serveErr = err
		}
	}
	return serveErr
}

// serverFlags are the deadlines of the helper's HTTP server: without them a client that
// sends its request slowly, or never, holds its connection for ever.
type serverFlags struct {
	readHeader, read, write, idle time.Duration
}

func (f *serverFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.readHeader, "read-header-timeout", 10*time.Second, "how long a client may take to send a request's headers")
	fs.DurationVar(&f.read, "read-timeout", 30*time.Second, "how long a client may take to send a whole request, body included")
	fs.DurationVar(&f.write, "write-timeout", 2*time.Minute,
		"from the end of a request's headers to the end of its answer; longer than one observation (--timeout)")
	fs.DurationVar(&f.idle, "idle-timeout", 2*time.Minute, "how long a kept-alive connection may wait for its next request")
}

// server returns the HTTP server of handler with the deadlines of f, checked: each
// positive, the headers' within the request's, and the answer's longer than target (one
// observation's deadline), which it has to cover.
func (f *serverFlags) server(handler http.Handler, target time.Duration) (*http.Server, error) {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"read-header-timeout", f.readHeader}, {"read-timeout", f.read}, {"write-timeout", f.write}, {"idle-timeout", f.idle}} {
		if d.v <= 0 {
			return nil, usageError("--%s %s: must be positive", d.name, d.v)
		}
	}
	if f.readHeader > f.read {
		return nil, usageError("--read-header-timeout %s: longer than --read-timeout %s", f.readHeader, f.read)
	}
	if f.write <= target {
		return nil, usageError("--write-timeout %s: must be longer than one observation (--timeout %s)", f.write, target)
	}
	return &http.Server{Handler: handler, ReadHeaderTimeout: f.readHeader, ReadTimeout: f.read, WriteTimeout: f.write, IdleTimeout: f.idle}, nil
}
