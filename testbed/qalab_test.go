//go:build testbed

package testbed

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// qaClients are plain Go clients in the lab's namespaces that trust the lab CA.
type qaClients struct{ roots *x509.CertPool }

// handshake completes a verified TLS handshake with ip:443 for sni from ns.
func (q qaClients) handshake(ns, ip, sni string) error {
	c, err := dialIn(ns, "tcp", net.JoinHostPort(ip, "443"), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	return tls.Client(c, &tls.Config{ServerName: sni, RootCAs: q.roots}).Handshake()
}

// page fetches http://HOST/ at ip from ns and returns the page.
func (q qaClients) page(ns, host, ip string) (string, error) {
	res, err := httpIn(ns, "http://"+host+"/", net.JoinHostPort(ip, "80"), time.Second)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

// title turns a page without the title want into an error.
func title(want string) func(string, error) error {
	return func(body string, err error) error {
		if err == nil && !strings.Contains(body, "<title>"+want+"</title>") {
			err = errors.New("page without the title " + want + ": " + body)
		}
		return err
	}
}

// qaLabCheck checks the QA scenarios' mechanisms with plain Go clients from the
// subscriber's and the control's namespaces before the probe is judged, as testLab does
// for the rest of the lab: a wrong verdict with these green points at the probe.
func qaLabCheck(t *testing.T, l *lab) {
	pem, err := os.ReadFile(l.caFile)
	if err != nil {
		t.Fatal(err)
	}
	q := qaClients{roots: x509.NewCertPool()}
	q.roots.AppendCertsFromPEM(pem)
	handshake, page := q.handshake, q.page
	isTimeout := func(err error) bool {
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
	isEOF := func(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) }
	cases := []struct {
		name  string
		check func() error
		want  func(error) bool
	}{
		{"refused.qa refused for the subscriber", func() error {
			c, err := dialIn(nsProbe, "tcp", net.JoinHostPort(qaRefused, "443"), time.Second)
			if err == nil {
				c.Close()
			}
			return err
		}, func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }},
		{"refused.qa reachable from the control", func() error { return handshake(nsCtl, qaRefused, "refused.qa") }, isNil},
		{"SNI reset.qa reset for the subscriber", func() error { return handshake(nsProbe, qaReset, "reset.qa") }, isReset},
		{"Host reset.qa reset for the subscriber", func() error { _, err := page(nsProbe, "reset.qa", qaReset); return err }, isReset},
		{"SNI timeout.qa dropped for the subscriber", func() error { return handshake(nsProbe, qaTimeout, "timeout.qa") }, isTimeout},
		{"timeout.qa reachable from the control", func() error { return handshake(nsCtl, qaTimeout, "timeout.qa") }, isNil},
		{"eof.qa cuts the subscriber's request", func() error { _, err := page(nsProbe, "eof.qa", qaEOF); return err }, isEOF},
		{"eof.qa cuts the subscriber's ClientHello", func() error { return handshake(nsProbe, qaEOF, "eof.qa") }, isEOF},
		{"eof.qa serves the control", func() error { return title("EOF hop")(page(nsCtl, "eof.qa", qaEOF)) }, isNil},
		{"diff.qa diverted to the block page for the subscriber", func() error {
			return title(qaDeniedTitle)(page(nsProbe, "diff.qa", qaDiff))
		}, isNil},
		{"diff.qa served to the control", func() error { return title("Diff site")(page(nsCtl, "diff.qa", qaDiff)) }, isNil},
		{"the ISP's proxy relays sni-proxy.qa", func() error { return handshake(nsCtl, qaProxy, "sni-proxy.qa") }, isNil},
		{"the ISP's resolver sends sni-proxy.qa to its proxy", func() error {
			m, err := lookup(nsProbe, ispResolver, "sni-proxy.qa", dns.TypeA)
			if err == nil && !slices.Equal(answerAddrs(m), []string{qaProxy}) {
				err = errors.New("answered " + strings.Join(answerAddrs(m), ","))
			}
			return err
		}, isNil},
	}
	for _, c := range cases {
		t.Run("lab/"+c.name, func(t *testing.T) {
			if err := c.check(); !c.want(err) {
				t.Errorf("got %v", err)
			}
		})
	}
}
