// Package cmdline is the command-line machinery the probe and the collector share: a
// table of subcommands, help printed in one style (a usage line, a one-line description,
// the flags and examples), the version, and the exit codes: 0 done, 1 a failure while
// running, 2 a usage error.
//
// Help asked for (-h, --help, `PROG help COMMAND`) goes to stdout and exits 0. An unknown
// command or a bad flag is named on stderr, followed by the usage, and exits 2.
package cmdline

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
)

// Version is the release both programs report, set at build time with
// -ldflags "-X github.com/pantau-dev/pantau/internal/cmdline.Version=v1.2.3".
var Version = "dev"

// ErrUsage marks errors that are the caller's (a bad flag value, a missing argument):
// they exit with 2.
var ErrUsage = errors.New("usage")

// Usagef returns a usage error with the formatted message.
func Usagef(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, a...))
}

// Runner runs a command once its flags are parsed; args are the positional arguments.
type Runner func(ctx context.Context, args []string) error

// Command is a subcommand, or a group of subcommands (`collector query`), or, at the root,
// the program itself.
type Command struct {
	Name    string // "measure"; at the root, the program's name
	Summary string // one line: what the command does
	// Usage is what follows the command's path on the usage line, e.g. "[flags] TARGET...".
	// Empty: "[flags]" (a group: "<command> [flags]").
	Usage string
	// Details is an optional paragraph printed after the summary (e.g. what a TARGET is).
	Details  string
	Examples []string // whole command lines, at least one
	Args     bool     // takes positional arguments; without it one is a usage error
	// Setup registers the command's flags on fs and returns the function that runs it.
	// It is also called to print the help, so it must do nothing else.
	Setup func(fs *flag.FlagSet) Runner
	// Commands are the subcommands of a group; a group has no Setup.
	Commands []*Command
}

// Main runs the command that args name under the program root and returns the exit code.
// Besides root's commands, `version` (also --version) and `help [COMMAND...]` are there.
func Main(ctx context.Context, root *Command, args []string, stdout, stderr io.Writer) int {
	r := *root
	r.Commands = append(slices.Clip(root.Commands), builtins(&r, stdout)...)
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = []string{"version"}
	}
	return run(ctx, &r, r.Name, args, stdout, stderr)
}

// builtins are the commands every program has. `version` prints "pantau NAME VERSION".
func builtins(root *Command, stdout io.Writer) []*Command {
	helpExamples := []string{root.Name + " help"}
	if len(root.Commands) > 0 {
		helpExamples = append(helpExamples, root.Name+" help "+root.Commands[0].Name)
	}
	return []*Command{
		{
			Name: "version", Summary: "print the version",
			Examples: []string{root.Name + " version", root.Name + " --version"},
			Setup: func(*flag.FlagSet) Runner {
				return func(context.Context, []string) error {
					_, err := fmt.Fprintf(stdout, "pantau %s %s\n", root.Name, Version)
					return err
				}
			},
		},
		{
			Name: "help", Summary: "print the help of a command", Usage: "[COMMAND...]", Args: true,
			Examples: helpExamples,
			Setup: func(*flag.FlagSet) Runner {
				return func(_ context.Context, args []string) error {
					c, path := root, root.Name
					for _, a := range args {
						sub := c.find(a)
						if sub == nil {
							return Usagef("unknown command %q", path+" "+a)
						}
						c, path = sub, path+" "+a
					}
					return c.writeHelp(stdout, path)
				}
			},
		},
	}
}

// run dispatches args to c, whose full name is path.
func run(ctx context.Context, c *Command, path string, args []string, stdout, stderr io.Writer) int {
	if c.Setup == nil {
		return runGroup(ctx, c, path, args, stdout, stderr)
	}
	fs := newFlagSet(path)
	runner := c.Setup(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exit(c.writeHelp(stdout, path), path, stderr)
		}
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		c.writeShortUsage(stderr, path)
		return 2
	}
	if !c.Args && fs.NArg() > 0 {
		return exit(Usagef("unexpected argument %q", fs.Arg(0)), path, stderr)
	}
	return exit(runner(ctx, fs.Args()), path, stderr)
}

// runGroup dispatches to a subcommand of the group c. Without one, the group's help goes
// to stderr.
func runGroup(ctx context.Context, c *Command, path string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		_ = c.writeHelp(stderr, path)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		return exit(c.writeHelp(stdout, path), path, stderr)
	}
	sub := c.find(args[0])
	if sub == nil {
		fmt.Fprintf(stderr, "%s: unknown command %q\n", path, args[0])
		_ = c.writeHelp(stderr, path)
		return 2
	}
	return run(ctx, sub, path+" "+sub.Name, args[1:], stdout, stderr)
}

// exit reports err on stderr, prefixed with the command's path, and returns the exit code.
func exit(err error, path string, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(stderr, "%s: %s\n", path, strings.TrimPrefix(err.Error(), ErrUsage.Error()+": "))
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return 1
	}
}

// newFlagSet returns a flag set that prints nothing itself: the help and the errors are
// printed by run.
func newFlagSet(path string) *flag.FlagSet {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// find returns the subcommand called name, or nil.
func (c *Command) find(name string) *Command {
	for _, sub := range c.Commands {
		if sub.Name == name {
			return sub
		}
	}
	return nil
}

// NewLogger returns a text logger writing to w at level (--log-level: debug, info, warn
// or error); another level is a usage error.
func NewLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, Usagef("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
