package cmdline

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"strings"
)

// usageLine is "usage: PATH USAGE".
func (c *Command) usageLine(path string) string {
	u := c.Usage
	switch {
	case u != "":
	case c.Setup == nil:
		u = "<command> [flags]"
	default:
		u = "[flags]"
	}
	return "usage: " + path + " " + u
}

// writeHelp writes the whole help of c: the usage line, the summary, the details, the
// subcommands or the flags, and the examples.
func (c *Command) writeHelp(w io.Writer, path string) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "%s\n\n%s\n", c.usageLine(path), c.Summary)
	if c.Details != "" {
		fmt.Fprintf(b, "\n%s\n", strings.TrimSpace(c.Details))
	}
	if c.Setup == nil {
		c.writeCommands(b, path)
	} else {
		fs := newFlagSet(path)
		c.Setup(fs)
		writeFlags(b, fs)
	}
	if len(c.Examples) > 0 {
		fmt.Fprintf(b, "\nexamples:\n")
		for _, e := range c.Examples {
			fmt.Fprintf(b, "  %s\n", e)
		}
	}
	return b.Flush()
}

// writeShortUsage writes the usage line and where the rest is, after an error.
func (c *Command) writeShortUsage(w io.Writer, path string) {
	fmt.Fprintf(w, "%s\nRun '%s --help' for the flags and examples.\n", c.usageLine(path), path)
}

// writeCommands lists a group's subcommands with their summaries.
func (c *Command) writeCommands(w io.Writer, path string) {
	width := 0
	for _, sub := range c.Commands {
		width = max(width, len(sub.Name))
	}
	fmt.Fprintf(w, "\ncommands:\n")
	for _, sub := range c.Commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, sub.Name, sub.Summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for the flags and examples of a command.\n", path)
}

// writeFlags lists the flags in name order: "--name ARG" (one-letter flags "-f ARG"; ARG
// is the word in backquotes in the flag's usage, else its type), then
// the description on the next line. A default is shown when it means something: not when
// it is the zero value, and not when the description says the default itself (a flag whose
// default comes from the config file holds an internal "unset" value).
func writeFlags(w io.Writer, fs *flag.FlagSet) {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "\nflags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		line := "  " + dash + f.Name
		if arg != "" {
			line += " " + strings.ToUpper(arg)
		}
		if showDefault(f.DefValue, usage) {
			usage += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "%s\n        %s\n", line, usage)
	})
}

// showDefault says whether a flag's default is worth printing.
func showDefault(def, usage string) bool {
	switch def {
	case "", "0", "0s", "false":
		return false
	}
	return !strings.Contains(usage, "(default")
}
