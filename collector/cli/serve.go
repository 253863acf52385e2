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
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/config"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/web"
	"github.com/pantau-dev/pantau/internal/bogon"
	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/geo"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// shutdownGrace bounds how long in-flight requests may take after a stop signal.
const shutdownGrace = 30 * time.Second

// serveCmd runs the collector until ctx is cancelled, then shuts down in order: stop
// accepting requests, finish in-flight writes, close the storage client.
func serveCmd(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("collector serve", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "collector config file (required; keys in docs/collector-config.md)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usageError("--config is required")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	cfg, err := config.Load(*cfgPath, getenv)
	if err != nil {
		return usageError("%v", err)
	}
	verifier, err := auth.NewVerifier([]byte(cfg.Secret), cfg.Revoked)
	if err != nil {
		return usageError("%s: %v", *cfgPath, err)
	}
	st, err := store.New(store.Config{URL: cfg.Influx.URL, Org: cfg.Influx.Org, Bucket: cfg.Influx.Bucket, Token: cfg.Influx.Token, Timeout: cfg.Influx.Timeout.Duration}, log)
	if err != nil {
		return usageError("influx: %v", err)
	}
	closeStore := sync.OnceFunc(st.Close)
	defer closeStore()
	svc, err := report.New(report.Config{Source: st, OrdersDir: cfg.OrdersDir, Params: cfg.TimelineParams(),
		Cache: report.CacheConfig{MaxItems: cfg.Limits.ReportCache}}, log)
	if err != nil {
		return usageError("orders_dir: %v", err)
	}
	for i, id := range cfg.Alerts.Orders {
		if _, ok := svc.Order(id); !ok {
			return usageError("%s: alerts.orders[%d]: no order %q (orders_dir %q and the seeds)", *cfgPath, i, id, cfg.OrdersDir)
		}
	}
	var watcher *alert.Watcher
	if cfg.Alerts.Enabled() {
		if watcher, err = alert.New(cfg.Alerts, svc, log); err != nil {
			return usageError("alerts: %v", err)
		}
	}
	opts := api.Options{
		Store: svc.Watch(st), Verifier: verifier, Limiter: auth.NewLimiter(cfg.Limits.ProbeRate, cfg.Limits.ProbeBurst, auth.DefaultMaxProbes),
		ReadLimiter: auth.NewLimiter(cfg.Limits.ReadRate, cfg.Limits.ReadBurst, auth.DefaultMaxProbes),
		AdminToken:  cfg.AdminToken, BodyBytes: cfg.Limits.BodyBytes, BatchItems: cfg.Limits.BatchItems,
		QueryLimit: cfg.Limits.QueryLimit, MaxInFlight: cfg.Limits.MaxInFlight, TrustProxy: cfg.TrustProxy,
		SchedulesDir: cfg.SchedulesDir, ExtraMetrics: func(w io.Writer) { writeReportMetrics(w, svc, watcher) },
	}
	if cfg.GeoIP != "" {
		db, err := geo.Open(cfg.GeoIP)
		if err != nil {
			return usageError("geoip_mmdb: %v", err)
		}
		defer db.Close()
		opts.Geo = db
	}
	if cfg.Control.Enabled {
		h, err := controlHandler(cfg, log)
		if err != nil {
			return usageError("control: %v", err)
		}
		opts.Control = h
	}
	apiSrv := api.New(opts, log)
	reports := apiSrv.Public(svc.Handler(cfg.AdminToken))
	for _, p := range []string{"/api/v1/timeline", "/api/v1/changes", "/api/v1/orders", "/api/v1/orders/", "/api/v1/evidence"} {
		apiSrv.Handle(p, reports)
	}
	apiSrv.Handle("/", apiSrv.Public(web.New(svc, st, cfg.AdminToken, log)))
	srv := &http.Server{Handler: apiSrv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if cfg.TLS.Cert != "" {
		scheme = "https"
	}
	// SIGHUP is caught from before the collector says it listens, so that a SIGHUP sent
	// after that line never takes the default action (exit).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go reloadOnHUP(ctx, hup, *cfgPath, getenv, verifier, log)
	log.Info("collector listening", "url", scheme+"://"+ln.Addr().String())
	bg, stopBG := context.WithCancel(ctx)
	var bgDone sync.WaitGroup
	bgDone.Go(func() { warmEvery(bg, svc, report.DefaultCacheAge, log) })
	if watcher != nil {
		bgDone.Go(func() { watcher.Run(bg) })
	}
	defer func() { stopBG(); bgDone.Wait() }()
	errc := make(chan error, 1)
	go func() {
		if cfg.TLS.Cert != "" {
			errc <- srv.ServeTLS(ln, cfg.TLS.Cert, cfg.TLS.Key)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop accepting (Shutdown closes the listener at once), let in-flight requests (and so
	// their storage writes) finish, and only then close the storage client.
	log.Info("shutting down: no new connections; finishing in-flight requests")
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		srv.Close()
		return fmt.Errorf("shutdown: in-flight requests still running after %s: %w", shutdownGrace, err)
	}
	log.Info("in-flight requests finished")
	closeStore()
	log.Info("storage client closed; stopped")
	return nil
}

// reloadOnHUP reloads the revocation list from the config file on each signal on hup
// until ctx ends (see reloadRevoked).
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, path string, getenv func(string) string, v *auth.Verifier, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		_ = reloadRevoked(path, getenv, v, log)
	}
}

// reloadRevoked reads the config file again and gives v its revocation list. If the file
// does not load (any error, not only in the list), it logs and returns the error and v
// keeps the list it had. Only the list is reloaded: other keys need a restart.
func reloadRevoked(path string, getenv func(string) string, v *auth.Verifier, log *slog.Logger) error {
	cfg, err := config.Load(path, getenv)
	if err == nil {
		err = v.SetRevoked(cfg.Revoked)
	}
	if err != nil {
		log.Error("SIGHUP: config not reloaded; keeping the old revocation list", "err", err)
		return err
	}
	log.Info("SIGHUP: revocation list reloaded", "entries", len(cfg.Revoked))
	return nil
}

// controlHandler builds the engine's control handler from the collector's config.
func controlHandler(cfg *config.Config, log *slog.Logger) (http.Handler, error) {
	lab, err := bogon.ParseCIDRs(cfg.Control.LabCIDRs)
	if err != nil {
		return nil, err
	}
	var sys []dnsquery.Resolver
	if len(cfg.Control.SystemResolvers) > 0 {
		for _, s := range cfg.Control.SystemResolvers {
			r, err := dnsquery.ParseResolver(s)
			if err != nil {
				return nil, err
			}
			r.System = true
			sys = append(sys, r)
		}
	} else if sys, err = dnsquery.SystemResolvers("/etc/resolv.conf"); err != nil {
		return nil, err
	}
	guard := control.Guard(lab)
	eng := engine.New(engine.Config{SystemResolvers: sys, LabCIDRs: lab, DialGuard: guard,
		Software: measurement.Software{Name: "pantau-collector", Version: Version}}, log)
	return control.NewHandler(eng, control.HandlerOptions{MaxConcurrent: cfg.Limits.ControlConns, CacheTTL: cfg.Limits.CacheTTL.Duration, Guard: guard}, log), nil
}
