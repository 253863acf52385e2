//go:build testbed

// Package testbed proves the probe's verdicts end to end against real censorship: real
// resolvers (unbound), real web servers (nginx) and real middleboxes (iptables) in Linux
// network namespaces, with the real probe and control helper binaries. It needs root and
// builds only with the "testbed" tag: run it with testbed/run-tests (README.md there).
package testbed

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Network namespaces of the lab. Every namespace the lab creates starts with nsPrefix, so a
// run that died can be cleaned up by name.
const (
	nsPrefix = "pt-"
	nsProbe  = "pt-probe" // the censored subscriber: runs `probe measure`
	nsISP    = "pt-isp"   // the ISP: router, censoring resolver, middleboxes
	nsNet    = "pt-net"   // the internet: honest resolver, web servers, the block page
	nsCtl    = "pt-ctl"   // an uncensored vantage point: runs `probe helper`
)

// Addresses. All of them lie in labCIDR; no route leads anywhere else.
const (
	labCIDR = "10.77.0.0/16"

	probeAddr  = "10.77.1.2" // pt-probe eth0
	ispInside  = "10.77.1.1" // pt-isp sub0: the subscribers' gateway and resolver
	ispOutside = "10.77.2.1" // pt-isp up0: where the ISP's traffic leaves, its resolver's egress
	netFromISP = "10.77.2.2" // pt-net isp0
	netFromCtl = "10.77.3.1" // pt-net ctl0
	ctlAddr    = "10.77.3.2" // pt-ctl eth0

	ispResolver     = ispInside
	honestResolver  = "10.77.100.53" // the internet's resolver (pt-net)
	foreignResolver = "10.77.100.8"  // a public resolver abroad, like 8.8.8.8 (pt-net); the ISP hijacks it

	blockPageAddr = "10.77.100.99" // the ISP's block-page server (pt-net)
	downAddr      = "10.77.100.77" // a host that is up, with nothing listening
	dcBlackholed  = "10.77.100.31" // a "data centre" address the ISP blackholes
	dcReachable   = "10.77.100.32" // a "data centre" address that is not blocked

	helperPort = "9090"
)

// site is one web site of the lab internet: the names an honest resolver gives its
// address, and the ports nginx serves it on.
type site struct {
	name  string
	addr  string
	https bool
	http  bool
	title string
}

// sites are the lab internet's web sites. Telegram names are the ones Kominfo ordered
// blocked on 14 July 2017; each is censored by a different real mechanism (see README.md).
// The OONI QA scenarios' sites follow (qa_test.go).
var sites = append([]site{
	{name: "t.me", addr: "10.77.100.10", https: true, http: true, title: "Telegram Messenger"},
	{name: "telegram.org", addr: "10.77.100.11", https: true, http: true, title: "Telegram – a new era of messaging"},
	{name: "web.telegram.org", addr: "10.77.100.12", https: true, title: "Telegram Web"},
	{name: "plain.example", addr: "10.77.100.13", http: true, title: "Plain HTTP"},
	{name: "telegram.me", addr: "10.77.100.14", https: true, title: "Telegram Messenger"},
	{name: "venus.web.telegram.org", addr: "10.77.100.21", https: true, title: "Venus"},
	{name: "pluto.web.telegram.org", addr: "10.77.100.22", https: true, title: "Pluto"},
	{name: "flora.web.telegram.org", addr: "10.77.100.23", https: true, title: "Flora"},
	{name: "down.example", addr: downAddr}, // resolves, but nothing listens
}, qaSites...)

// siteAddr returns the honest address of a lab site.
func siteAddr(name string) string {
	for _, s := range sites {
		if s.name == name {
			return s.addr
		}
	}
	panic("no lab site " + name)
}

// internetAddrs are the addresses pt-net holds on its loopback: the sites, the resolvers,
// the block page and the data centres.
func internetAddrs() []string {
	addrs := []string{honestResolver, foreignResolver, blockPageAddr, dcBlackholed, dcReachable}
	for _, s := range sites {
		addrs = append(addrs, s.addr)
	}
	return addrs
}

// keepLab reports whether the lab stays up after the test for manual exploration.
func keepLab() bool { return os.Getenv("PANTAU_TESTBED_KEEP") == "1" }

// lab is a running testbed.
type lab struct {
	dir    string // configs, certificates and logs (testbed/run)
	probe  string // the probe binary
	caFile string // the lab CA, handed to the probe and helper as SSL_CERT_FILE
	fpFile string // the lab's block-page fingerprints (OONI CSV)
	procs  []*proc
}

