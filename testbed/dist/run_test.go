//go:build dist

package dist

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// emulator is how a Linux release runs here: natively for amd64, else under Debian's
// qemu-user-static (scripts/apt-need installs it for `make dist-check`) on a CPU no
// richer than the release promises: an ARM1176 (ARMv6, the first Raspberry Pi) for
// armv6, and a MIPS 24Kc, which has no FPU, for the softfloat MIPS builds.
type emu struct {
	argv []string // the emulator and its flags; none: run natively
	env  []string // added to the environment
}

var emulator = map[string]emu{
	"linux_amd64": {},
	// qemu-i386 7.2 (Debian 12) delivers signals to 386 Go programs on a broken stack:
	// every Go program, hello world included, dies at random ("morestack on gsignal",
	// "bad g in signal handler") once the scheduler preempts with signals. Preemption
	// by signal is off for this emulator only; real 386 machines are not affected.
	"linux_386":    {argv: []string{"qemu-i386-static"}, env: []string{"GODEBUG=asyncpreemptoff=1"}},
	"linux_arm64":  {argv: []string{"qemu-aarch64-static"}},
	"linux_armv6":  {argv: []string{"qemu-arm-static", "-cpu", "arm1176"}},
	"linux_armv7":  {argv: []string{"qemu-arm-static", "-cpu", "cortex-a7"}},
	"linux_mipsle": {argv: []string{"qemu-mipsel-static", "-cpu", "24Kc"}},
	"linux_mips":   {argv: []string{"qemu-mips-static", "-cpu", "24Kc"}},
}

// command is the release file run with args, under its emulator.
func command(ctx context.Context, t *testing.T, path, suffix string, args ...string) *exec.Cmd {
	t.Helper()
	e, ok := emulator[suffix]
	if !ok {
		t.Fatalf("no emulator known for %s", suffix)
	}
	argv := append(append(append([]string{}, e.argv...), path), args...)
	if _, err := exec.LookPath(argv[0]); err != nil {
		t.Fatalf("%s: %v (Debian package qemu-user-static; make dist-check installs it)", argv[0], err)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), e.env...)
	return cmd
}

// TestReleasesRun: every Linux release prints its version, and every probe measures a
// loopback lab — a name resolved by a local DNS server and fetched over HTTP, and an
// HTTPS server whose certificate the probe must read through a full TLS handshake — so
// DNS packing, sockets, TLS and hashing are exercised on each architecture.
func TestReleasesRun(t *testing.T) {
	_, version := sums(t)
	l := startLab(t)
	for _, a := range releases {
		if a.goos != "linux" {
			continue
		}
		name := a.name(version)
		path := filepath.Join(distDir, name)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			out, err := command(ctx, t, path, a.suffix, "version").CombinedOutput()
			if want := fmt.Sprintf("pantau %s %s\n", a.cmd, version); err != nil || string(out) != want {
				t.Fatalf("version: %q, %v; want %q", out, err, want)
			}
			if a.cmd == "probe" {
				checkMeasure(t, command(ctx, t, path, a.suffix, l.measureArgs()...), l)
			}
		})
	}
}

// checkMeasure runs `probe measure` of the lab's two targets and checks what it saw.
func checkMeasure(t *testing.T, cmd *exec.Cmd, l *lab) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("probe measure: %v\nstderr: %s", err, stderr.String())
	}
	t.Logf("probe measure took %v", time.Since(start).Round(time.Millisecond))
	got := map[string]measurement.Measurement{}
	for _, line := range bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n")) {
		var m measurement.Measurement
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		got[m.Target] = m
	}
	web, ok := got[l.webTarget()]
	if !ok {
		t.Fatalf("no measurement of %s in %s", l.webTarget(), stdout.String())
	}
	if addrs := dnsAddrs(web); addrs != "127.0.0.1" {
		t.Errorf("%s: DNS answers %q, want 127.0.0.1 from the lab's resolver; dns: %+v", web.Target, addrs, web.DNS)
	}
	if len(web.HTTP) != 1 || web.HTTP[0].Status != 200 || web.HTTP[0].BodySHA256 != l.pageSHA256 || web.HTTP[0].Title != pageTitle {
		t.Errorf("%s: http %+v, want one 200 with the page's sha256 %s and title %q", web.Target, web.HTTP, l.pageSHA256, pageTitle)
	}
	tlsM, ok := got[l.tlsTarget()]
	if !ok {
		t.Fatalf("no measurement of %s in %s", l.tlsTarget(), stdout.String())
	}
	if len(tlsM.TLS) == 0 || len(tlsM.TLS[0].Certificates) == 0 || tlsM.TLS[0].Certificates[0].SHA256 != l.certSHA256 {
		t.Errorf("%s: tls %+v, want the handshake to have read the server's certificate %s", tlsM.Target, tlsM.TLS, l.certSHA256)
	}
}

// dnsAddrs is the A answers of a measurement's DNS queries, comma separated and unique.
func dnsAddrs(m measurement.Measurement) string {
	var out []string
	seen := map[string]bool{}
	for _, q := range m.DNS {
		for _, a := range q.Addrs() {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return strings.Join(out, ",")
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// measureArgs: only the lab's resolver, loopback declared public (it is the lab), no
// whoami lookup and no control helper, so nothing leaves the machine.
func (l *lab) measureArgs() []string {
	return []string{"measure", "--system-resolver", l.dnsAddr, "--lab-cidr", "127.0.0.0/8", "--whoami", "-",
		"--dns-wait", "0s", l.webTarget(), l.tlsTarget()}
}

func (l *lab) webTarget() string { return "http://dist.pantau.test:" + strconv.Itoa(l.httpPort) + "/" }
func (l *lab) tlsTarget() string { return "https://127.0.0.1:" + strconv.Itoa(l.tlsPort) + "/" }
