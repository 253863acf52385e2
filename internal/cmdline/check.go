package cmdline

import (
	"fmt"
	"io"
	"slices"
)

// Problem is one problem a check-config command found, at a line of the file (0: the
// whole file), as the text to print.
type Problem struct {
	Line int
	Text string
}

// ReportCheck ends a check-config command: "ok" on stdout when the file has no problem,
// else each problem on stderr (first the file's own, in its order, then the others by
// line) and an error counting them.
func ReportCheck(path string, own []string, found []Problem, stdout, stderr io.Writer) error {
	slices.SortStableFunc(found, func(a, b Problem) int { return a.Line - b.Line })
	problems := slices.Clone(own)
	for _, p := range found {
		problems = append(problems, p.Text)
	}
	if len(problems) == 0 {
		fmt.Fprintln(stdout, "ok")
		return nil
	}
	for _, p := range problems {
		fmt.Fprintln(stderr, p)
	}
	return fmt.Errorf("%s: %d problem(s)", path, len(problems))
}
