// Package benchgen makes the realistic web measurements the collector's benchmarks post
// (testbed/bench/ingest, testbed/bench/fleet): DNS, TCP, TLS and HTTP from the probe and
// the control, a verdict, and for about a quarter of them a DNS block with the Internet
// Positif block page's address, as the fingerprints would report it.
package benchgen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// Telegram are the 11 names Kominfo ordered blocked in 2017 (the bundled
// id-telegram-web-2017 schedule).
var Telegram = []string{
	"t.me", "telegram.me", "telegram.org", "core.telegram.org", "desktop.telegram.org",
	"macos.telegram.org", "web.telegram.org", "venus.web.telegram.org", "pluto.web.telegram.org",
	"flora.web.telegram.org", "flora-1.web.telegram.org",
}

// Social are other names the bundled schedules measure.
var Social = []string{"reddit.com", "vimeo.com", "www.tumblr.com", "archive.org", "www.change.org", "signal.org"}

// Shape says how much a measurement holds.
type Shape int

const (
	// Typical is a probe's usual measurement: one A question, one connect, one handshake
	// and one request per vantage point.
	Typical Shape = iota
	// Full adds the AAAA question, a connect to an address only the control saw,
	// certificate chains, sometimes a second handshake and a redirect hop.
	Full
)

// Web returns a measurement of https://d/ started at at, by schedule.
func Web(r *rand.Rand, d string, at time.Time, schedule string, shape Shape) *measurement.Measurement {
	real := fmt.Sprintf("149.154.%d.%d", 160+r.IntN(16), 1+r.IntN(254))
	blocked := r.IntN(4) == 0
	m := &measurement.Measurement{
		ID: measurement.NewID(), SchemaVersion: measurement.SchemaVersion,
		Target: "https://" + d + "/", Kind: measurement.KindWeb, Domain: d, Port: 443, StartedAt: at,
		RuntimeMS: 800 + float64(r.IntN(4000)), Schedule: schedule,
		Software: measurement.Software{Name: "pantau-probe", Version: "v0.4.0"},
		Resolvers: []measurement.ResolverInfo{{Resolver: "udp://202.134.0.155:53", Transport: measurement.TransportUDP,
			System: true, Egress: []string{fmt.Sprintf("180.250.%d.%d", r.IntN(256), 1+r.IntN(254))}}},
		Fingerprints: []measurement.FingerprintMatch{},
	}
	g := gen{r: r, shape: shape}
	m.Control = &measurement.Control{Helper: "https://control.pantau.example",
		Attempts:     []measurement.ControlAttempt{{Helper: "https://control.pantau.example", TimeMS: 300 + float64(r.IntN(500))}},
		Observations: g.observations(d, real, "udp://8.8.8.8:53", false, false)}
	m.Observations = g.observations(d, real, "udp://202.134.0.155:53", true, blocked)
	m.Verdict = measurement.Verdict{Status: measurement.StatusAccessible,
		Reason: "The probe fetched the page the control fetched.", Evidence: []string{"HTTP status 200 and title match the control"}}
	if blocked {
		m.Fingerprints = []measurement.FingerprintMatch{{Name: "id-internet-positif", Scope: "isp", Location: "dns",
			PatternType: "ip", Pattern: "36.86.63.185", Confidence: 100, Where: "dns udp://202.134.0.155:53 A answer 36.86.63.185"}}
		m.Verdict = measurement.Verdict{Status: measurement.StatusBlocked, Method: measurement.MethodDNS,
			Reason:   "The ISP resolver answered with the Internet Positif block page address.",
			Evidence: []string{"dns A answer 36.86.63.185 matches id-internet-positif", "control resolved " + real}}
	}
	m.Normalise()
	return m
}

type gen struct {
	r     *rand.Rand
	shape Shape
}

func (g gen) ms(lo, n int) float64 { return float64(lo) + float64(g.r.IntN(n*1000))/1000 }

