package verdict

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// connState is how the connects to one address compare with the control's.
type connState int

const (
	connOK      connState = iota // the probe connected
	connBlocked                  // the probe failed, the control connected
	connDown                     // both failed
	connUnknown                  // the probe failed, the control did not try
	connIgnored                  // the probe has no route (no IPv6, …): not evidence
)

// conn is one address the probe connected to, or tried to.
type conn struct {
	ip, failure, ctlFailure string
	state                   connState
}

// userConns classifies the probe's connects to the addresses its own DNS gave (or the
// target's literal): the ones a user of the network would reach. Several attempts at
// one address count as a success if one succeeded.
func (a *analysis) userConns() []conn {
	var out []conn
	for _, c := range a.m.TCP {
		if c.Origin == measurement.OriginControl {
			continue
		}
		i := slices.IndexFunc(out, func(x conn) bool { return x.ip == c.IP })
		if i < 0 {
			out = append(out, conn{ip: c.IP, failure: str(c.Failure)})
			continue
		}
		if c.Failure == nil {
			out[i].failure = ""
		}
	}
	for i := range out {
		out[i].state, out[i].ctlFailure = a.compareConn(out[i].ip, out[i].failure)
	}
	return out
}

// compareConn classifies the probe's connect to ip (failure "" for success) against
// the control's connect to the same address. A failure that only says the probe has
// no route there is ignored: network_unreachable, an IPv6 host_unreachable, and an
// IPv6 timeout when no IPv6 connect of this measurement succeeded (the probe's IPv6
// is not shown to work) unless the control failed there too.
func (a *analysis) compareConn(ip, f string) (connState, string) {
	if f == "" {
		return connOK, ""
	}
	if f == failure.NetworkUnreachable || f == failure.HostUnreachable && isIPv6(ip) {
		return connIgnored, ""
	}
	ctlOK, seen, ctlFailure := false, false, ""
	if a.ctl != nil {
		for _, c := range a.ctl.TCP {
			if c.IP != ip {
				continue
			}
			if c.Failure == nil {
				ctlOK = true
			} else {
				seen, ctlFailure = true, *c.Failure
			}
		}
	}
	noV6 := isIPv6(ip) && f == failure.GenericTimeout && !a.v6works
	switch {
	case ctlOK && noV6:
		return connIgnored, ""
	case ctlOK:
		return connBlocked, ""
	case seen:
		return connDown, ctlFailure
	case noV6:
		return connIgnored, ""
	}
	return connUnknown, ""
}

// ipv6Worked reports whether some IPv6 connect or fetch of m got through.
func ipv6Worked(m *measurement.Measurement) bool {
	for _, c := range m.TCP {
		if c.Failure == nil && isIPv6(c.IP) {
			return true
		}
	}
	for _, h := range m.HTTP {
		if h.Status > 0 && isIPv6(hostOf(h.Address)) {
			return true
		}
	}
	return false
}

// connectedAtBoth returns the probe's own addresses that the probe and the control both
// connected to.
func (a *analysis) connectedAtBoth() []string {
	var out []string
	for _, c := range a.userConns() {
		if c.state == connOK && slices.ContainsFunc(a.ctl.TCP, func(x measurement.TCPConnect) bool { return x.IP == c.ip && x.Failure == nil }) {
			out = append(out, c.ip)
		}
	}
	return out
}

