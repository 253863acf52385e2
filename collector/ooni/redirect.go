package ooni

import (
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// redirectStatus are the replies a fetch follows.
var redirectStatus = []int{301, 302, 303, 307, 308}

// unfinishedHop adds the hop a redirect led to when OONI recorded no request for it:
// probe-cli (Web Connectivity LTE) makes a request only on a connection it established,
// so when every connect or handshake of a redirect's target failed, the last request on
// record is the redirect and the failure is only in http_experiment_failure. The hop
// gets that failure and, when a connect of its depth (tag depth=N) to its port is on
// record, that connect's address, so that the verdict can tell at which step the hop
// failed (docs/verdicts.md, rule 5.3), as for a hop the probe recorded itself. A chain
// that ended for having too many redirects ends at the last redirect, failed, as the
// probe records it.
func unfinishedHop(m *measurement.Measurement, tk *testKeys) {
	if len(m.HTTP) == 0 || tk.HTTPExperimentFailure == nil || *tk.HTTPExperimentFailure == "" {
		return
	}
	last := m.HTTP[len(m.HTTP)-1]
	loc, ok := last.Headers["Location"]
	if !ok || last.Failure != nil || !slices.Contains(redirectStatus, last.Status) {
		return
	}
	if *tk.HTTPExperimentFailure == failure.HTTPTooManyRedir {
		// The chain ended at the redirect itself, as the probe records it.
		m.HTTP[len(m.HTTP)-1].Failure = measurement.Failure(failure.HTTPTooManyRedir)
		return
	}
	base, err := url.Parse(last.URL)
	if err != nil {
		return
	}
	next, err := base.Parse(loc)
	if err != nil || (next.Scheme != "http" && next.Scheme != "https") || next.Host == "" {
		return
	}
	port := next.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[next.Scheme]
	}
	hop := len(m.HTTP)
	h := measurement.HTTPRequest{URL: next.String(), Method: "GET", Failure: measurement.Failure(*tk.HTTPExperimentFailure)}
	depth := "depth=" + strconv.Itoa(hop)
	for _, c := range tk.TCPConnect {
		if slices.Contains(c.Tags, depth) && strconv.Itoa(c.Port) == port {
			if ip, _, ok := splitAddr(net.JoinHostPort(c.IP, port)); ok {
				h.Address = net.JoinHostPort(ip, port)
			}
		}
	}
	m.HTTP = append(m.HTTP, h)
}

// hopAddresses gives a failed redirect hop whose address OONI did not record (reports
// before probe-cli's) the address its host resolved to at the probe's system resolver
// (the first, when there were several), or its IP literal. Without one the verdict
// reads the hop's host as unresolved (a dns failure); with it, it tells the step by the
// failure, as for a hop without records of its own (docs/verdicts.md, rule 5.3). A hop
// that failed in DNS, or whose host the probe did not resolve, keeps no address.
func hopAddresses(m *measurement.Measurement, byName map[string][]string) {
	for i := 1; i < len(m.HTTP); i++ {
		h := &m.HTTP[i]
		if h.Address != "" || h.Failure == nil || failure.IsDNS(*h.Failure) {
			continue
		}
		u, err := url.Parse(h.URL)
		if err != nil || u.Hostname() == "" {
			continue
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
		ip, err := netip.ParseAddr(host)
		switch {
		case port == "":
		case err == nil:
			h.Address = net.JoinHostPort(ip.Unmap().String(), port)
		case len(byName[host]) > 0:
			h.Address = net.JoinHostPort(byName[host][0], port)
		}
	}
}
