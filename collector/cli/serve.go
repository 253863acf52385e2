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
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/config"
	"github.com/pantau-dev/pantau/collector/fleet"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/sign"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/web"
	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/geo"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/ratelimit"
)

// shutdownGrace bounds how long in-flight requests may take after a stop signal.
const shutdownGrace = 30 * time.Second

// serveCommand is `collector serve`: run the collector until SIGINT or SIGTERM.
func serveCommand(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:    "serve",
		Summary: "receive measurements from probes, store them in InfluxDB and serve the API and the dashboard",
		Usage:   "--config FILE [flags]",
		Details: "SIGHUP reloads the revocation list; SIGINT or SIGTERM stops after the requests in flight.",
		Examples: []string{
			"collector serve --config /etc/pantau/collector.yaml",
			"collector serve --config collector.yaml --log-level debug",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			cfgPath := fs.String("config", "", "collector config `FILE` (required; keys in docs/collector-config.md)")
			logLevel := fs.String("log-level", "info", "`LEVEL` of the logs on stderr: debug, info, warn or error")
			return func(ctx context.Context, _ []string) error { return serve(ctx, *cfgPath, *logLevel, e) }
		},
	}
}

// collector is what `collector serve` runs: the config and the parts built from it.
type collector struct {
	cfgPath  string
	getenv   func(string) string
	cfg      *config.Config
	log      *slog.Logger
	verifier *auth.Verifier
	store    *store.Store
	svc      *report.Service
	watcher  *alert.Watcher   // nil: no alerts
	fleet    *fleet.Fleet     // the probe list (fleet.go)
	webOpts  []web.Option     // more dashboard options (collector demo: the simulated notice)
	onListen func(url string) // nil, or called with the address once it listens (collector demo)
}

// serve runs the collector until ctx is cancelled, then shuts down in order: stop
// accepting requests, finish in-flight writes, close the storage client.
func serve(ctx context.Context, cfgPath, logLevel string, e env) error {
	c, err := loadCollector(cfgPath, logLevel, e)
	if err != nil {
		return err
	}
	return c.run(ctx)
}

// loadCollector reads the config and the logger of a collector to run.
func loadCollector(cfgPath, logLevel string, e env) (*collector, error) {
	if cfgPath == "" {
		return nil, usageError("--config is required")
	}
	log, err := cmdline.NewLogger(e.stderr, logLevel)
	if err != nil {
		return nil, err
	}
	c := &collector{cfgPath: cfgPath, getenv: e.getenv, log: log}
	if c.cfg, err = config.Load(cfgPath, e.getenv); err != nil {
		return nil, usageError("%v", err)
	}
	return c, nil
}

// run builds the collector's parts from its config and serves until ctx is cancelled.
func (c *collector) run(ctx context.Context) error {
	var err error
	if c.verifier, err = auth.NewVerifier([]byte(c.cfg.Secret), c.cfg.Revoked); err != nil {
		return usageError("%s: %v", c.cfgPath, err)
	}
	cfg, log := c.cfg, c.log
	if c.store, err = store.New(store.Config{URL: cfg.Influx.URL, Org: cfg.Influx.Org, Bucket: cfg.Influx.Bucket, Token: cfg.Influx.Token,
		Timeout: cfg.Influx.Timeout.Duration, Known: cfg.Replicas.Known()}, log); err != nil {
		return usageError("influx: %v", err)
	}
	closeStore := sync.OnceFunc(c.store.Close)
	defer closeStore()
	if err := c.reports(); err != nil {
		return err
	}
	handler, closeGeo, err := c.handler()
	if err != nil {
		return err
	}
	defer closeGeo()
	return c.listenAndServe(ctx, handler, closeStore)
}

// reports builds the report service and the alert watcher.
func (c *collector) reports() error {
	cfg := c.cfg
	var signer *sign.Signer // nil: evidence and compliance reports unsigned
	if cfg.Signing.KeyFile != "" {
		key, err := sign.LoadKey(cfg.Signing.KeyFile)
		if err != nil {
			return usageError("signing.key_file: %v", err)
		}
		signer = sign.New(key, cmdline.Version)
	}
	var err error
	c.svc, err = report.New(report.Config{Source: c.store, OrdersDir: cfg.OrdersDir, Params: cfg.TimelineParams(), Marks: c.store, Signer: signer,
		Cache: report.CacheConfig{MaxItems: cfg.Limits.ReportCache, Fresh: cfg.Replicas.CacheFresh.Duration, Revalidate: cfg.Replicas.Revalidate.Duration}}, c.log)
	if err != nil {
		return usageError("orders_dir: %v", err)
	}
	for i, id := range cfg.Alerts.Orders {
		if _, ok := c.svc.Order(id); !ok {
			return usageError("%s: alerts.orders[%d]: no order %q (orders_dir %q and the seeds)", c.cfgPath, i, id, cfg.OrdersDir)
		}
	}
	if cfg.Alerts.Enabled() {
		if c.watcher, err = alert.New(cfg.Alerts, c.svc, c.log); err != nil {
			return usageError("alerts: %v", err)
		}
	}
	return nil
}

