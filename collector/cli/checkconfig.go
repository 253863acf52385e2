package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/config"
	"github.com/pantau-dev/pantau/collector/fleet"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/geo"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// checkConfigCommand is `collector check-config`: load a config as `collector serve` does
// at start, and say whether it would start.
func checkConfigCommand(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:    "check-config",
		Summary: "check a config file as serve loads it at start, without starting",
		Usage:   "--config FILE",
		Details: "Decodes and validates FILE (with $PANTAU_SECRET, $PANTAU_ADMIN_TOKEN and $PANTAU_INFLUX_TOKEN laid over it, as serve does),\n" +
			"then builds what serve builds from it: the token verifier, the InfluxDB client (not contacted), the orders of orders_dir,\n" +
			"the alerts, the probe list, the GeoIP database, the control handler and the TLS pair. Nothing is written, nothing is listened on.\n" +
			"Prints ok (exit 0), or each problem as FILE:LINE: field: what (exit 1).",
		Examples: []string{"collector check-config --config /etc/pantau/collector.yaml"},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			path := fs.String("config", "", "collector config `FILE` to check (keys in docs/collector-config.md)")
			return func(context.Context, []string) error { return checkConfig(*path, e) }
		},
	}
}

// checkConfig prints ok, or the problems of the config at path on stderr and an error.
func checkConfig(path string, e env) error {
	if path == "" {
		return usageError("--config is required")
	}
	own, found := configProblems(path, e.getenv)
	return cmdline.ReportCheck(path, own, found, e.stdout, e.stderr)
}

// configProblems returns the problems of the config at path: the file's own (decoding
// and validation), or, when it decodes, those of what serve builds from it, each at the
// line of its key.
func configProblems(path string, getenv func(string) string) ([]string, []cmdline.Problem) {
	cfg, err := config.Load(path, getenv)
	if err != nil {
		return strings.Split(err.Error(), "\n"), nil
	}
	// A second decoding, of a valid file, only to locate the start-up's problems.
	b, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}, nil
	}
	f := yamlconf.NewFile(path)
	f.Decode(b, config.Default())
	var found []cmdline.Problem
	for _, p := range startProblems(cfg) {
		// Problems joined (an orders file's) are one a line, each located.
		for _, line := range strings.Split(p.err.Error(), "\n") {
			if p.field == "" {
				found = append(found, cmdline.Problem{Text: fmt.Sprintf("%s: %s", path, line)})
			} else {
				found = append(found, cmdline.Problem{Line: f.Line(p.field), Text: f.At(p.field, errors.New(line)).Error()})
			}
		}
	}
	return nil, found
}

// fieldError is a start-up problem with the config key it is about ("": the file).
type fieldError struct {
	field string
	err   error
}

// startProblems builds, and drops, what serve builds from cfg before it listens, and
// returns what fails.
func startProblems(cfg *config.Config) []fieldError {
	var out []fieldError
	add := func(field string, err error) {
		if err != nil {
			out = append(out, fieldError{field, err})
		}
	}
	log := slog.New(slog.DiscardHandler)
	_, err := auth.NewVerifier([]byte(cfg.Secret), cfg.Revoked)
	add("", err)
	st, err := store.New(store.Config{URL: cfg.Influx.URL, Org: cfg.Influx.Org, Bucket: cfg.Influx.Bucket, Token: cfg.Influx.Token, Timeout: cfg.Influx.Timeout.Duration}, log)
	if err != nil {
		return append(out, fieldError{"influx", err})
	}
	defer st.Close()
	svc, err := report.New(report.Config{Source: st, OrdersDir: cfg.OrdersDir, Params: cfg.TimelineParams()}, log)
	if err != nil {
		return append(out, fieldError{"orders_dir", err})
	}
	for i, id := range cfg.Alerts.Orders {
		if _, ok := svc.Order(id); !ok {
			add(fmt.Sprintf("alerts.orders[%d]", i), fmt.Errorf("no order %q (orders_dir %q and the seeds)", id, cfg.OrdersDir))
		}
	}
	if cfg.Alerts.Enabled() {
		_, err := alert.New(cfg.Alerts, svc, log)
		add("alerts", err)
	}
	_, err = fleet.New(cfg.Probes, st, nil)
	add("probes", err)
	if cfg.GeoIP != "" {
		db, err := geo.Open(cfg.GeoIP)
		if err == nil {
			db.Close()
		}
		add("geoip_mmdb", err)
	}
	if cfg.Control.Enabled {
		_, err := controlHandler(cfg, log)
		add("control", err)
	}
	if cfg.TLS.Cert != "" {
		_, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
		add("tls.cert", err)
	}
	return out
}
