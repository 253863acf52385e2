// Command benchooni measures `collector import ooni` at scale: it streams --mb megabytes of
// OONI Web Connectivity measurements into `collector import ooni -` (standard input) and
// reports the rate and the importer's peak RSS (goal: bounded, --max-rss-mb). The lines
// are the project's fixtures (collector/ooni/testdata), each copy under its own
// report_id, so every line is a new measurement to map, judge and store.
//
// Run it through scripts/with-influxdb (`make bench-ooni` does), which names the InfluxDB
// in PANTAU_TEST_INFLUX_URL and PANTAU_TEST_INFLUX_BUCKET. See docs/scaling.md.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(run()) }

func run() int {
	collector := flag.String("collector", "bin/collector", "the collector binary")
	mb := flag.Int("mb", 1024, "how many MiB of JSON lines to import")
	maxRSS := flag.Float64("max-rss-mb", 0, "fail when the importer's peak RSS (MiB) is above this (0: report only)")
	fixtures := flag.String("fixtures", "collector/ooni/testdata", "folder of the JSONL fixtures to copy")
	flag.Parse()
	templates, err := loadTemplates(*fixtures)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchooni:", err)
		return 2
	}
	cfg, err := writeConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchooni:", err)
		return 2
	}
	defer os.RemoveAll(filepath.Dir(cfg))
	res, err := importStream(*collector, cfg, templates, int64(*mb)<<20)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchooni:", err)
		return 1
	}
	secs := res.elapsed.Seconds()
	fmt.Printf("import ooni: %d lines, %.0f MiB in %s: %.0f lines/s, %.1f MiB/s; peak RSS %.1f MiB\n",
		res.lines, float64(res.bytes)/(1<<20), res.elapsed.Round(time.Second), float64(res.lines)/secs,
		float64(res.bytes)/(1<<20)/secs, res.rssMiB)
	fmt.Printf("collector says: %s", res.summary)
	if *maxRSS > 0 && res.rssMiB > *maxRSS {
		fmt.Printf("goal missed: peak RSS %.1f MiB > %.0f\n", res.rssMiB, *maxRSS)
		return 1
	}
	return 0
}

// template is one fixture line with where its report_id ends and where its
// measurement_start_time's value starts, so each copy can carry its own of both.
type template struct {
	line          []byte
	idEnd, timeAt int
}

// timeLayout is OONI's measurement_start_time.
const timeLayout = "2006-01-02 15:04:05"

// loadTemplates reads the web_connectivity lines of the fixtures that are valid JSON.
func loadTemplates(dir string) ([]template, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no *.jsonl fixtures in %s", dir)
	}
	var out []template
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for line := range bytes.Lines(b) {
			if t, ok := cut(bytes.TrimRight(line, "\n")); ok {
				out = append(out, t)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no web_connectivity line with a report_id and a measurement_start_time in the fixtures")
	}
	return out, nil
}

// cut finds where a web_connectivity line's report_id ends and its start time begins.
func cut(line []byte) (template, bool) {
	var m struct {
		TestName  string `json:"test_name"`
		ReportID  string `json:"report_id"`
		StartTime string `json:"measurement_start_time"`
	}
	if json.Unmarshal(line, &m) != nil || m.TestName != "web_connectivity" || m.ReportID == "" || len(m.StartTime) != len(timeLayout) {
		return template{}, false
	}
	id := []byte(`"report_id": "` + m.ReportID + `"`)
	st := []byte(`"measurement_start_time": "`)
	i, j := bytes.Index(line, id), bytes.Index(line, st)
	if i < 0 || j < 0 {
		return template{}, false
	}
	return template{line: line, idEnd: i + len(id) - 1, timeAt: j + len(st)}, true
}

// write writes copy n of t: its report_id suffixed with n, its start time n seconds after
// base (copies of one line never share a second, as one probe's measurements do not).
func (t template) write(w io.Writer, n int64, base time.Time) (int, error) {
	id := fmt.Sprintf("-bench%09d", n)
	ts := base.Add(time.Duration(n) * time.Second).Format(timeLayout)
	type edit struct {
		at, skip int
		text     string
	}
	edits := []edit{{t.idEnd, 0, id}, {t.timeAt, len(timeLayout), ts}}
	if edits[1].at < edits[0].at {
		edits[0], edits[1] = edits[1], edits[0]
	}
	var buf bytes.Buffer
	prev := 0
	for _, e := range edits {
		buf.Write(t.line[prev:e.at])
		buf.WriteString(e.text)
		prev = e.at + e.skip
	}
	buf.Write(t.line[prev:])
	buf.WriteByte('\n')
	return w.Write(buf.Bytes())
}

// writeConfig writes a collector config naming the InfluxDB of scripts/with-influxdb.
func writeConfig() (string, error) {
	url, bucket := os.Getenv("PANTAU_TEST_INFLUX_URL"), os.Getenv("PANTAU_TEST_INFLUX_BUCKET")
	if url == "" || bucket == "" {
		return "", errors.New("PANTAU_TEST_INFLUX_URL and PANTAU_TEST_INFLUX_BUCKET are unset: run through scripts/with-influxdb")
	}
	dir, err := os.MkdirTemp("", "benchooni")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "collector.yaml")
	body := fmt.Sprintf("secret: %s\ninflux: {url: %s, bucket: %s}\n", strings.Repeat("bench-ooni-secret-", 3), url, bucket)
	return p, os.WriteFile(p, []byte(body), 0o600)
}

type result struct {
	lines, bytes int64
	elapsed      time.Duration
	rssMiB       float64
	summary      string
}

// importStream runs the importer on standard input fed size bytes of copies.
func importStream(collector, cfg string, templates []template, size int64) (result, error) {
	cmd := exec.Command(collector, "import", "ooni", "--config", cfg, "-")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	var res result
	w := bufio.NewWriterSize(in, 1<<20)
	base := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	for res.bytes < size {
		t := templates[res.lines%int64(len(templates))]
		n, err := t.write(w, res.lines, base)
		if err != nil {
			break // the importer ended early: its error says why
		}
		res.lines++
		res.bytes += int64(n)
	}
	_ = w.Flush()
	_ = in.Close()
	err = cmd.Wait()
	res.elapsed = time.Since(start)
	res.summary = stdout.String()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.rssMiB = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	if err != nil {
		return res, fmt.Errorf("collector import ooni: %v\n%s%s", err, stdout.String(), lastLines(stderr.String(), 5))
	}
	return res, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}
