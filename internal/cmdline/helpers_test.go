package cmdline

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 40 * time.Millisecond: "0s", 1249 * time.Millisecond: "1.2s", 59*time.Second + 940*time.Millisecond: "59.9s",
		61*time.Second + 600*time.Millisecond: "1m2s", 2 * time.Hour: "2h0m0s",
	} {
		if got := Elapsed(d); got != want {
			t.Errorf("Elapsed(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) || IsTerminal(&strings.Builder{}) {
		t.Error("a file or a buffer taken for a terminal")
	}
	if tty, err := os.OpenFile("/dev/null", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !IsTerminal(tty) { // a character device, as a tty is
			t.Error("a character device not taken for a terminal")
		}
	}
}

// TestReportCheck: ok when nothing is wrong; else the file's own problems in their order,
// then the others by line, on stderr, with an error counting them all.
func TestReportCheck(t *testing.T) {
	var out, errOut strings.Builder
	if err := ReportCheck("c.yaml", nil, nil, &out, &errOut); err != nil || out.String() != "ok\n" || errOut.String() != "" {
		t.Errorf("no problems: %v, %q, %q", err, out.String(), errOut.String())
	}
	out.Reset()
	found := []Problem{{7, "c.yaml:7: b"}, {0, "c.yaml: whole"}, {3, "c.yaml:3: a"}, {7, "c.yaml:7: b2"}}
	err := ReportCheck("c.yaml", []string{"own 2", "own 1"}, found, &out, &errOut)
	want := "own 2\nown 1\nc.yaml: whole\nc.yaml:3: a\nc.yaml:7: b\nc.yaml:7: b2\n"
	if err == nil || err.Error() != "c.yaml: 6 problem(s)" || out.String() != "" || errOut.String() != want {
		t.Errorf("problems: %v, stdout %q, stderr %q; want stderr %q", err, out.String(), errOut.String(), want)
	}
}
