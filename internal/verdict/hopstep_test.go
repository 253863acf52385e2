package verdict

import (
	"testing"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// A redirect hop's own connect and handshake, which the engine records after the TCP
// and TLS steps' (the last record at the hop's address), name the step it failed at.
func TestRedirectHopRecorded(t *testing.T) {
	const www = "https://www.example.org/"
	const wwwHTTP = "http://www.example.org/"
	hopConnect := func(ip string, port int, f string) obs {
		return func(o *measurement.Observations) {
			o.TCP = append(o.TCP, measurement.TCPConnect{IP: ip, Port: port, Origin: measurement.OriginProbe, Failure: measurement.Failure(f)})
		}
	}
	hopHandshake := func(ip, f string) obs { return handshake(ip, "www.example.org", f, f == "") }
	// redirected is the probe reaching the site, redirected to u at cdnIP, with the hop's
	// records and its failure f.
	redirected := func(u, f string, records ...obs) opt {
		return probe(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 301, 0, ""), located(u), all(records...), getFail(u, cdnIP, f))
	}
	ctl := control(sys("A", siteIP), connect(siteIP, ""), get(httpU, siteIP, 301, 0, ""), located(www), get(www, cdnIP, 200, bodyLen, title))
	run(t, []tc{
		{
			name:     "the hop's connect failed",
			m:        meas(httpU, redirected(www, failure.GenericTimeout, hopConnect(cdnIP, 443, failure.GenericTimeout)), ctl),
			status:   blocked,
			method:   mTCP,
			evidence: []string{"failed (generic_timeout_error); control got status 200"},
		},
		{
			name: "the hop's connect failed after an earlier connect there succeeded",
			m: meas(httpU, redirected(www, failure.ConnectionRefused,
				hopConnect(cdnIP, 443, ""), hopConnect(cdnIP, 443, failure.ConnectionRefused)), ctl),
			status:   blocked,
			method:   mTCP,
			evidence: []string{"failed (connection_refused)"},
		},
		{
			name:     "the ClientHello was dropped: the hop's handshake timed out",
			m:        meas(httpU, redirected(www, failure.GenericTimeout, hopConnect(cdnIP, 443, ""), hopHandshake(cdnIP, failure.GenericTimeout)), ctl),
			status:   blocked,
			method:   mTLS,
			reason:   "The TLS handshake with www.example.org timed out",
			evidence: []string{"failed (generic_timeout_error)"},
		},
		{
			name:     "the request was dropped after a good handshake",
			m:        meas(httpU, redirected(www, failure.GenericTimeout, hopConnect(cdnIP, 443, ""), hopHandshake(cdnIP, "")), ctl),
			status:   blocked,
			method:   mHTTP,
			evidence: []string{"failed (generic_timeout_error)"},
		},
		{
			name: "an HTTPS target: the hop's handshake is not taken for the target's at that address",
			m: meas(httpsU,
				probe(site(siteIP), located(www), lastHop(func(h *measurement.HTTPRequest) { h.Status = 301 }),
					hopConnect(cdnIP, 443, ""), hopHandshake(cdnIP, failure.GenericTimeout), getFail(www, cdnIP, failure.GenericTimeout)),
				control(site(siteIP), located(www), lastHop(func(h *measurement.HTTPRequest) { h.Status = 301 }),
					hopConnect(cdnIP, 443, ""), hopHandshake(cdnIP, ""), get(www, cdnIP, 200, bodyLen, title))),
			status:   blocked,
			method:   mTLS,
			evidence: []string{"failed (generic_timeout_error)"},
			absent:   []string{"partial", "SNI www.example.org"},
		},
		{
			name:     "a plain-HTTP hop dropped after the connect",
			m:        meas(httpU, redirected(wwwHTTP, failure.GenericTimeout, hopConnect(cdnIP, 80, "")), ctl),
			status:   blocked,
			method:   mHTTP,
			evidence: []string{"failed (generic_timeout_error)"},
		},
	})
}
