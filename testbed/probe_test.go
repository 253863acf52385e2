//go:build testbed

package testbed

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// controlURL is the control helper's endpoint, reached from pt-probe through the ISP.
var controlURL = "http://" + net.JoinHostPort(ctlAddr, helperPort) + "/api/v1/control"

// probeArgs runs `probe measure` with short step timeouts, the ISP's resolver as the
// system resolver (unless extra names another) and the lab's fingerprints; extra flags
// and the targets follow.
func (l *lab) probeArgs(format string, extra []string, targets []string) []string {
	args := []string{"netns", "exec", nsProbe, l.probe, "measure", "--format", format}
	if !slices.Contains(extra, "--system-resolver") {
		args = append(args, "--system-resolver", ispResolver)
	}
	args = append(args, "--lab-cidr", labCIDR,
		"--timeout", "20s", "--tcp-timeout", "2s", "--tls-timeout", "3s", "--dns-wait", "300ms",
		"--fingerprints", l.fpFile, "--log-level", "info")
	args = append(args, extra...)
	return append(args, targets...)
}

// runProbe runs the probe in pt-probe with the lab CA as SSL_CERT_FILE (its only way to
// trust the lab's certificates) and returns its standard output.
func (l *lab) runProbe(t *testing.T, format string, extra []string, targets ...string) []byte {
	t.Helper()
	cmd := exec.Command("ip", l.probeArgs(format, extra, targets)...)
	cmd.Env = append(cmd.Environ(), "SSL_CERT_FILE="+l.caFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("probe %s: %v\nstderr:\n%s\nstdout:\n%s", strings.Join(cmd.Args, " "), err, stderr.Bytes(), stdout.Bytes())
	}
	if stderr.Len() > 0 {
		t.Logf("probe stderr:\n%s", stderr.Bytes())
	}
	return stdout.Bytes()
}

// measure runs `probe measure --format json` and returns the measurements by target.
func (l *lab) measure(t *testing.T, extra []string, targets ...string) map[string]*measurement.Measurement {
	t.Helper()
	out := l.runProbe(t, "json", extra, targets...)
	got := map[string]*measurement.Measurement{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m measurement.Measurement
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("decoding %q: %v", sc.Bytes(), err)
		}
		got[m.Target] = &m
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(targets) {
		t.Fatalf("got %d measurements for %d targets:\n%s", len(got), len(targets), out)
	}
	return got
}

// scenario is one target, the verdict expected for it, and the raw observations that
// must back that verdict.
type scenario struct {
	target string
	status string
	method string
	check  func(t *testing.T, m *measurement.Measurement)
}

// judge runs the probe over the scenarios' targets at once and checks every verdict.
func (l *lab) judge(t *testing.T, extra []string, scenarios []scenario) map[string]*measurement.Measurement {
	t.Helper()
	var targets []string
	for _, s := range scenarios {
		targets = append(targets, s.target)
	}
	got := l.measure(t, extra, targets...)
	for _, s := range scenarios {
		t.Run(s.target, func(t *testing.T) {
			m := got[s.target]
			if m == nil {
				t.Fatalf("no measurement for %s", s.target)
			}
			if m.Verdict.Status != s.status || m.Verdict.Method != s.method {
				t.Errorf("verdict %s/%s (%s; evidence %q), want %s/%s", m.Verdict.Status, m.Verdict.Method,
					m.Verdict.Reason, m.Verdict.Evidence, s.status, s.method)
			}
			if s.check != nil {
				s.check(t, m)
			}
			if t.Failed() {
				b, _ := json.MarshalIndent(m, "", "  ")
				t.Logf("measurement:\n%s", b)
			}
		})
	}
	return got
}

func TestTestbed(t *testing.T) {
	l := newLab(t)
	t.Run("lab", func(t *testing.T) { testLab(t, l) })
	t.Run("probe", func(t *testing.T) {
		t.Run("with-control", func(t *testing.T) {
			t.Parallel()
			got := l.judge(t, []string{"--control", controlURL}, withControl)
			for target, m := range got {
				if m.Control == nil || m.Control.Failure != nil || m.Control.Helper == "" {
					t.Errorf("%s: control %+v, want the helper's observations", target, m.Control)
				}
				wantEgress(t, m, "udp://"+ispResolver+":53", ispOutside)
			}
		})
		t.Run("without-control", func(t *testing.T) {
			t.Parallel()
			got := l.judge(t, nil, withoutControl)
			for target, m := range got {
				if m.Control != nil {
					t.Errorf("%s: control %+v without --control", target, m.Control)
				}
			}
		})
		t.Run("hijacked-resolver", func(t *testing.T) {
			t.Parallel()
			// The subscriber configured a foreign resolver; the ISP answers in its place,
			// and whoami gives it away.
			got := l.judge(t, []string{"--control", controlURL, "--system-resolver", foreignResolver}, hijacked)
			for _, m := range got {
				wantEgress(t, m, "udp://"+foreignResolver+":53", ispOutside)
			}
		})
		t.Run("table", func(t *testing.T) {
			t.Parallel()
			testTable(t, l)
		})
		t.Run("ooni-qa", func(t *testing.T) {
			t.Parallel()
			testQA(t, l)
		})
	})
}

// wantEgress checks that the measurement's only resolver is resolver and that whoami
// saw it query from egress.
func wantEgress(t *testing.T, m *measurement.Measurement, resolver, egress string) {
	t.Helper()
	if len(m.Resolvers) != 1 {
		t.Errorf("%s: resolvers %+v, want one", m.Target, m.Resolvers)
		return
	}
	r := m.Resolvers[0]
	if r.Resolver != resolver || !r.System || r.Failure != nil || !slices.Equal(r.Egress, []string{egress}) {
		t.Errorf("%s: resolver %+v, want system %s with egress [%s]", m.Target, r, resolver, egress)
	}
}

// testTable checks the aligned table of `probe measure --format table`.
func testTable(t *testing.T, l *lab) {
	out := string(l.runProbe(t, "table", []string{"--control", controlURL}, "https://web.telegram.org/", "https://t.me/"))
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("table has %d lines, want a header and 2 rows:\n%s", len(lines), out)
	}
	header := strings.Fields(lines[0])
	if !slices.Equal(header, []string{"TARGET", "STATUS", "METHOD", "REASON"}) {
		t.Errorf("header %q", lines[0])
	}
	rows := map[string][]string{}
	for _, line := range lines[1:] {
		// Every column starts where its header starts.
		for _, col := range []string{"STATUS", "METHOD", "REASON"} {
			at := strings.Index(lines[0], col)
			if at < 1 || at >= len(line) || line[at-1] != ' ' || line[at] == ' ' {
				t.Errorf("column %s not aligned in %q (header %q)", col, line, lines[0])
			}
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			t.Fatalf("row %q has %d fields", line, len(f))
		}
		rows[f[0]] = f[1:3]
	}
	want := map[string][]string{
		"https://web.telegram.org/": {"accessible", "-"},
		"https://t.me/":             {"blocked", "dns"},
	}
	for target, w := range want {
		if !slices.Equal(rows[target], w) {
			t.Errorf("row for %s: %q, want %q\n%s", target, rows[target], w, out)
		}
	}
}
