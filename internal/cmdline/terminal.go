package cmdline

import (
	"io"
	"os"
	"time"
)

// IsTerminal says whether w is a terminal (a character device such as a tty), where a
// progress line rewritten in place can be shown.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Elapsed rounds d for people: tenths of a second under a minute, else seconds.
func Elapsed(d time.Duration) string {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
