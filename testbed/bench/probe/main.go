// Command bench measures `probe measure` over N local targets and reports targets/s and
// the probe's peak RSS. It starts a DNS server answering every *.bench.test name with
// 127.0.0.1, an HTTPS server with a certificate from a throwaway CA (handed to the probe
// through SSL_CERT_FILE), and a real `probe helper` as the control, then runs the real
// probe binary over all targets: DNS, TCP, TLS and HTTP per target, with a control.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/testdns"
	"github.com/pantau-dev/pantau/internal/testpki"
)

func main() { os.Exit(run()) }

func run() int {
	probe := flag.String("probe", "bin/probe", "probe binary")
	n := flag.Int("targets", 1000, "number of targets")
	conc := flag.Int("concurrency", 100, "probe --concurrency (0: the probe's default)")
	extra := flag.String("probe-flags", "", "extra flags for probe measure, space separated")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the lab's servers (this process) to `FILE`")
	save := flag.String("out", "", "also write the probe's output (JSON lines) to this `FILE`")
	helperExtra := flag.String("helper-flags", "", "extra flags for probe helper, space separated (e.g. --cpuprofile FILE)")
	minRate := flag.Float64("min-rate", 0, "fail when targets/s is below this (0: report only)")
	maxRSS := flag.Float64("max-rss-mb", 0, "fail when peak RSS (MB) is above this (0: report only)")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := bench(*probe, *n, *conc, strings.Fields(*extra), strings.Fields(*helperExtra), *save, *minRate, *maxRSS); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

// bench sets up the lab, runs `probe measure` over n targets in it, prints the rate, the
// peak RSS and the verdicts, and fails when they miss the goals.
func bench(probe string, n, conc int, extra, helperExtra []string, save string, minRate, maxRSS float64) error {
	dir, err := os.MkdirTemp("", "pantau-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	l, err := startLab(probe, dir, helperExtra)
	if err != nil {
		return err
	}
	defer l.close()
	list, err := writeTargets(dir, n, l.webPort)
	if err != nil {
		return err
	}
	args := []string{"measure", "--system-resolver", l.dnsAddr, "--lab-cidr", "127.0.0.0/8", "--whoami", "-",
		"--control", "http://" + l.helperAddr + "/api/v1/control", "-f", list}
	if conc > 0 {
		args = append(args, "--concurrency", fmt.Sprint(conc))
	}
	args = append(args, extra...)
	load := loadAverage()
	out, elapsed, rssMB, cpu, err := runProbe(probe, args, l.env)
	if err != nil {
		return err
	}
	if save != "" {
		if err := os.WriteFile(save, out.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	got, statuses, err := tally(out)
	if err != nil {
		return err
	}
	rate := float64(got) / elapsed.Seconds()
	fmt.Printf("probe measure: %d targets in %.2fs: %.1f targets/s, peak RSS %.1f MB, probe CPU %.2fs, load average before %s, verdicts %v\n",
		got, elapsed.Seconds(), rate, rssMB, cpu.Seconds(), load, statuses)
	var errs []error
	if got != n {
		errs = append(errs, fmt.Errorf("%d measurements for %d targets", got, n))
	}
	if statuses[measurement.StatusAccessible] != n {
		errs = append(errs, fmt.Errorf("want all %d accessible, got %v", n, statuses))
	}
	if minRate > 0 && rate < minRate {
		errs = append(errs, fmt.Errorf("%.1f targets/s is below the goal of %.0f", rate, minRate))
	}
	if maxRSS > 0 && rssMB > maxRSS {
		errs = append(errs, fmt.Errorf("peak RSS %.1f MB is above the goal of %.0f MB", rssMB, maxRSS))
	}
	return errors.Join(errs...)
}

// lab is what the probe measures: a DNS server, an HTTPS server on webPort, a `probe
// helper` as the control, and the environment that makes the probe trust the lab's CA.
type lab struct {
	dnsAddr, helperAddr string
	webPort             int
	env                 []string
	stops               []func() // in start order
}

// startLab starts the lab's servers, with the CA written to dir.
func startLab(probe, dir string, helperExtra []string) (_ *lab, err error) {
	l := &lab{}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	caFile := filepath.Join(dir, "ca.pem")
	tlsCfg, err := labTLS(caFile)
	if err != nil {
		return nil, err
	}
	dnsAddr, stopDNS, err := serveDNS()
	if err != nil {
		return nil, err
	}
	l.dnsAddr, l.stops = dnsAddr, append(l.stops, stopDNS)
	webPort, stopWeb, err := serveHTTPS(tlsCfg)
	if err != nil {
		return nil, err
	}
	l.webPort, l.stops = webPort, append(l.stops, stopWeb)
	l.env = append(os.Environ(), "SSL_CERT_FILE="+caFile)
	helperAddr, stopHelper, err := startHelper(probe, dnsAddr, l.env, helperExtra)
	if err != nil {
		return nil, err
	}
	l.helperAddr, l.stops = helperAddr, append(l.stops, stopHelper)
	return l, nil
}

// close stops the lab's servers, the last started first.
func (l *lab) close() {
	for i := len(l.stops) - 1; i >= 0; i-- {
		l.stops[i]()
	}
}

// writeTargets writes n distinct HTTPS targets on the lab's web port to dir/targets.txt
// and returns its path.
func writeTargets(dir string, n, webPort int) (string, error) {
	list := filepath.Join(dir, "targets.txt")
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "https://t%05d.bench.test:%d/\n", i, webPort)
	}
	return list, os.WriteFile(list, []byte(b.String()), 0o644)
}

// runProbe runs the probe with args and env and returns its standard output, how long it
// ran, its peak RSS in MB and the CPU time it used (user and system).
func runProbe(probe string, args, env []string) (out *bytes.Buffer, elapsed time.Duration, rssMB float64, cpu time.Duration, err error) {
	cmd := exec.Command(probe, args...)
	cmd.Env = env
	out = &bytes.Buffer{}
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, 0, 0, 0, fmt.Errorf("probe measure: %w", err)
	}
	elapsed = time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	rssMB = float64(ru.Maxrss) / 1024
	return out, elapsed, rssMB, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// loadAverage is the 1-minute load average of the machine ("?" when unknown): the bench
// shares the CPU with whatever else runs, and its rate follows.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// tally counts the measurements in the probe's output (JSON lines) and their verdicts.
func tally(out *bytes.Buffer) (got int, statuses map[string]int, err error) {
	statuses = map[string]int{}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m measurement.Measurement
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return got, statuses, fmt.Errorf("output line %d: %w", got+1, err)
		}
		got++
		statuses[m.Verdict.Status]++
	}
	return got, statuses, nil
}