// newLab builds the whole testbed; t.Cleanup tears it down unless PANTAU_TESTBED_KEEP=1.
func newLab(t *testing.T) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the testbed needs root (network namespaces, iptables): run sudo testbed/run-tests")
	}
	probe, err := filepath.Abs(envOr("PANTAU_PROBE", filepath.Join("..", "bin", "probe")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(probe); err != nil {
		t.Fatalf("probe binary: %v (build it: go build -o bin/probe ./probe)", err)
	}
	dir, err := filepath.Abs("run")
	if err != nil {
		t.Fatal(err)
	}
	removeStale(t)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l := &lab{dir: dir, probe: probe}
	t.Cleanup(func() {
		if t.Failed() {
			l.dumpLogs(t)
		}
		if keepLab() {
			t.Logf("PANTAU_TESTBED_KEEP=1: the lab stays up; files in %s; tear it down with testbed/run-tests --down", dir)
			return
		}
		l.stopAll(t)
		removeStale(t)
	})
	l.network(t)
	l.middleboxes(t)
	l.services(t)
	return l
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// network creates the namespaces, links, addresses and routes. Only pt-isp and pt-net
// forward; every route is for the lab range, so nothing can leave it.
func (l *lab) network(t *testing.T) {
	for _, ns := range []string{nsProbe, nsISP, nsNet, nsCtl} {
		run(t, "ip", "netns", "add", ns)
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	links := []struct{ ns1, if1, addr1, ns2, if2, addr2 string }{
		{nsProbe, "eth0", probeAddr, nsISP, "sub0", ispInside},
		{nsISP, "up0", ispOutside, nsNet, "isp0", netFromISP},
		{nsNet, "ctl0", netFromCtl, nsCtl, "eth0", ctlAddr},
	}
	for _, k := range links {
		run(t, "ip", "-n", k.ns1, "link", "add", k.if1, "type", "veth", "peer", "name", k.if2, "netns", k.ns2)
		run(t, "ip", "-n", k.ns1, "addr", "add", k.addr1+"/24", "dev", k.if1)
		run(t, "ip", "-n", k.ns2, "addr", "add", k.addr2+"/24", "dev", k.if2)
		run(t, "ip", "-n", k.ns1, "link", "set", k.if1, "up")
		run(t, "ip", "-n", k.ns2, "link", "set", k.if2, "up")
	}
	for _, a := range internetAddrs() {
		run(t, "ip", "-n", nsNet, "addr", "add", a+"/32", "dev", "lo")
	}
	run(t, "ip", "-n", nsProbe, "route", "add", labCIDR, "via", ispInside)
	run(t, "ip", "-n", nsISP, "route", "add", labCIDR, "via", netFromISP)
	run(t, "ip", "-n", nsNet, "route", "add", "10.77.1.0/24", "via", ispOutside)
	run(t, "ip", "-n", nsCtl, "route", "add", labCIDR, "via", netFromCtl)
	for _, ns := range []string{nsISP, nsNet} {
		run(t, "ip", "netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
	}
}

// middleboxes installs the ISP's censorship on pt-isp, for subscriber traffic (sub0) only.
func (l *lab) middleboxes(t *testing.T) {
	rules := [][]string{
		// IP blackholes: a web server and a data centre.
		{"-A", "FORWARD", "-i", "sub0", "-d", siteAddr("venus.web.telegram.org"), "-j", "DROP"},
		{"-A", "FORWARD", "-i", "sub0", "-d", dcBlackholed, "-j", "DROP"},
		// SNI filtering: reset the connection that carries the ClientHello.
		{"-A", "FORWARD", "-i", "sub0", "-p", "tcp", "--dport", "443", "-m", "string", "--algo", "bm",
			"--string", "pluto.web.telegram.org", "-j", "REJECT", "--reject-with", "tcp-reset"},
		// Host-header filtering of plain HTTP.
		{"-A", "FORWARD", "-i", "sub0", "-p", "tcp", "--dport", "80", "-m", "string", "--algo", "bm",
			"--hex-string", "Host: telegram.org|0d0a|", "-j", "REJECT", "--reject-with", "tcp-reset"},
		// DNS hijack: queries to a foreign resolver are answered by the ISP's.
		{"-t", "nat", "-A", "PREROUTING", "-i", "sub0", "-d", foreignResolver, "-p", "udp", "--dport", "53",
			"-j", "DNAT", "--to-destination", ispResolver + ":53"},
		{"-t", "nat", "-A", "PREROUTING", "-i", "sub0", "-d", foreignResolver, "-p", "tcp", "--dport", "53",
			"-j", "DNAT", "--to-destination", ispResolver + ":53"},
	}
	for _, r := range rules {
		run(t, append([]string{"ip", "netns", "exec", nsISP, "iptables", "-w"}, r...)...)
	}
	qaMiddleboxesUp(t)
}

// run runs a command and fails the test with its output when it fails.
func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// removeStale kills what runs in leftover pt-* namespaces (only this lab starts
// processes there) and deletes them.
func removeStale(t testing.TB) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], nsPrefix) {
			continue
		}
		ns := f[0]
		pids, _ := exec.Command("ip", "netns", "pids", ns).Output()
		for _, p := range strings.Fields(string(pids)) {
			if p == strconv.Itoa(os.Getpid()) {
				continue
			}
			_ = exec.Command("kill", "-9", p).Run()
		}
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	}
}

// proc is a service the lab started inside a namespace.
type proc struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// start starts a long-running program in ns; its output goes to DIR/NAME.log.
func (l *lab) start(t *testing.T, name, ns string, env []string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(l.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	l.procs = append(l.procs, p)
	return p
}

// exited reports whether p has stopped, with its error.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stopAll stops the lab's processes, last started first: SIGTERM, then SIGKILL.
func (l *lab) stopAll(t *testing.T) {
	for i := len(l.procs) - 1; i >= 0; i-- {
		p := l.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	l.procs = nil
}

// dumpLogs logs the tail of every service's output.
func (l *lab) dumpLogs(t *testing.T) {
	for _, p := range l.procs {
		b, _ := os.ReadFile(p.log)
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		t.Logf("--- %s (%s) ---\n%s", p.name, p.log, bytes.TrimSpace(b))
	}
}

// inNetns runs f on an OS thread that joined network namespace ns, so that the sockets f
// opens live there (they stay there when used from other threads). The thread returns to
// its own namespace afterwards; if it cannot, it stays locked and dies with the goroutine.
func inNetns(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		err = f()
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}
