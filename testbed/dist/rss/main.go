// Command rss measures the peak memory of `probe run` with the bundled schedules, for
// docs/scaling.md "Release sizes": the release binary (by default the mipsle one, under
// qemu-user on a MIPS 24Kc) runs the agent for a while against a loopback lab — a DNS
// server answering every name with 127.0.0.1, HTTPS on 127.0.0.1:443 and HTTP on :80 —
// with its uplink pointing nowhere (a refused port: measurements pile up in the spool,
// as on a router cut off from its collector). Run by hand, as root (ports 80 and 443):
//
//	make dist && go run ./testbed/dist/rss --duration 2m
//	go run ./testbed/dist/rss --probe bin/probe --emulator ""   # a native build, to compare
//
// The bundled schedules run every --every instead of their cron, without jitter; the
// Citizen Lab schedule gets a generated list of --citizenlab URLs. Peak RSS is VmHWM of
// the process; under qemu-user that includes the emulator (its code, heap and translation
// cache), so the guest's own resident memory — what the probe would hold on the device —
// is measured apart from the emulator's mappings (guest.go). An idle line (`probe
// helper`, listening only) is printed beside it.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pantau-dev/pantau/internal/testdns"
)

func main() {
	probe := flag.String("probe", "", "the probe binary (default: dist/pantau-probe_*_linux_mipsle)")
	emulator := flag.String("emulator", "qemu-mipsel-static -cpu 24Kc", "the `COMMAND` the probe runs under, space separated; \"\": natively")
	duration := flag.Duration("duration", 2*time.Minute, "how long `probe run` runs")
	every := flag.Duration("every", 20*time.Second, "the schedules' interval instead of their cron")
	citizenlab := flag.Int("citizenlab", 400, "URLs in the generated Citizen Lab list")
	memLimit := flag.Int("memory-limit-mb", -1, "memory_limit_mb of the probe's config (-1: the default of probe run)")
	flag.Parse()
	if err := run(*probe, strings.Fields(*emulator), *duration, *every, *citizenlab, *memLimit); err != nil {
		fmt.Fprintln(os.Stderr, "rss:", err)
		os.Exit(1)
	}
}

func run(probe string, emu []string, duration, every time.Duration, citizenlab, memLimit int) error {
	if probe == "" {
		m, _ := filepath.Glob("dist/pantau-probe_*_linux_mipsle")
		if len(m) != 1 {
			return fmt.Errorf("no single dist/pantau-probe_*_linux_mipsle (%v): run make dist, or give --probe", m)
		}
		probe = m[0]
	}
	dir, err := os.MkdirTemp("", "pantau-rss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dnsAddr, stop, err := startLab()
	if err != nil {
		return err
	}
	defer stop()
	if err := writeSchedules(dir, every, citizenlab); err != nil {
		return err
	}
	cfg := filepath.Join(dir, "probe.yaml")
	if err := os.WriteFile(cfg, []byte(config(dir, dnsAddr, memLimit)), 0o644); err != nil {
		return err
	}
	idle, err := measure(emu, probe, []string{"helper", "--listen", "127.0.0.1:0"}, 5*time.Second, nil)
	if err != nil {
		return fmt.Errorf("idle probe helper: %w", err)
	}
	busy, err := measure(emu, probe, []string{"run", "--config", cfg}, duration, []string{"GODEBUG=gctrace=1"})
	if err != nil {
		return fmt.Errorf("probe run: %w", err)
	}
	status, err := exec.Command(emu0(emu, probe), append(emuRest(emu, probe), "status", "--config", cfg)...).CombinedOutput()
	spool := "probe status: " + strings.TrimSpace(string(status))
	if m := regexp.MustCompile(`(?m)^spool\s+(depth \d+).*$`).FindStringSubmatch(string(status)); err == nil && m != nil {
		spool = "spool " + m[1] // the measurements the run made, none being delivered
	}
	fmt.Printf("%s %s\n", strings.Join(emu, " "), probe)
	fmt.Printf("  idle (probe helper, 5s): %s\n", idle.describe(len(emu) > 0))
	fmt.Printf("  probe run, %v, schedules every %v: %s; peak Go heap %d MB (gctrace); %s\n",
		duration, every, busy.describe(len(emu) > 0), busy.heap, spool)
	return nil
}

// emu0 and emuRest split the command line of the probe under its emulator.
func emu0(emu []string, probe string) string {
	if len(emu) == 0 {
		return probe
	}
	return emu[0]
}

func emuRest(emu []string, probe string) []string {
	if len(emu) == 0 {
		return nil
	}
	return append(append([]string{}, emu[1:]...), probe)
}

// config is the probe's config: the lab's resolver only, loopback declared public, no
// whoami, no ASN file, the uplink to a refused port, the rewritten schedules.
func config(dir, dnsAddr string, memLimit int) string {
	c := fmt.Sprintf("system_resolvers: [%q]\nlab_cidrs: [127.0.0.0/8]\nwhoami: \"-\"\nasn_db: none\n", dnsAddr)
	if memLimit >= 0 {
		c += fmt.Sprintf("memory_limit_mb: %d\n", memLimit)
	}
	return c + fmt.Sprintf("agent:\n  collector: http://127.0.0.1:9\n  token: rss-test\n  state_dir: %s\n  schedules_dir: %s\n",
		filepath.Join(dir, "state"), filepath.Join(dir, "schedules"))
}

// writeSchedules copies the bundled schedules (schedules/*.yaml and their lists) with
// cron set to @every EVERY and no jitter, the Citizen Lab one reading a generated list.
func writeSchedules(dir string, every time.Duration, citizenlab int) error {
	out := filepath.Join(dir, "schedules")
	if err := os.MkdirAll(filepath.Join(out, "lists"), 0o755); err != nil {
		return err
	}
	files, _ := filepath.Glob("schedules/*.yaml")
	lists, _ := filepath.Glob("schedules/lists/*")
	if len(files) == 0 {
		return errors.New("no schedules/*.yaml: run from the repository's root")
	}
	cronLine := regexp.MustCompile(`(?m)^cron: .*$`)
	jitterLine := regexp.MustCompile(`(?m)^jitter: .*$`)
	for _, f := range append(files, lists...) {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		s := cronLine.ReplaceAllString(string(b), fmt.Sprintf("cron: \"@every %v\"", every))
		s = jitterLine.ReplaceAllString(s, "jitter: 0s")
		s = strings.ReplaceAll(s, "/var/lib/pantau/lists/citizenlab-id.csv", "lists/citizenlab-id.csv")
		if err := os.WriteFile(filepath.Join(out, strings.TrimPrefix(f, "schedules/")), []byte(s), 0o644); err != nil {
			return err
		}
	}
	var csv strings.Builder
	csv.WriteString("url,category_code,category_description,date_added,source,notes\n")
	for i := range citizenlab {
		fmt.Fprintf(&csv, "https://site%d.example.id/,NEWS,News Media,2020-01-01,citizenlab,\n", i)
	}
	return os.WriteFile(filepath.Join(out, "lists", "citizenlab-id.csv"), []byte(csv.String()), 0o644)
}

// usage is what measure saw of a process.
type usage struct {
	hwm   float64 // VmHWM of the process, MB: under qemu-user, the emulator's own memory included
	guest float64 // peak RSS of the guest's address space under qemu-user, MB (guest.go); 0 natively
	anon  float64 // peak anonymous part of it, MB
	heap  int     // largest heap at a GC's start, MB, from gctrace (0 without GODEBUG=gctrace=1)
}

// describe says the process's peak RSS and, under an emulator, the guest's.
func (u usage) describe(emulated bool) string {
	if !emulated {
		return fmt.Sprintf("peak RSS %.1f MB", u.hwm)
	}
	return fmt.Sprintf("process peak RSS %.1f MB; guest peak RSS %.1f MB, anonymous %.1f MB", u.hwm, u.guest, u.anon)
}

// measure runs argv (the probe at probe, under emu) for d, then stops it with SIGTERM.
func measure(emu []string, probe string, args []string, d time.Duration, env []string) (usage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	argv := append(append(append([]string{}, emu...), probe), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return usage{}, err
	}
	if err := cmd.Start(); err != nil {
		return usage{}, err
	}
	heap := make(chan int, 1)
	go func() { heap <- maxHeap(stderr) }()
	var u usage
	var g *guest
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		v, err := vmHWM(cmd.Process.Pid)
		if err != nil {
			break // exited early
		}
		u.hwm = v
		if len(emu) > 0 && g == nil {
			g, _ = findGuest(cmd.Process.Pid, probe) // nil until the emulator mapped it
		}
		if g != nil {
			if all, anon, err := g.rss(); err == nil {
				u.guest, u.anon = max(u.guest, all), max(u.anon, anon)
			}
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	u.heap = <-heap
	if u.hwm == 0 {
		return u, fmt.Errorf("%v: exited before it could be measured: %w", argv, err)
	}
	return u, nil
}

// vmHWM is the peak resident set of a process, in MB, from /proc/PID/status.
func vmHWM(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024, err
		}
	}
	return 0, errors.New("no VmHWM")
}

