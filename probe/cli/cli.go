// Package cli is the probe's command line: it parses flags and the config file, builds
// the engine and runs one subcommand. Exit codes: 0 done, 2 usage error, 1 a failure to
// start (e.g. a port in use). Measurements that fail are output, not errors.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Version is set at build time with -ldflags "-X github.com/pantau-dev/pantau/probe/cli.Version=…".
var Version = "dev"

const usage = `usage: probe <command> [flags]

commands:
  measure   measure targets now and print one JSON object (or table row) per target
  run       run the schedules on cron, spool, submit to the collector (--config probe.yaml)
  once      run one schedule now and submit it (--schedule NAME)
  status    print the schedules, next runs, spool depth and last submission
  helper    serve the control API for other probes
  version   print the version

Run 'probe <command> -h' for the flags of a command.
`

// errUsage marks errors that are the caller's: they exit with 2.
var errUsage = errors.New("usage")

// usageError wraps a message as a usage error.
func usageError(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

// Main runs the command in args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "measure":
		err = measureCmd(ctx, args[1:], stdout, stderr)
	case "run":
		err = runCmd(ctx, args[1:], stderr)
	case "once":
		err = onceCmd(ctx, args[1:], stdout, stderr)
	case "status":
		err = statusCmd(args[1:], stdout, stderr)
	case "helper":
		err = helperCmd(ctx, args[1:], stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "pantau probe", Version)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "probe: unknown command %q\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "probe %s: %s\n", args[0], strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		return 2
	default:
		fmt.Fprintf(stderr, "probe %s: %v\n", args[0], err)
		return 1
	}
}

// logger writes text logs to w at the given level.
func logger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }
