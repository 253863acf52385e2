// Package cli is the probe's command line: it parses flags and the config file, builds
// the engine and runs one subcommand. Exit codes: 0 done, 2 usage error, 1 a failure to
// start (e.g. a port in use). Measurements that fail are output, not errors. The
// subcommand table, the help and the version are internal/cmdline's, shared with the
// collector.
package cli

import (
	"context"
	"io"
	"strings"

	"github.com/pantau-dev/pantau/internal/cmdline"
)

// streams are where the commands write, and whether stderr is a terminal (where
// `probe measure --format table` shows its progress line).
type streams struct {
	stdout, stderr io.Writer
	tty            bool
}

// Main runs the command in args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	s := streams{stdout: stdout, stderr: stderr, tty: cmdline.IsTerminal(stderr)}
	return cmdline.Main(ctx, program(s), args, stdout, stderr)
}

// program is the probe's table of commands.
func program(s streams) *cmdline.Command {
	return &cmdline.Command{
		Name:    "probe",
		Summary: "measure the reachability of targets from the network this runs on, or serve as a control vantage point",
		Commands: []*cmdline.Command{
			measureCommand(s), runCommand(s), onceCommand(s), statusCommand(s), helperCommand(s), enrollCommand(s), checkConfigCommand(s),
		},
		Examples: []string{
			"probe measure t.me https://web.telegram.org/",
			"probe run --config /etc/pantau/probe.yaml",
		},
	}
}

// usageError is a usage error (exit 2) with the formatted message.
func usageError(format string, a ...any) error { return cmdline.Usagef(format, a...) }

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }
