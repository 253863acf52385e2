package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os/exec"
	"time"

	"github.com/pantau-dev/pantau/collector/demo"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/web"
	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// demoOptions are the flags of `collector demo`.
type demoOptions struct {
	config, listen, logLevel string
	loadOnly, open, check    bool
}

// demoCommand is `collector demo`: load the simulated 2017 data set, then serve it.
func demoCommand(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:    "demo",
		Summary: "load a simulated 2017 Telegram data set into the configured InfluxDB and serve the dashboard on it, marked as simulated",
		Usage:   "--config FILE [flags]",
		Details: fmt.Sprintf("The data set (docs/demo.md) is deterministic: loading it again stores nothing new. The timeline's "+
			"max_silence is raised to %gh if the config sets less (the simulated probes measure every %gh). SIGINT or SIGTERM stops serving.",
			demo.MaxSilence.Hours(), demo.Cadence.Hours()),
		Examples: []string{
			"collector demo --config collector.yaml --open",
			"collector demo --config collector.yaml --load-only",
			"collector demo --config collector.yaml --listen 127.0.0.1:0 --check",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			var o demoOptions
			fs.StringVar(&o.config, "config", "", "collector config `FILE` (required; its influx section says where the data set goes)")
			fs.StringVar(&o.listen, "listen", "", "`ADDR` to serve on instead of the config's listen")
			fs.StringVar(&o.logLevel, "log-level", "info", "`LEVEL` of the logs on stderr: debug, info, warn or error")
			fs.BoolVar(&o.loadOnly, "load-only", false, "load the data set and exit without serving")
			fs.BoolVar(&o.open, "open", false, "open the dashboard in a browser (xdg-open) when there is one; otherwise print its address")
			fs.BoolVar(&o.check, "check", false, "load, serve, check the dashboard and the reports against the data set's plan, and exit (1 on a difference)")
			return func(ctx context.Context, _ []string) error { return runDemo(ctx, o, e) }
		},
	}
}

// runDemo loads the data set and, unless --load-only, serves it until ctx ends (or, with
// --check, until the check is done).
func runDemo(ctx context.Context, o demoOptions, e env) error {
	if o.loadOnly && (o.check || o.open) {
		return usageError("--load-only serves nothing: it cannot be used with --check or --open")
	}
	c, err := loadCollector(o.config, o.logLevel, e)
	if err != nil {
		return err
	}
	if o.listen != "" {
		c.cfg.Listen = o.listen
	}
	if c.cfg.Timeline.MaxSilence.Duration < demo.MaxSilence {
		c.log.Info("demo: timeline max_silence raised to the simulated probes' cadence", "from", c.cfg.Timeline.MaxSilence.Duration, "to", demo.MaxSilence)
		c.cfg.Timeline.MaxSilence = yamlconf.Duration{Duration: demo.MaxSilence}
	}
	if err := loadDemo(ctx, c, e); err != nil {
		return err
	}
	if o.loadOnly {
		return nil
	}
	c.webOpts = append(c.webOpts, web.WithSimulated(demo.Notice))
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	checked := make(chan error, 1)
	c.onListen = func(url string) {
		printDemoPages(e, url)
		if o.open {
			openBrowser(e, url)
		}
		if !o.check {
			fmt.Fprintln(e.stdout, "demo: serving until Ctrl-C")
			return
		}
		go func() {
			checked <- demo.Check(serveCtx, &http.Client{Timeout: 2 * time.Minute}, url)
			stop()
		}()
	}
	err = c.run(serveCtx)
	if !o.check {
		return err
	}
	select {
	case cerr := <-checked:
		if cerr != nil {
			return fmt.Errorf("demo check: the collector does not show what the data set holds:\n%w", cerr)
		}
		fmt.Fprintln(e.stdout, "demo check: the dashboard and the reports show the data set's story")
		return err
	default:
		return errors.Join(err, errors.New("demo check: the collector stopped before the check was done"))
	}
}

// loadDemo writes the data set into the configured InfluxDB and says how long it took.
func loadDemo(ctx context.Context, c *collector, e env) error {
	cfg := c.cfg
	st, err := store.New(store.Config{URL: cfg.Influx.URL, Org: cfg.Influx.Org, Bucket: cfg.Influx.Bucket, Token: cfg.Influx.Token, Timeout: cfg.Influx.Timeout.Duration}, c.log)
	if err != nil {
		return usageError("influx: %v", err)
	}
	defer st.Close()
	if err := st.Ready(ctx); err != nil {
		return fmt.Errorf("demo: InfluxDB at %s: %w", cfg.Influx.URL, err)
	}
	stats, err := demo.Load(ctx, st, c.log)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "demo: loaded %d simulated measurements (%d probes, %s to %s) in %s\n", stats.Measurements, stats.Probes,
		demo.Start.Format(time.DateOnly), demo.End.Add(-time.Hour).Format(time.DateOnly), stats.Elapsed.Round(100*time.Millisecond))
	return nil
}

// printDemoPages prints the dashboard's address and the pages to open first.
func printDemoPages(e env, url string) {
	fmt.Fprintf(e.stdout, "demo: the dashboard (simulated data) is at %s/\n", url)
	for _, p := range demo.Pages() {
		fmt.Fprintf(e.stdout, "  %-40s %s%s\n", p.What+":", url, p.Path)
	}
}

// openBrowser opens the first of the demo's pages (the heatmap of t.me) with xdg-open
// when there is one, and otherwise says to open it.
func openBrowser(e env, url string) {
	if path, err := exec.LookPath("xdg-open"); err == nil {
		cmd := exec.Command(path, url+demo.Pages()[0].Path)
		if err := cmd.Start(); err == nil {
			go func() { _ = cmd.Wait() }()
			return
		}
	}
	fmt.Fprintf(e.stdout, "demo: no browser to open here (xdg-open); open %s%s in one\n", url, demo.Pages()[0].Path)
}
