package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
			"Without --token-file every client is anonymous and limited per address (--rate-limit).",
		Examples: []string{
			"probe helper --listen 0.0.0.0:9090",
			"probe helper --listen 0.0.0.0:9090 --token-file /etc/pantau/helper-tokens --allow-anonymous",
			"probe helper --listen 127.0.0.1:9090 --lab-cidr 10.77.0.0/16 --max-concurrent 32",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			var ef engineFlags
			ef.register(fs)
			listen := fs.String("listen", "127.0.0.1:9090", "`ADDR` to serve the control API on")
			maxConc := fs.Int("max-concurrent", 16, "observations at once")
			cacheTTL := fs.Duration("cache-ttl", time.Minute, "how long an observation is reused for the same target")
			var acc helperAccess
			acc.register(fs)
			return func(ctx context.Context, _ []string) error {
				return helper(ctx, &ef, &acc, *listen, *maxConc, *cacheTTL, s.stderr)
			}
		},
	}
}

// helper serves the control API on listen until ctx ends.
func helper(ctx context.Context, ef *engineFlags, acc *helperAccess, listen string, maxConc int, cacheTTL time.Duration, stderr io.Writer) error {
	if maxConc < 1 {
		return usageError("--max-concurrent %d: must be at least 1", maxConc)
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
		Timeout: ecfg.Timeouts.Target, CacheTTL: cacheTTL, MaxConcurrent: maxConc, Guard: guard, Metrics: &control.Metrics{},
	}
	if err := acc.apply(&ho, log); err != nil {
		return err
	}
	mux.Handle("/api/v1/control", control.NewHandler(eng, ho, log))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /metrics", serveMetrics(ho.Metrics))
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("control helper listening", "addr", ln.Addr().String())
	fmt.Fprintf(stderr, "probe helper: listening on http://%s/api/v1/control\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
