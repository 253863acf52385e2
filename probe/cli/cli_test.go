package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/measurement"
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
		{[]string{"measure", "--resolver", "x://y", "t.me"}, "probe measure: resolvers[0]: resolver \"x://y\": unsupported scheme \"x\" (want udp, tcp, tls or https)\n"},
		{[]string{"measure", "--lab-cidr", "10.0.0.0/40", "t.me"}, "probe measure: lab_cidrs[0]: lab CIDR \"10.0.0.0/40\": not an address prefix like 10.77.0.0/16\n"},
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

// TestMeasureJSONAndTable runs `probe measure` against a real DNS server and web server
// on loopback and checks both output formats.
func TestMeasureJSONAndTable(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		switch q := r.Question[0]; {
		case q.Name == "gone.test.":
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeA:
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(127, 0, 0, 1)}}
		}
		_ = w.WriteMsg(m)
	})
	dsrv := &dns.Server{PacketConn: pc, Handler: mux}
	go func() { _ = dsrv.ActivateAndServe() }()
	defer dsrv.Shutdown()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hsrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<title>Hello</title>"))
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hsrv.Serve(ln) }()
	defer hsrv.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	site := "http://site.test:" + itoa(port) + "/"
	gone := "http://gone.test:" + itoa(port) + "/"
	common := []string{"measure", "--system-resolver", pc.LocalAddr().String(), "--lab-cidr", "127.0.0.0/8", "--whoami", "-", "--dns-wait", "0", "--timeout", "10s"}

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

func itoa(i int) string { return strconv.Itoa(i) }
