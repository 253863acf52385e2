// Package cli is the collector's command line: `serve`, `token` (issue, list, revoke) and `query`. Exit
// codes: 0 done, 2 usage or configuration error, 1 a failure while running. The
// subcommand table, the help and the version are internal/cmdline's, shared with the
// probe.
package cli

import (
	"context"
	"io"

	"github.com/pantau-dev/pantau/internal/cmdline"
)

// env is where the commands write and how they read the environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// Main runs the command in args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return cmdline.Main(ctx, program(env{stdout: stdout, stderr: stderr, getenv: getenv}), args, stdout, stderr)
}

// program is the collector's table of commands.
func program(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:     "collector",
		Summary:  "receive measurements from probes into InfluxDB and serve them back; issue probe tokens; query a running collector",
		Commands: []*cmdline.Command{serveCommand(e), tokenCommand(e), queryCommand(e), checkConfigCommand(e), evidenceCommand(e), demoCommand(e), importCommand(e)},
		Examples: []string{
			"collector serve --config /etc/pantau/collector.yaml",
			"collector query changes --url https://collector.example.org --since 7d",
		},
	}
}

// usageError is a usage error (exit 2) with the formatted message.
func usageError(format string, a ...any) error { return cmdline.Usagef(format, a...) }
