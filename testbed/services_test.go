//go:build testbed

package testbed

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/testpki"
)

// blockPageTitle is the title of the lab ISP's block page, as on Indonesia's Internet
// Positif (Trust+) pages.
const blockPageTitle = "Internet Positif"

// blockPage is the body the block-page server returns for every request.
const blockPage = `<!DOCTYPE html><html><head><title>` + blockPageTitle + `</title></head><body>` +
	`<h1>Internet Positif</h1><p>Maaf, akses ke situs ini diblokir karena termasuk dalam daftar ` +
	`situs bermuatan negatif (TRUST+ Positif). Lab ISP pt-isp.</p></body></html>`

// labFingerprints are the lab's block-page fingerprints, in OONI's CSV format.
const labFingerprints = `name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,expected_countries,source,exp_url,notes
lab.id_dns,isp,,dns,full,` + blockPageAddr + `,5,ID,pantau-testbed,,Address of the lab ISP's block-page server
lab.id_body,isp,,body,contains,<title>` + blockPageTitle + `</title>,5,ID,pantau-testbed,,Title of the lab ISP's block page
`

// services writes certificates and configs and starts the resolvers, nginx and the
// control helper, waiting until each answers.
func (l *lab) services(t *testing.T) {
	t.Helper()
	l.certificates(t)
	l.fpFile = l.write(t, "fingerprints.csv", labFingerprints)

	unbound := sbin(t, "unbound")
	honest := l.write(t, "unbound-net.conf", l.honestUnboundConf())
	isp := l.write(t, "unbound-isp.conf", l.ispUnboundConf())
	pNet := l.start(t, "unbound-net", nsNet, nil, unbound, "-d", "-c", honest)
	pISP := l.start(t, "unbound-isp", nsISP, nil, unbound, "-d", "-c", isp)

	for _, d := range []string{"body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if err := os.MkdirAll(filepath.Join(l.dir, "nginx", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ngConf := l.write(t, "nginx.conf", l.nginxConf())
	pNginx := l.start(t, "nginx", nsNet, nil, sbin(t, "nginx"), "-p", l.dir, "-c", ngConf, "-e", filepath.Join(l.dir, "nginx-error.log"))

	helper := l.start(t, "helper", nsCtl, []string{"SSL_CERT_FILE=" + l.caFile}, l.probe, "helper",
		"--listen", net.JoinHostPort(ctlAddr, helperPort), "--lab-cidr", labCIDR,
		"--system-resolver", honestResolver, "--timeout", "15s", "--tcp-timeout", "2s", "--tls-timeout", "3s",
		"--log-level", "info", "--rate-limit", "0")

	resolves := func(ns, server string) func() error {
		return func() error {
			m, err := lookup(ns, server, "web.telegram.org", dns.TypeA)
			if err != nil {
				return err
			}
			if got := answerAddrs(m); len(got) != 1 || got[0] != siteAddr("web.telegram.org") {
				return fmt.Errorf("%s answered %s %v", server, dns.RcodeToString[m.Rcode], got)
			}
			return nil
		}
	}
	waitFor(t, pNet, 15*time.Second, resolves(nsCtl, honestResolver))
	waitFor(t, pISP, 15*time.Second, resolves(nsProbe, ispResolver))
	waitFor(t, pNginx, 15*time.Second, func() error {
		for _, s := range sites {
			for _, on := range []struct {
				serve bool
				port  string
			}{{s.https, "443"}, {s.http, "80"}} {
				if !on.serve {
					continue
				}
				c, err := dialIn(nsCtl, "tcp", net.JoinHostPort(s.addr, on.port), time.Second)
				if err != nil {
					return err
				}
				c.Close()
			}
		}
		return nil
	})
	waitFor(t, helper, 30*time.Second, func() error {
		// From the subscriber, through the ISP: the probe's own path to its control.
		res, err := httpIn(nsProbe, "http://"+net.JoinHostPort(ctlAddr, helperPort)+"/healthz", "", 2*time.Second)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("healthz: %s", res.Status)
		}
		return nil
	})
}

