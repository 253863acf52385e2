package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/yamlconf"
	"github.com/pantau-dev/pantau/probe/config"
	"github.com/pantau-dev/pantau/schedules"
)

// checkConfigCommand is `probe check-config`: load a config as `probe run` does at start,
// and say whether it would start.
func checkConfigCommand(s streams) *cmdline.Command {
	return &cmdline.Command{
		Name:    "check-config",
		Summary: "check a config file as the probe loads it at start, without starting",
		Usage:   "--config FILE",
		Details: "Decodes and validates FILE, then opens what it names (resolv_conf, fingerprints, asn_db, token and CA files,\n" +
			"agent.schedules_dir) as `probe run` does at start, without creating the state directory or using the network.\n" +
			"Prints ok (exit 0), or each problem as FILE:LINE: field: what (exit 1).",
		Examples: []string{"probe check-config --config /etc/pantau/probe.yaml"},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			path := fs.String("config", "", "YAML config `FILE` to check (keys in docs/probe-config.md)")
			return func(context.Context, []string) error { return checkConfig(*path, s.stdout, s.stderr) }
		},
	}
}

// checkConfig prints ok, or the problems of the config at path on stderr and an error.
func checkConfig(path string, stdout, stderr io.Writer) error {
	if path == "" {
		return usageError("--config is required")
	}
	own, found := configProblems(path)
	return cmdline.ReportCheck(path, own, found, stdout, stderr)
}

// configProblems returns the problems of the config at path as the probe finds them at
// start: the file's own (decoding and validation), or, when it decodes, what the
// start-up makes of the files it names, each at the line of its key.
func configProblems(path string) ([]string, []cmdline.Problem) {
	c, err := config.Load(path)
	if err != nil {
		return strings.Split(err.Error(), "\n"), nil
	}
	// A second decoding, of a valid file, only to locate the start-up's problems.
	b, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}, nil
	}
	f := yamlconf.NewFile(path)
	f.Decode(b, &config.Config{})
	var found []cmdline.Problem
	add := func(err error) {
		if err != nil {
			found = append(found, locateStartError(f, err))
		}
	}
	log := slog.New(slog.DiscardHandler)
	_, err = engineConfig(c, "pantau-probe")
	add(err)
	_, token, err := newUplink(c, log)
	add(err)
	if len(c.Controls) > 0 {
		opts, err := controlOptions(c, c.Agent.Collector, token)
		add(err)
		if err == nil {
			_, err = control.NewClient(c.Controls, nil, 30*time.Second, log, opts...)
			add(errorPrefix("controls", err))
		}
	}
	if dir := c.Agent.SchedulesDir; dir != "" {
		if _, err := os.Stat(dir); err != nil {
			add(errorPrefix("agent.schedules_dir", err))
		} else {
			_, err := schedules.Load(os.DirFS(dir))
			add(errorPrefix("agent.schedules_dir", err))
		}
	}
	return nil, found
}

// errorPrefix returns err prefixed with field ("FIELD: err"), or nil.
func errorPrefix(field string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", field, err)
}

// startFields are the start-up's error prefixes (some name the command-line flag that
// overrides the key) and the config key each is about.
var startFields = []struct{ prefix, field string }{
	{"--fingerprints: ", "fingerprints"},
	{"--asn-db: ", "asn_db"},
	{"system resolvers: ", "resolv_conf"},
	{"agent.token_file: ", "agent.token_file"},
	{"agent.collector_ca: ", "agent.collector_ca"},
	{"agent.schedules_dir: ", "agent.schedules_dir"},
	{"agent: ", "agent.collector"},
	{"control_token_file: ", "control_token_file"},
	{"controls: ", "controls"},
}

// locateStartError returns a start-up error as "FILE:LINE: field: what", at the line of
// the key it is about (or of the mapping that would hold it).
func locateStartError(f *yamlconf.File, err error) cmdline.Problem {
	msg := strings.TrimPrefix(err.Error(), cmdline.ErrUsage.Error()+": ")
	for _, s := range startFields {
		if rest, ok := strings.CutPrefix(msg, s.prefix); ok {
			rest = strings.TrimPrefix(rest, s.field+": ") // said once is enough
			rest = strings.Replace(rest, "(give --system-resolver)", "(or set system_resolvers)", 1)
			return cmdline.Problem{Line: f.Line(s.field), Text: f.At(s.field, errors.New(rest)).Error()}
		}
	}
	return cmdline.Problem{Text: f.Name() + ": " + msg}
}
