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

	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/engine"
)

// helperCmd is `probe helper`: serve the control API from this (uncensored) vantage point.
func helperCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("probe helper", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	listen := fs.String("listen", "127.0.0.1:9090", "address to serve the control API on")
	maxConc := fs.Int("max-concurrent", 16, "observations at once")
	cacheTTL := fs.Duration("cache-ttl", time.Minute, "how long an observation is reused for the same target")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: probe helper --listen ADDR [--lab-cidr CIDR]... [flags]\n\nServes POST /api/v1/control (docs/control.md) and GET /healthz.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if *maxConc < 1 {
		return usageError("--max-concurrent %d: must be at least 1", *maxConc)
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
	mux.Handle("/api/v1/control", control.NewHandler(eng, control.HandlerOptions{
		Timeout: ecfg.Timeouts.Target, CacheTTL: *cacheTTL, MaxConcurrent: *maxConc, Guard: guard,
	}, log))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	ln, err := net.Listen("tcp", *listen)
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
