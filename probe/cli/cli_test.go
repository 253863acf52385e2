package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/testdns"
)

func runMain(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestUsageErrors checks that bad input exits 2 with a message naming the flag, target or
// line.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage: probe <command>"},
		{[]string{"frobnicate"}, `probe: unknown command "frobnicate"`},
		{[]string{"measure"}, "probe measure: no targets: give TARGET arguments or -f FILE\n"},
		{[]string{"measure", "--format", "xml", "t.me"}, "probe measure: --format \"xml\": want json or table\n"},
		{[]string{"measure", "--concurrency", "-3", "t.me"}, "probe measure: --concurrency -3: must be positive\n"},
		{[]string{"measure", "--bogus", "t.me"}, "probe measure: flag provided but not defined: -bogus\n"},
		{[]string{"measure", "ftp://x.org/"}, "probe measure: target \"ftp://x.org/\": unsupported scheme \"ftp\" (want http, https or tcp)\n"},
		{[]string{"measure", "-f", "testdata/bad.txt"}, "probe measure: -f: testdata/bad.txt:3: target \"ftp://bad.example/\": unsupported scheme \"ftp\" (want http, https or tcp)\n"},
		{[]string{"measure", "--resolver", "x://y", "t.me"}, "probe measure: --resolver: resolver \"x://y\": unsupported scheme \"x\" (want udp, tcp, tls or https)\n"},
		{[]string{"measure", "--lab-cidr", "10.0.0.0/40", "t.me"}, "probe measure: --lab-cidr: \"10.0.0.0/40\" is not an address prefix (want e.g. 10.77.0.0/16)\n"},
		{[]string{"measure", "--control", "helper.example", "--system-resolver", "127.0.0.1", "t.me"}, "probe measure: --control: control URL \"helper.example\": scheme \"\": want http or https\n"},
		{[]string{"measure", "--config", "testdata/missing.yml", "t.me"}, "probe measure: --config: config: open testdata/missing.yml: no such file or directory\n"},
		{[]string{"measure", "--fingerprints", "testdata/missing.csv", "--system-resolver", "127.0.0.1", "t.me"}, "probe measure: --fingerprints: "},
		{[]string{"helper", "extra"}, "probe helper: unexpected argument \"extra\"\n"},
	}
	for _, tc := range tests {
		code, _, stderr := runMain(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("probe %v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// lab starts a real DNS server and web server on loopback and returns the common flags of
// `probe measure` against them and two targets: one that loads, one whose name does not
// exist.
func lab(t *testing.T) (common []string, site, gone string) {
	t.Helper()
	dnsAddr := testdns.Start(t, testdns.Zone{
		Default: []string{"127.0.0.1"},
		Rcodes:  map[string]int{"gone.test": dns.RcodeNameError},
		TTL:     5,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hsrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<title>Hello</title>"))
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hsrv.Serve(ln) }()
	t.Cleanup(func() { _ = hsrv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	site = "http://site.test:" + itoa(port) + "/"
	gone = "http://gone.test:" + itoa(port) + "/"
	common = []string{"measure", "--system-resolver", dnsAddr, "--lab-cidr", "127.0.0.0/8", "--whoami", "-", "--dns-wait", "0", "--timeout", "10s"}
	return common, site, gone
}

// TestMeasureJSONAndTable runs `probe measure` against a real DNS server and web server
// on loopback and checks both output formats.
func TestMeasureJSONAndTable(t *testing.T) {
	common, site, gone := lab(t)
	code, stdout, stderr := runMain(append(common, site, gone)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 JSON lines, got %q", stdout)
	}
	ids := map[string]bool{}
	for _, l := range lines {
		var m measurement.Measurement
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if err := m.Validate(time.Now()); err != nil {
			t.Errorf("%s: %v", m.Target, err)
		}
		ids[m.ID] = true
		// No control was given: inconclusive, with the raw observations recorded.
		if m.Verdict.Status != measurement.StatusInconclusive || m.Control != nil || len(m.DNS) != 2 {
			t.Errorf("%s: %+v", m.Target, m)
		}
		if m.Target == site && (len(m.HTTP) != 1 || m.HTTP[0].Title != "Hello" || m.HTTP[0].Status != 200) {
			t.Errorf("site fetch: %+v", m.HTTP)
		}
		if m.Target == gone && (m.DNS[0].Failure == nil || *m.DNS[0].Failure != "dns_nxdomain_error") {
			t.Errorf("gone: %+v", m.DNS)
		}
	}
	if len(ids) != 2 {
		t.Errorf("IDs not unique: %v", ids)
	}

	code, stdout, stderr = runMain(append(common, "--format", "table", gone, site)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "TARGET") || !strings.HasPrefix(rows[1], gone) || !strings.HasPrefix(rows[2], site) {
		t.Fatalf("table rows not in target order:\n%s", stdout)
	}
	if col := strings.Index(rows[0], "STATUS"); rows[1][col:col+12] != "inconclusive" {
		t.Errorf("STATUS column misaligned:\n%s", stdout)
	}
}

// TestMeasureProgress checks what `probe measure` writes on stderr, with stderr a terminal
// or not: a progress line and a summary for the table on a terminal, only the summary
// elsewhere, and nothing beside the JSON lines.
func TestMeasureProgress(t *testing.T) {
	common, site, gone := lab(t)
	const summary = `probe measure: 2 targets in [0-9.]+m?s: 0 accessible, 0 blocked, 0 down, 2 inconclusive\n`
	for _, tc := range []struct {
		name   string
		format string
		tty    bool
		stderr string // a regular expression
	}{
		{"table on a terminal", "table", true, `^\rprobe measure: 0/2 targets, 0s elapsed\x1b\[K(\rprobe measure: [0-2]/2 targets, [0-9.]+m?s elapsed\x1b\[K)*\r\x1b\[K` + summary + `$`},
		{"table elsewhere", "table", false, `^` + summary + `$`},
		{"json on a terminal", "json", true, `^$`},
		{"json elsewhere", "json", false, `^$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			s := streams{stdout: &stdout, stderr: &stderr, tty: tc.tty}
			code := cmdline.Main(context.Background(), program(s), append(common, "--format", tc.format, site, gone), &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if !regexp.MustCompile(tc.stderr).MatchString(stderr.String()) {
				t.Errorf("stderr %q does not match %q", stderr.String(), tc.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
			if tc.format == "table" {
				if len(lines) != 3 || !strings.HasPrefix(lines[0], "TARGET") {
					t.Errorf("stdout:\n%s", stdout.String())
				}
				return
			}
			if len(lines) != 2 {
				t.Fatalf("want 2 JSON lines, got %q", stdout.String())
			}
			for _, l := range lines {
				var m measurement.Measurement
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Errorf("%q: %v", l, err)
				}
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
