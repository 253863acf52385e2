package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// TestImportOONI imports the ooni package's fixtures (a directory: JSONL files and a
// gzip one) into a real InfluxDB, after two of their lines, and twice: the first run
// stores each measurement not stored yet, the second none again; the bad lines are
// reported with their file and line number while the rest is stored; the stored
// measurements are the ooni/AS… probes' on the fleet's network names, with OONI's
// provenance.
func TestImportOONI(t *testing.T) {
	influx, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	cfg := writeConfig(t, fmt.Sprintf("secret: %s\ninflux: {url: %s, bucket: %s}\n", secret, influx, bucket))
	dir := filepath.Join("..", "ooni", "testdata")
	jsonl := filepath.Join(dir, "webconnectivity.jsonl")
	badLines := []string{
		"collector import ooni: " + jsonl + ":7: not valid JSON at byte 86",
		"collector import ooni: " + jsonl + ":8: report_id: missing",
	}
	// The first two lines first: the first import of the directory then writes batches
	// of stored and new measurements, and counts each exactly.
	b, err := os.ReadFile(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(t.TempDir(), "part.jsonl")
	if err := os.WriteFile(part, []byte(strings.Join(strings.SplitAfter(string(b), "\n")[:2], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, env(nil), "import", "ooni", "--config", cfg, part)
	if code != 0 || !strings.HasSuffix(out, ": 2 read, 2 stored, 0 already stored, 0 skipped (not web_connectivity), 0 bad\n") || errOut != "" {
		t.Errorf("part: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	const prefix = "collector import ooni: 3 files in "
	for i, want := range []string{
		": 14 read, 9 stored, 2 already stored, 1 skipped (not web_connectivity), 2 bad\n",
		": 14 read, 0 stored, 11 already stored, 1 skipped (not web_connectivity), 2 bad\n",
	} {
		code, out, errOut := run(t, env(nil), "import", "ooni", "--config", cfg, dir)
		if code != 1 || !strings.HasPrefix(out, prefix) || !strings.HasSuffix(out, want) {
			t.Errorf("run %d: exit %d, stdout %q, want %q…%q", i+1, code, out, prefix, want)
		}
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], badLines[0]) || lines[1] != badLines[1] ||
			lines[2] != "collector import ooni: 2 bad lines (reported above)" {
			t.Errorf("run %d: stderr %q", i+1, errOut)
		}
	}
	if n := influxtest.Count(t, influx, strings.Split(bucket, "/")[0], store.Reach, "id"); n != 11 {
		t.Errorf("%d reach points, want 11", n)
	}
	st, err := store.New(store.Config{URL: influx, Bucket: bucket}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, _, err := st.Measurements(context.Background(), store.Filter{Network: "Telkom Indonesia",
		From: time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, sm := range got {
		m := sm.Measurement
		if m.Source != measurement.SourceOONI || m.Provenance == nil || sm.Probe.Probe != "ooni/"+m.Provenance.ProbeASN || sm.Probe.Country != "ID" {
			t.Errorf("%s: stored as %+v, source %q, provenance %+v", m.Target, sm.Probe, m.Source, m.Provenance)
			continue
		}
		seen = append(seen, fmt.Sprintf("%s %s %s/%s ooni:%s", sm.Probe.Probe, m.Domain, m.Verdict.Status, m.Verdict.Method, m.Provenance.OONIBlocking))
	}
	want := []string{
		"ooni/AS7713 www.example.org blocked/tls ooni:http-failure",
		"ooni/AS7713 www.example.org blocked/http ooni:http-failure",
		"ooni/AS7713 www.example.org blocked/tls ooni:http-failure",
		"ooni/AS7713 www.example.org blocked/dns ooni:dns",
		"ooni/AS7713 www.reddit.com blocked/http ooni:http-diff",
		"ooni/AS7713 web.telegram.org blocked/dns ooni:dns",
		"ooni/AS17974 example.net accessible/ ooni:false",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("Telkom Indonesia's measurements:\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	// An imported probe can be asked for by its name.
	got, _, err = st.Measurements(context.Background(), store.Filter{Probe: "ooni/AS17974",
		From: time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Limit: 10})
	if err != nil || len(got) != 1 || got[0].Probe.Probe != "ooni/AS17974" || got[0].Measurement.Domain != "example.net" {
		t.Errorf("probe ooni/AS17974: %v, %d measurements", err, len(got))
	}
	// Standard input ("-"): the first two lines again, both stored already.
	in, err := os.Open(part)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	stdin := os.Stdin
	os.Stdin = in
	defer func() { os.Stdin = stdin }()
	code, out, errOut = run(t, env(nil), "import", "ooni", "--config", cfg, "-")
	if code != 0 || !strings.HasSuffix(out, ": 2 read, 0 stored, 2 already stored, 0 skipped (not web_connectivity), 0 bad\n") || errOut != "" {
		t.Errorf("stdin: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestImportOONIErrors: usage and input errors exit 2 or 1 with the reason, before
// anything is stored.
func TestImportOONIErrors(t *testing.T) {
	cfg := writeConfig(t, "secret: "+secret+"\ninflux: {url: http://127.0.0.1:1, bucket: pantau/autogen}\n")
	nets := filepath.Join(t.TempDir(), "networks.yaml")
	if err := os.WriteFile(nets, []byte("AS7713: Telkom Indonesia\nAS7713: Telkom\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--config", cfg}, 2, "collector import ooni: give one FILE, DIR or - (standard input), got 0\n"},
		{[]string{"x.jsonl"}, 2, "collector import ooni: --config is required\n"},
		{[]string{"--config", cfg, "--networks", nets, "x.jsonl"}, 2, "collector import ooni: --networks: " + nets + ":2: AS7713: given twice (first at line 1)\n"},
		{[]string{"--config", cfg, "--max-line", "0", "x.jsonl"}, 2, "collector import ooni: --max-line 0: want a positive number of bytes\n"},
		{[]string{"--config", cfg, "/nonexistent/x.jsonl"}, 1, "collector import ooni: stat /nonexistent/x.jsonl: no such file or directory\n"},
		{[]string{"--config", cfg, empty}, 1, "collector import ooni: " + empty + ": no *.jsonl, *.jsonl.gz, *.json or *.json.gz file in it\n"},
	} {
		code, out, errOut := run(t, env(nil), append([]string{"import", "ooni"}, tc.args...)...)
		if code != tc.code || out != "" || !strings.HasPrefix(errOut, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d, %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
}
