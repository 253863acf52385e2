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