// handler builds the probe API, the report API and the dashboard on one handler; the
// function returned closes the GeoIP database.
func (c *collector) handler() (*api.Server, func(), error) {
	cfg := c.cfg
	opts := api.Options{
		Store: c.svc.Watch(c.store), Verifier: c.verifier, Limiter: ratelimit.New(cfg.Limits.ProbeRate, cfg.Limits.ProbeBurst, ratelimit.DefaultMaxKeys),
		ReadLimiter: ratelimit.New(cfg.Limits.ReadRate, cfg.Limits.ReadBurst, ratelimit.DefaultMaxKeys),
		SeriesCap:   auth.NewSeriesCap(cfg.Limits.NewDomainsPerHour, cfg.Limits.NewSchedulesPerHour),
		AdminToken:  cfg.AdminToken, BodyBytes: cfg.Limits.BodyBytes, BatchItems: cfg.Limits.BatchItems,
		QueryLimit: cfg.Limits.QueryLimit, MaxInFlight: cfg.Limits.MaxInFlight, TrustProxy: cfg.TrustProxy,
		SchedulesDir: cfg.SchedulesDir, ExtraMetrics: func(w io.Writer) { writeReportMetrics(w, c.svc, c.watcher) },
	}
	opts.BackdateSlack = cfg.Limits.BackdateSlack.Duration
	if err := c.fleetOptions(&opts); err != nil {
		return nil, nil, err
	}
	closeGeo := func() {}
	if cfg.GeoIP != "" {
		db, err := geo.Open(cfg.GeoIP)
		if err != nil {
			return nil, nil, usageError("geoip_mmdb: %v", err)
		}
		closeGeo = func() { db.Close() }
		opts.Geo = db
	}
	if cfg.Control.Enabled {
		h, err := controlHandler(cfg, c.log)
		if err != nil {
			closeGeo()
			return nil, nil, usageError("control: %v", err)
		}
		opts.Control = h
	}
	apiSrv := api.New(opts, c.log)
	reports := apiSrv.Public(c.svc.Handler(cfg.AdminToken))
	for _, p := range []string{"/api/v1/timeline", "/api/v1/changes", "/api/v1/orders", "/api/v1/orders/", "/api/v1/evidence", sign.WellKnownPath} {
		apiSrv.Handle(p, reports)
	}
	apiSrv.Handle("/", apiSrv.Public(web.New(c.svc, c.store, cfg.AdminToken, c.log, append([]web.Option{web.WithProbes(c.fleet), web.WithFrameAncestors(cfg.Web.EmbedFrameAncestors)}, c.webOpts...)...)))
	return apiSrv, closeGeo, nil
}

// listenAndServe serves handler on the configured address, with the background work
// (cache warming, alerts) and SIGHUP reloads, until ctx ends; then it stops accepting,
// lets the requests in flight finish and calls closeStore.
func (c *collector) listenAndServe(ctx context.Context, handler *api.Server, closeStore func()) error {
	cfg, log := c.cfg, c.log
	srv, ln, err := c.listen(handler)
	if err != nil {
		return err
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
	go reloadOnHUP(ctx, hup, c.cfgPath, c.getenv, c.verifier, log)
	log.Info("collector listening", "url", scheme+"://"+ln.Addr().String())
	if c.onListen != nil {
		c.onListen(scheme + "://" + ln.Addr().String())
	}
	defer c.background(ctx)()
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

// listen opens the configured address, capped per client address (http.conns_per_addr),
// and returns the server for it with the configured deadlines: without them a client
// that sends its request slowly, or never, holds its connection for ever.
func (c *collector) listen(handler *api.Server) (*http.Server, net.Listener, error) {
	h := c.cfg.HTTP
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: h.ReadHeaderTimeout.Duration, ReadTimeout: h.ReadTimeout.Duration,
		WriteTimeout: h.WriteTimeout.Duration, IdleTimeout: h.IdleTimeout.Duration}
	ln, err := net.Listen("tcp", c.cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	if c.cfg.TrustProxy && h.ConnsPerAddr > 0 {
		c.log.Warn("http.conns_per_addr caps the reverse proxy's connections too (they all come from its address): raise it above the proxy's, or set 0 and cap per client at the proxy",
			"conns_per_addr", h.ConnsPerAddr)
	}
	return srv, handler.LimitListener(ln, h.ConnsPerAddr), nil
}

// background starts warming the report cache and, when alerts are on, the watcher; the
// function returned stops them and waits for them.
func (c *collector) background(ctx context.Context) func() {
	bg, stop := context.WithCancel(ctx)
	var done sync.WaitGroup
	done.Go(func() { warmEvery(bg, c.svc, report.DefaultCacheAge, c.log) })
	done.Go(func() { refreshRevoked(bg, c.store, c.verifier, revokedRefresh, c.log) })
	if c.cfg.OrdersDir != "" {
		done.Go(func() { c.svc.ReloadOrdersEvery(bg, c.cfg.Replicas.OrdersReload.Duration) })
	}
	if c.watcher != nil {
		done.Go(func() { c.watcher.Run(bg) })
	}
	return func() { stop(); done.Wait() }
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
	var lab []netip.Prefix
	for _, p := range cfg.Control.LabCIDRs {
		lab = append(lab, p.Prefix)
	}
	var sys []dnsquery.Resolver
	var err error
	if len(cfg.Control.SystemResolvers) > 0 {
		for _, r := range cfg.Control.SystemResolvers {
			r.System = true
			sys = append(sys, r)
		}
	} else if sys, err = dnsquery.SystemResolvers("/etc/resolv.conf"); err != nil {
		return nil, err
	}
	guard := control.Guard(lab)
	eng := engine.New(engine.Config{SystemResolvers: sys, LabCIDRs: lab, DialGuard: guard,
		Software: measurement.Software{Name: "pantau-collector", Version: cmdline.Version}}, log)
	return control.NewHandler(eng, control.HandlerOptions{MaxConcurrent: cfg.Limits.ControlConns, CacheTTL: cfg.Limits.CacheTTL.Duration, Guard: guard}, log), nil
}