// tcp compares the probe's connects with the control's (rule 3, and the TCP half of
// rule 2). It decides when no address the probe would use could be reached.
func (a *analysis) tcp(d dnsResult) (measurement.Verdict, bool) {
	conns := a.userConns()
	if len(conns) == 0 {
		a.noteProbeOutcome()
		return a.inconclusive(fmt.Sprintf("The probe found no address to connect to for %s, and the control gives nothing to compare with.", a.domain)), true
	}
	var ok, blocked, down, unknown, ignored []string
	for _, c := range conns {
		switch c.state {
		case connOK:
			ok = append(ok, c.ip)
		case connBlocked:
			blocked = append(blocked, c.ip)
			a.note("TCP connect to %s %s (%s) from the probe; the control connected", c.ip, word(c.failure), c.failure)
		case connDown:
			down = append(down, c.ip)
			a.note("TCP connect to %s failed at the probe (%s) and at the control (%s)", c.ip, c.failure, c.ctlFailure)
		case connUnknown:
			unknown = append(unknown, c.ip)
			a.note("TCP connect to %s failed at the probe (%s); the control did not try it", c.ip, c.failure)
		case connIgnored:
			ignored = append(ignored, c.ip)
			a.note("ignored %s: %s at the probe (%s)", c.ip, c.failure, noRoute(c.ip, c.failure))
		}
	}
	a.noteControlOrigin()
	what := a.domain
	if a.tcpKind {
		what = a.m.Target
	}
	at := func(ips []string) string {
		if a.ipTarget {
			return what
		}
		return what + " at " + list(ips)
	}
	switch {
	case len(ok) > 0:
		if a.tcpKind {
			a.note("the probe connected to %s", list(ok))
		}
		if len(blocked) > 0 {
			a.note("partial: the probe connected to %s", list(ok))
		}
		return measurement.Verdict{}, false
	case a.fetchReplied():
		a.note("the fetch still got a reply from %s: the connect failures did not stop it", a.m.HTTP[0].Address)
		return measurement.Verdict{}, false
	case len(blocked) > 0:
		f := ""
		for _, c := range conns {
			if c.state == connBlocked {
				f = c.failure
				break
			}
		}
		return a.attribute(d, blocked, measurement.MethodTCP,
			fmt.Sprintf("Connections to %s %s from the probe, while the control connected to %s.", at(blocked), happenedAll(f), plural(len(blocked), "the same address", "the same addresses")),
			"could not be connected to"), true
	case len(down) > 0:
		if d.wrong(down) {
			return a.attribute(d, down, measurement.MethodDNS, "", "did not accept connections"), true
		}
		return a.down(fmt.Sprintf("Neither the probe nor the control could connect to %s, so it is down rather than blocked.", at(down))), true
	case len(unknown) > 0:
		return a.inconclusive(fmt.Sprintf("The probe could not connect to %s, and the control did not try the same address.", at(unknown))), true
	}
	if !slices.ContainsFunc(ignored, func(ip string) bool { return !isIPv6(ip) }) {
		return a.inconclusive(fmt.Sprintf("The probe has no working IPv6 route to %s, so it could not test whether it is blocked.", at(ignored))), true
	}
	return a.inconclusive(fmt.Sprintf("The probe has no route to %s, so it could not test whether it is blocked.", at(ignored))), true
}

// noteControlOrigin records failures at the addresses only the control's DNS gave:
// evidence, not the user's path.
func (a *analysis) noteControlOrigin() {
	for _, c := range a.m.TCP {
		if c.Origin != measurement.OriginControl || c.Failure == nil {
			continue
		}
		if st, _ := a.compareConn(c.IP, *c.Failure); st == connBlocked {
			a.note("TCP connect to the control's address %s %s (%s) from the probe; the control connected", c.IP, word(*c.Failure), *c.Failure)
		}
	}
}

// noRoute says why a failure at ip is ignored.
func noRoute(ip, f string) string {
	switch {
	case isIPv6(ip) && f == failure.GenericTimeout:
		return "no IPv6 connect succeeded in this measurement: the probe's IPv6 is not shown to work"
	case isIPv6(ip):
		return "no IPv6 connectivity"
	}
	return "no route"
}

func isIPv6(ip string) bool {
	addr, err := netip.ParseAddr(ip)
	return err == nil && !addr.Unmap().Is4()
}

// hostOf returns the IP of an "IP:PORT" address (or of a bare IP), else "".
func hostOf(address string) string {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return ""
	}
	return host
}

// attribute returns a blocked verdict by method, unless every address involved came
// from the probe's DNS without being confirmed by the control: then the resolver sent
// the probe to the wrong server, and the method is dns. clause says what that server
// did, e.g. "presented a certificate not valid for the site".
func (a *analysis) attribute(d dnsResult, ips []string, method, reason, clause string) measurement.Verdict {
	if d.wrong(ips) {
		_, _, label := a.drivingQueries()
		a.note("%s came from the probe's DNS answers and is not among the control's addresses", list(ips))
		return a.blocked(measurement.MethodDNS, fmt.Sprintf("%s sent the probe to %s, which is not among the control's addresses for %s, and that server %s.", upper(label), list(ips), a.domain, clause))
	}
	return a.blocked(method, reason)
}

// wrong reports whether every address in ips came from the probe's DNS unconfirmed by
// the control.
func (d dnsResult) wrong(ips []string) bool {
	if len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !d.unconfirmed[ip] {
			return false
		}
	}
	return true
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// fetchReplied reports whether the first hop of the probe's fetch got a reply: then
// connects (and, for HTTPS, a handshake) to the target host worked at least once, and
// failures seen by the connect steps were not what stopped the page.
func (a *analysis) fetchReplied() bool {
	return len(a.m.HTTP) > 0 && a.m.HTTP[0].Status > 0
}