// gcLine matches gctrace's "A->B->C MB": heap at GC start, at GC end, live.
var gcLine = regexp.MustCompile(`(\d+)->(\d+)->(\d+) MB`)

// maxHeap reads gctrace lines and returns the largest heap at a GC's start; other
// lines (the probe's own logs) are passed through to stderr.
func maxHeap(r interface{ Read([]byte) (int, error) }) int {
	peak := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := gcLine.FindStringSubmatch(sc.Text())
		if m == nil {
			fmt.Fprintln(os.Stderr, sc.Text())
			continue
		}
		if v, _ := strconv.Atoi(m[1]); v > peak {
			peak = v
		}
	}
	return peak
}

// startLab serves DNS on a free loopback port, HTTPS on 127.0.0.1:443 and HTTP on :80.
func startLab() (string, func(), error) {
	page := []byte("<html><head><title>Lab page</title></head><body>" + strings.Repeat("pantau ", 2000) + "</body></html>")
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(page) })
	web, err := listenHTTP("127.0.0.1:80", h, false)
	if err != nil {
		return "", nil, err
	}
	tlsWeb, err := listenHTTP("127.0.0.1:443", h, true)
	if err != nil {
		web.Close()
		return "", nil, err
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		web.Close()
		tlsWeb.Close()
		return "", nil, err
	}
	stopDNS, err := testdns.Serve(pc, testdns.Zone{Default: []string{"127.0.0.1"}})
	if err != nil {
		web.Close()
		tlsWeb.Close()
		return "", nil, err
	}
	return pc.LocalAddr().String(), func() { stopDNS(); web.Close(); tlsWeb.Close() }, nil
}

// listenHTTP serves h on addr (a fixed port: the bundled targets use 80 and 443), with a
// throwaway certificate when withTLS.
func listenHTTP(addr string, h http.Handler, withTLS bool) (*httptest.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w (run as root: the bundled targets use ports 80 and 443)", err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the probe cuts short
	s.Listener.Close()
	s.Listener = ln
	if withTLS {
		s.StartTLS()
		s.TLS.MinVersion = tls.VersionTLS12
	} else {
		s.Start()
	}
	return s, nil
}
