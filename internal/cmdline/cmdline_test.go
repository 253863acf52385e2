package cmdline

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

// demo is a program with a leaf command, a group and a command that fails.
func demo(out *strings.Builder) *Command {
	return &Command{
		Name:    "demo",
		Summary: "show the command-line machinery",
		Commands: []*Command{
			{
				Name: "greet", Summary: "greet someone", Usage: "[flags] NAME...", Args: true,
				Details:  "NAME is anyone.",
				Examples: []string{"demo greet world", "demo greet --loud world"},
				Setup: func(fs *flag.FlagSet) Runner {
					loud := fs.Bool("loud", false, "shout")
					wait := fs.Duration("wait", -1, "pause this long first (default 1s)")
					times := fs.Int("times", 1, "greet `N` times")
					fs.String("f", "", "read names from `FILE`")
					fs.String("level", "warn", "`LEVEL` of the logs")
					return func(_ context.Context, args []string) error {
						if len(args) == 0 {
							return Usagef("no NAME")
						}
						if args[0] == "fail" {
							return errors.New("it failed")
						}
						for range *times {
							s := "hello " + strings.Join(args, " ")
							if *loud {
								s = strings.ToUpper(s)
							}
							out.WriteString(s + "\n")
						}
						_ = wait
						return nil
					}
				},
			},
			{
				Name: "group", Summary: "hold subcommands", Examples: []string{"demo group sub"},
				Commands: []*Command{{
					Name: "sub", Summary: "do nothing", Examples: []string{"demo group sub"},
					Setup: func(*flag.FlagSet) Runner { return func(context.Context, []string) error { return nil } },
				}},
			},
		},
	}
}

const greetHelp = `usage: demo greet [flags] NAME...

greet someone

NAME is anyone.

flags:
  -f FILE
        read names from FILE
  --level LEVEL
        LEVEL of the logs (default warn)
  --loud
        shout
  --times N
        greet N times (default 1)
  --wait DURATION
        pause this long first (default 1s)

examples:
  demo greet world
  demo greet --loud world
`

const groupHelp = `usage: demo group <command> [flags]

hold subcommands

commands:
  sub  do nothing

Run 'demo group <command> --help' for the flags and examples of a command.

examples:
  demo group sub
`

const rootHelp = `usage: demo <command> [flags]

show the command-line machinery

commands:
  greet    greet someone
  group    hold subcommands
  version  print the version
  help     print the help of a command

Run 'demo <command> --help' for the flags and examples of a command.
`

const greetShort = "usage: demo greet [flags] NAME...\nRun 'demo greet --help' for the flags and examples.\n"

func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"greet", "--times", "2", "world"}, 0, "hello world\nhello world\n", ""},
		{[]string{"greet", "--help"}, 0, greetHelp, ""},
		{[]string{"greet", "-h"}, 0, greetHelp, ""},
		{[]string{"help", "greet"}, 0, greetHelp, ""},
		{[]string{"group", "--help"}, 0, groupHelp, ""},
		{[]string{"help", "group"}, 0, groupHelp, ""},
		{[]string{"--help"}, 0, rootHelp, ""},
		{[]string{"-h"}, 0, rootHelp, ""},
		{[]string{"help"}, 0, rootHelp, ""},
		{[]string{"group", "sub", "--help"}, 0, "usage: demo group sub [flags]\n\ndo nothing\n\nexamples:\n  demo group sub\n", ""},
		{[]string{"version"}, 0, "pantau demo dev\n", ""},
		{[]string{"--version"}, 0, "pantau demo dev\n", ""},
		{[]string{"-version"}, 0, "pantau demo dev\n", ""},
		{[]string{"version", "--help"}, 0, "usage: demo version [flags]\n\nprint the version\n\nexamples:\n  demo version\n  demo --version\n", ""},
		// Usage errors: exit 2, named on stderr.
		{nil, 2, "", rootHelp},
		{[]string{"frob"}, 2, "", "demo: unknown command \"frob\"\n" + rootHelp},
		{[]string{"group"}, 2, "", groupHelp},
		{[]string{"group", "nope"}, 2, "", "demo group: unknown command \"nope\"\n" + groupHelp},
		{[]string{"greet", "--bogus", "x"}, 2, "", "demo greet: flag provided but not defined: -bogus\n" + greetShort},
		{[]string{"greet", "--times", "many", "x"}, 2, "", "demo greet: invalid value \"many\" for flag -times: parse error\n" + greetShort},
		{[]string{"greet"}, 2, "", "demo greet: no NAME\n"},
		{[]string{"group", "sub", "extra"}, 2, "", "demo group sub: unexpected argument \"extra\"\n"},
		{[]string{"help", "frob"}, 2, "", "demo help: unknown command \"demo frob\"\n"},
		// A failure while running: exit 1.
		{[]string{"greet", "fail"}, 1, "", "demo greet: it failed\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, stdout, stderr strings.Builder
			code := Main(context.Background(), demo(&out), tc.args, &stdout, &stderr)
			got := out.String() + stdout.String()
			if code != tc.code || got != tc.stdout || stderr.String() != tc.stderr {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", code, tc.code, got, tc.stdout, stderr.String(), tc.stderr)
			}
		})
	}
}

func TestNewLogger(t *testing.T) {
	var b strings.Builder
	log, err := NewLogger(&b, "info")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	log.Info("shown", "d", time.Second)
	if got := b.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "level=INFO msg=shown d=1s") {
		t.Errorf("log: %q", got)
	}
	if _, err := NewLogger(&b, "loud"); !errors.Is(err, ErrUsage) || err.Error() != `usage: --log-level "loud": want debug, info, warn or error` {
		t.Errorf("loud: %v", err)
	}
}