// serveDNS answers A questions for any name with 127.0.0.1, and AAAA with no answer.
func serveDNS() (string, func(), error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	// Hundreds of questions can arrive at once while this process waits for a CPU: a
	// query lost in a full socket buffer would be a DNS timeout, not the probe's doing.
	_ = pc.(*net.UDPConn).SetReadBuffer(4 << 20)
	stop, err := testdns.Serve(pc, testdns.Zone{Default: []string{"127.0.0.1"}})
	if err != nil {
		return "", nil, err
	}
	return pc.LocalAddr().String(), stop, nil
}

// serveHTTPS serves a small page on 127.0.0.1 for every *.bench.test name.
func serveHTTPS(cfg *tls.Config) (int, func(), error) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		return 0, nil, err
	}
	page := []byte("<html><head><title>Bench page</title></head><body>" + strings.Repeat("pantau ", 1000) + "</body></html>")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(page)
	}), ReadHeaderTimeout: 10 * time.Second,
		// The probe's and the helper's TCP steps connect and close without TLS: each such
		// connection would log a handshake error.
		ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().(*net.TCPAddr).Port, func() { _ = srv.Close() }, nil
}

// startHelper runs `probe helper` with its default capacity and waits until it answers
// /healthz. It has no per-address rate limit: the one probe of the bench asks it about
// every target.
func startHelper(probe, dnsAddr string, env, extra []string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"helper", "--listen", addr, "--system-resolver", dnsAddr, "--lab-cidr", "127.0.0.0/8", "--whoami", "-", "--rate-limit", "0"}
	cmd := exec.Command(probe, append(args, extra...)...)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return addr, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("probe helper did not answer on %s", addr)
}

// labTLS makes a CA (written to caFile) and a *.bench.test certificate signed by it.
func labTLS(caFile string) (*tls.Config, error) {
	ca, err := testpki.MakeCA("Pantau bench CA")
	if err != nil {
		return nil, err
	}
	now := time.Now()
	leaf, err := ca.Issue(now.Add(-time.Hour), now.Add(24*time.Hour), "*.bench.test")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644); err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{leaf}}, nil
}