// waitFor polls ready until it succeeds, failing the test when p exits or the time is up.
func waitFor(t *testing.T, p *proc, limit time.Duration, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if done, err := p.exited(); done {
			b, _ := os.ReadFile(p.log)
			t.Fatalf("%s exited: %v\n%s", p.name, err, b)
		}
		err := ready()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(p.log)
			t.Fatalf("%s not ready after %s: %v\n%s", p.name, limit, err, b)
		}
		time.Sleep(100 * time.Millisecond) // polling a process we do not control
	}
}

// sbin finds a system program, also where PATH lacks the sbin directories.
func sbin(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s is not installed (testbed/run-tests installs it)", name)
	return ""
}

// write writes a file into the lab directory and returns its path.
func (l *lab) write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(l.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// unboundCommon is the part of both resolvers' configs that keeps them self-contained:
// no privilege drop, no chroot, no DNSSEC, no IPv6, logs on stderr.
func (l *lab) unboundCommon(name string) string {
	return fmt.Sprintf(`	verbosity: 1
	num-threads: 1
	port: 53
	do-ip4: yes
	do-ip6: no
	do-udp: yes
	do-tcp: yes
	so-reuseport: no
	username: ""
	chroot: ""
	directory: %q
	pidfile: %q
	use-syslog: no
	log-queries: yes
	log-replies: yes
	module-config: "iterator"
	qname-minimisation: no
	access-control: %s allow
`, l.dir, filepath.Join(l.dir, name+".pid"), labCIDR)
}

// honestUnboundConf is the internet's resolver: it answers the lab zones from local data
// (NXDOMAIN for every other name) and whoami.akamai.net with the address each client
// queried from, as Akamai's whoami service does.
func (l *lab) honestUnboundConf() string {
	var b strings.Builder
	b.WriteString("server:\n")
	fmt.Fprintf(&b, "\tinterface: %s\n\tinterface: %s\n", honestResolver, foreignResolver)
	b.WriteString(l.unboundCommon("unbound-net"))
	b.WriteString("\tlocal-zone: \".\" static\n")
	for _, s := range sites {
		fmt.Fprintf(&b, "\tlocal-data: \"%s. 300 IN A %s\"\n", s.name, s.addr)
	}
	clients := []struct{ view, addr string }{{"from-isp", ispOutside}, {"from-ctl", ctlAddr}, {"from-probe", probeAddr}}
	for _, c := range clients {
		fmt.Fprintf(&b, "\taccess-control-view: %s/32 %s\n", c.addr, c.view)
	}
	for _, c := range clients {
		fmt.Fprintf(&b, "view:\n\tname: %q\n\tview-first: yes\n\tlocal-zone: \"whoami.akamai.net.\" static\n", c.view)
		fmt.Fprintf(&b, "\tlocal-data: \"whoami.akamai.net. 0 IN A %s\"\n", c.addr)
	}
	return b.String()
}

// ispUnboundConf is the ISP's resolver: it forwards to the internet's resolver from the
// ISP's egress address, except for the names it censors.
func (l *lab) ispUnboundConf() string {
	var b strings.Builder
	b.WriteString("server:\n")
	fmt.Fprintf(&b, "\tinterface: %s\n\toutgoing-interface: %s\n", ispResolver, ispOutside)
	b.WriteString(l.unboundCommon("unbound-isp"))
	b.WriteString("\tdo-not-query-localhost: no\n")
	// The Indonesian way: the censored name points at the block-page server.
	fmt.Fprintf(&b, "\tlocal-zone: \"t.me.\" redirect\n\tlocal-data: \"t.me. 300 IN A %s\"\n", blockPageAddr)
	// A name that exists is said not to.
	b.WriteString("\tlocal-zone: \"flora.web.telegram.org.\" always_nxdomain\n")
	// A name the resolver refuses to answer.
	b.WriteString("\tlocal-zone: \"telegram.me.\" always_refuse\n")
	b.WriteString(qaISPZones())
	fmt.Fprintf(&b, "forward-zone:\n\tname: \".\"\n\tforward-addr: %s\n", honestResolver)
	return b.String()
}

// nginxConf serves every site on its own address, the block page on its address (any
// Host, HTTP and HTTPS) and TLS on the data-centre addresses.
func (l *lab) nginxConf() string {
	var b strings.Builder
	fmt.Fprintf(&b, `user root;
worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log info;
events { worker_connections 512; }
http {
	access_log %[1]s/nginx-access.log;
	client_body_temp_path %[1]s/nginx/body;
	proxy_temp_path %[1]s/nginx/proxy;
	fastcgi_temp_path %[1]s/nginx/fastcgi;
	uwsgi_temp_path %[1]s/nginx/uwsgi;
	scgi_temp_path %[1]s/nginx/scgi;
	default_type text/html;
	server_tokens off;
`, l.dir)
	server := func(listen []string, name, cert, body string) {
		b.WriteString("\tserver {\n")
		for _, ln := range listen {
			fmt.Fprintf(&b, "\t\tlisten %s;\n", ln)
		}
		fmt.Fprintf(&b, "\t\tserver_name %s;\n", name)
		if cert != "" {
			fmt.Fprintf(&b, "\t\tssl_certificate %s.pem;\n\t\tssl_certificate_key %s.key;\n", cert, cert)
		}
		fmt.Fprintf(&b, "\t\tlocation / { return 200 '%s\\n'; }\n\t}\n", body)
	}
	for _, s := range sites {
		var listen []string
		if s.https {
			listen = append(listen, s.addr+":443 ssl")
		}
		if s.http {
			listen = append(listen, s.addr+":80")
		}
		if len(listen) == 0 {
			continue
		}
		page := fmt.Sprintf("<!DOCTYPE html><html><head><title>%s</title></head><body><h1>%s</h1></body></html>", s.title, s.title)
		server(listen, s.name, l.certPath(s.name), page)
	}
	server([]string{blockPageAddr + ":80 default_server", blockPageAddr + ":443 ssl default_server"}, "_",
		l.certPath("internetpositif.lab"), blockPage)
	server([]string{dcBlackholed + ":443 ssl", dcReachable + ":443 ssl"}, "_", l.certPath("dc.lab"), "dc")
	b.WriteString(l.qaNginx())
	b.WriteString("}\n")
	return b.String()
}

func (l *lab) certPath(name string) string { return filepath.Join(l.dir, "certs", name) }

// certificates makes the lab CA and a certificate for every site, the block page and the
// data centres.
func (l *lab) certificates(t *testing.T) {
	t.Helper()
	ca := testpki.NewCA(t, "Pantau Testbed CA")
	l.caFile = l.write(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})))

	names := []string{"internetpositif.lab", "dc.lab"}
	for _, s := range sites {
		names = append(names, s.name)
	}
	now := time.Now()
	for _, name := range names {
		leaf := ca.Leaf(t, now.Add(-time.Hour), now.Add(24*time.Hour), name)
		keyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		l.write(t, filepath.Join("certs", name+".pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]})))
		l.write(t, filepath.Join("certs", name+".key"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	}
}

// dialIn opens a connection from inside network namespace ns. Only the socket's creation
// needs the namespace; the connection can be used from any goroutine.
func dialIn(ns, network, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := inNetns(ns, func() error {
		var err error
		c, err = net.DialTimeout(network, addr, timeout)
		return err
	})
	return c, err
}

// httpIn fetches url from inside ns, without redirects. A non-empty addr (IP:PORT) is
// connected to instead of the URL's host, as if DNS had answered it.
func httpIn(ns, url, addr string, timeout time.Duration) (*http.Response, error) {
	tr := &http.Transport{
		DialContext: func(_ context.Context, network, hostport string) (net.Conn, error) {
			if addr != "" {
				hostport = addr
			}
			return dialIn(ns, network, hostport, timeout)
		},
		DisableKeepAlives: true,
	}
	cl := &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	res, err := cl.Get(url)
	if err != nil {
		return nil, err
	}
	return res, nil
}