// observations is one vantage point's view of https://d/.
func (g gen) observations(d, real, resolver string, system, blocked bool) measurement.Observations {
	addr, other := real, "149.154.167.99" // other: an address only the control's DNS returned
	if blocked {
		addr, other = "36.86.63.185", real
	}
	o := measurement.Observations{
		DNS: []measurement.DNSQuery{{Resolver: resolver, Transport: measurement.TransportUDP, System: system, Query: d, QType: "A", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{{Name: d, Type: "A", TTL: uint32(60 + g.r.IntN(3000)), Data: addr, ASN: 62041}}, RTTMS: g.ms(5, 40)}},
		TCP: []measurement.TCPConnect{{IP: addr, Port: 443, Origin: measurement.OriginProbe, TimeMS: g.ms(20, 80)}},
		TLS: []measurement.TLSHandshake{g.handshake(d, addr, blocked)},
	}
	o.HTTP = []measurement.HTTPRequest{g.request("https://"+d+"/", addr, blocked)}
	if g.shape == Typical {
		return o
	}
	o.DNS = append(o.DNS, measurement.DNSQuery{Resolver: resolver, Transport: measurement.TransportUDP, System: system, Query: d, QType: "AAAA",
		Rcode: "NOERROR", Answers: []measurement.DNSAnswer{}, Failure: measurement.Failure("dns_no_answer"), RTTMS: g.ms(5, 40)})
	o.TCP = append(o.TCP, measurement.TCPConnect{IP: other, Port: 443, Origin: measurement.OriginControl, TimeMS: g.ms(20, 80)})
	if g.r.IntN(3) == 0 { // a second handshake, on the other address
		o.TLS = append(o.TLS, g.handshake(d, other, false))
	}
	if g.r.IntN(2) == 0 { // a redirect hop first
		hop := o.HTTP[0]
		o.HTTP[0].Status, o.HTTP[0].URL = 301, "https://"+d+"/?lang=id"
		o.HTTP[0].Headers = map[string]string{"Location": "https://" + d + "/", "Server": "nginx"}
		o.HTTP[0].BodyLength, o.HTTP[0].BodySHA256, o.HTTP[0].Title = 0, "", ""
		o.HTTP = append(o.HTTP, hop)
	}
	return o
}

// handshake is a TLS 1.3 handshake with ip; Full adds the certificate chain.
func (g gen) handshake(d, ip string, blocked bool) measurement.TLSHandshake {
	h := measurement.TLSHandshake{IP: ip, Port: 443, SNI: d, Version: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256",
		ALPN: "h2", CertValid: true, TimeMS: g.ms(40, 200)}
	subject, issuer, names := "CN=*.telegram.org", "CN=Go Daddy Secure Certificate Authority - G2,O=GoDaddy.com\\, Inc.,C=US", []string{"*.telegram.org", "telegram.org"}
	if blocked {
		subject, issuer, names = "CN=internetpositif.id", "CN=R3,O=Let's Encrypt,C=US", []string{"internetpositif.id"}
		h.CertValid, h.Failure = false, measurement.Failure("ssl_invalid_hostname")
	}
	if g.shape == Typical {
		return h
	}
	nb := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	h.Certificates = []measurement.Certificate{
		{Subject: subject, Issuer: issuer, DNSNames: names, NotBefore: nb, NotAfter: nb.AddDate(1, 0, 0), SHA256: hexString(g.r, 32)},
		{Subject: issuer, Issuer: "CN=Go Daddy Root Certificate Authority - G2,O=GoDaddy.com\\, Inc.,C=US",
			NotBefore: nb.AddDate(-5, 0, 0), NotAfter: nb.AddDate(5, 0, 0), SHA256: hexString(g.r, 32)},
	}
	return h
}

// request is a GET of url at ip: the page, or the block page.
func (g gen) request(url, ip string, blocked bool) measurement.HTTPRequest {
	h := measurement.HTTPRequest{URL: url, Method: "GET", Address: ip + ":443", Status: 200,
		Headers:    map[string]string{"Content-Type": "text/html; charset=utf-8", "Server": "nginx/1.18.0"},
		BodyLength: 9000 + int64(g.r.IntN(30000)), BodySHA256: hexString(g.r, 32), Title: "Telegram Messenger",
		TimeMS: g.ms(80, 900)}
	if blocked {
		h.Title, h.BodyLength = "Internet Positif", 1412
	}
	return h
}

func hexString(r *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 2*n)
	for i := range b {
		b[i] = digits[r.IntN(16)]
	}
	return string(b)
}
