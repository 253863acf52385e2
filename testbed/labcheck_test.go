//go:build testbed

package testbed

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// lookup asks server (UDP port 53) one question from inside ns and returns the reply.
func lookup(ns, server string, name string, qtype uint16) (*dns.Msg, error) {
	c, err := dialIn(ns, "udp", net.JoinHostPort(server, "53"), time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return nil, err
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	co := &dns.Conn{Conn: c}
	if err := co.WriteMsg(q); err != nil {
		return nil, err
	}
	return co.ReadMsg()
}

// answerAddrs returns the A records' addresses of a reply.
func answerAddrs(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

// testLab checks every censorship mechanism of the lab with plain Go clients, before
// the probe is judged against it: a wrong verdict then points at the probe, not the lab.
func testLab(t *testing.T, l *lab) {
	dnsCases := []struct {
		name, ns, server, query string
		rcode                   int
		addrs                   []string
	}{
		{"honest resolver answers t.me", nsCtl, honestResolver, "t.me", dns.RcodeSuccess, []string{siteAddr("t.me")}},
		{"honest resolver answers flora", nsCtl, honestResolver, "flora.web.telegram.org", dns.RcodeSuccess, []string{siteAddr("flora.web.telegram.org")}},
		{"honest resolver answers telegram.me", nsCtl, honestResolver, "telegram.me", dns.RcodeSuccess, []string{siteAddr("telegram.me")}},
		{"honest resolver NXDOMAIN", nsCtl, honestResolver, "nxdomain.example", dns.RcodeNameError, nil},
		{"honest whoami from ctl", nsCtl, honestResolver, "whoami.akamai.net", dns.RcodeSuccess, []string{ctlAddr}},
		{"foreign resolver whoami from ctl", nsCtl, foreignResolver, "whoami.akamai.net", dns.RcodeSuccess, []string{ctlAddr}},
		{"ISP resolver passes web.telegram.org", nsProbe, ispResolver, "web.telegram.org", dns.RcodeSuccess, []string{siteAddr("web.telegram.org")}},
		{"ISP resolver redirects t.me to block page", nsProbe, ispResolver, "t.me", dns.RcodeSuccess, []string{blockPageAddr}},
		{"ISP resolver NXDOMAIN for flora", nsProbe, ispResolver, "flora.web.telegram.org", dns.RcodeNameError, nil},
		{"ISP resolver refuses telegram.me", nsProbe, ispResolver, "telegram.me", dns.RcodeRefused, nil},
		{"ISP resolver NXDOMAIN", nsProbe, ispResolver, "nxdomain.example", dns.RcodeNameError, nil},
		{"ISP whoami is its egress", nsProbe, ispResolver, "whoami.akamai.net", dns.RcodeSuccess, []string{ispOutside}},
		{"foreign resolver hijacked by ISP", nsProbe, foreignResolver, "t.me", dns.RcodeSuccess, []string{blockPageAddr}},
		{"hijacked whoami is ISP egress", nsProbe, foreignResolver, "whoami.akamai.net", dns.RcodeSuccess, []string{ispOutside}},
	}
	for _, c := range dnsCases {
		t.Run("dns/"+c.name, func(t *testing.T) {
			m, err := lookup(c.ns, c.server, c.query, dns.TypeA)
			if err != nil {
				t.Fatal(err)
			}
			if m.Rcode != c.rcode || !slices.Equal(answerAddrs(m), c.addrs) {
				t.Errorf("%s A from %s: got %s %v, want %s %v", c.query, c.server,
					dns.RcodeToString[m.Rcode], answerAddrs(m), dns.RcodeToString[c.rcode], c.addrs)
			}
		})
	}

	roots := x509.NewCertPool()
	pemCA, err := os.ReadFile(l.caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(pemCA)
	handshake := func(ns, addr, sni string, verify bool) error {
		c, err := dialIn(ns, "tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.SetDeadline(time.Now().Add(3 * time.Second)); err != nil {
			return err
		}
		return tls.Client(c, &tls.Config{ServerName: sni, RootCAs: roots, InsecureSkipVerify: !verify}).Handshake()
	}
	fetch := func(ns, url, addr string) (string, error) {
		res, err := httpIn(ns, url, addr, 3*time.Second)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return "", err
		}
		if res.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s: %s", url, res.Status)
		}
		return string(b), nil
	}
	isTimeout := func(err error) bool {
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
	https := func(name string) string { return net.JoinHostPort(siteAddr(name), "443") }
	plain := func(name string) string { return net.JoinHostPort(siteAddr(name), "80") }

	connCases := []struct {
		name  string
		check func() error
		want  func(error) bool
		what  string
	}{
		{"https web.telegram.org verifies with the lab CA", func() error {
			return handshake(nsProbe, https("web.telegram.org"), "web.telegram.org", true)
		}, isNil, "success"},
		{"venus blackholed for the subscriber", func() error {
			c, err := dialIn(nsProbe, "tcp", https("venus.web.telegram.org"), time.Second)
			if err == nil {
				c.Close()
			}
			return err
		}, isTimeout, "a timeout"},
		{"venus reachable from the control", func() error {
			return handshake(nsCtl, https("venus.web.telegram.org"), "venus.web.telegram.org", true)
		}, isNil, "success"},
		{"data centre blackholed for the subscriber", func() error {
			c, err := dialIn(nsProbe, "tcp", net.JoinHostPort(dcBlackholed, "443"), time.Second)
			if err == nil {
				c.Close()
			}
			return err
		}, isTimeout, "a timeout"},
		{"other data centre reachable", func() error {
			c, err := dialIn(nsProbe, "tcp", net.JoinHostPort(dcReachable, "443"), time.Second)
			if err == nil {
				c.Close()
			}
			return err
		}, isNil, "success"},
		{"SNI pluto reset for the subscriber", func() error {
			return handshake(nsProbe, https("pluto.web.telegram.org"), "pluto.web.telegram.org", true)
		}, isReset, "a connection reset"},
		{"innocuous SNI to pluto's address passes", func() error {
			return handshake(nsProbe, https("pluto.web.telegram.org"), "example.com", false)
		}, isNil, "success"},
		{"SNI pluto passes from the control", func() error {
			return handshake(nsCtl, https("pluto.web.telegram.org"), "pluto.web.telegram.org", true)
		}, isNil, "success"},
		{"Host telegram.org reset for the subscriber", func() error {
			_, err := fetch(nsProbe, "http://telegram.org/", plain("telegram.org"))
			return err
		}, isReset, "a connection reset"},
		{"Host telegram.org passes from the control", func() error {
			_, err := fetch(nsCtl, "http://telegram.org/", plain("telegram.org"))
			return err
		}, isNil, "success"},
		{"plain HTTP site passes", func() error {
			_, err := fetch(nsProbe, "http://plain.example/", plain("plain.example"))
			return err
		}, isNil, "success"},
		{"block page served for any Host", func() error {
			body, err := fetch(nsProbe, "http://t.me/", net.JoinHostPort(blockPageAddr, "80"))
			if err == nil && !strings.Contains(body, "<title>"+blockPageTitle+"</title>") {
				err = fmt.Errorf("not the block page: %q", body)
			}
			return err
		}, isNil, "success"},
		{"down.example refuses connections", func() error {
			c, err := dialIn(nsCtl, "tcp", https("down.example"), time.Second)
			if err == nil {
				c.Close()
			}
			return err
		}, func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }, "connection refused"},
	}
	for _, c := range connCases {
		t.Run("net/"+c.name, func(t *testing.T) {
			if err := c.check(); !c.want(err) {
				t.Errorf("got %v, want %s", err, c.what)
			}
		})
	}
}

func isNil(err error) bool { return err == nil }

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
