package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// schedule is what every simulated probe measures each round: the 11 Telegram names of
// the 2017 order (the bundled id-telegram-web-2017 schedule).
var schedule = []string{
	"t.me", "telegram.me", "telegram.org", "core.telegram.org", "desktop.telegram.org",
	"macos.telegram.org", "web.telegram.org", "venus.web.telegram.org", "pluto.web.telegram.org",
	"flora.web.telegram.org", "flora-1.web.telegram.org",
}

// roundBody is the JSON batch of one probe's round at at: one web measurement per name of
// the schedule, a quarter of them DNS-blocked, in the shape testbed/bench/ingest
// generates (fewer certificates and redirects: a probe's typical measurement, not its
// largest).
func roundBody(r *rand.Rand, at time.Time) ([]byte, error) {
	ms := make([]*measurement.Measurement, len(schedule))
	for i, d := range schedule {
		ms[i] = webMeasurement(r, d, at.Add(time.Duration(i)*1500*time.Millisecond))
	}
	return json.Marshal(ms)
}

func webMeasurement(r *rand.Rand, d string, at time.Time) *measurement.Measurement {
	real := fmt.Sprintf("149.154.%d.%d", 160+r.IntN(16), 1+r.IntN(254))
	blocked := r.IntN(4) == 0
	m := &measurement.Measurement{
		ID: measurement.NewID(), SchemaVersion: measurement.SchemaVersion,
		Target: "https://" + d + "/", Kind: measurement.KindWeb, Domain: d, Port: 443, StartedAt: at,
		RuntimeMS: 800 + float64(r.IntN(4000)), Schedule: "id-telegram-web-2017",
		Software:     measurement.Software{Name: "pantau-probe", Version: "v0.4.0"},
		Resolvers:    []measurement.ResolverInfo{{Resolver: "udp://202.134.0.155:53", Transport: measurement.TransportUDP, System: true}},
		Fingerprints: []measurement.FingerprintMatch{},
	}
	m.Control = &measurement.Control{Helper: "https://control.pantau.example",
		Attempts:     []measurement.ControlAttempt{{Helper: "https://control.pantau.example", TimeMS: 300 + float64(r.IntN(500))}},
		Observations: observations(r, d, real, "udp://8.8.8.8:53", false, false)}
	m.Observations = observations(r, d, real, "udp://202.134.0.155:53", true, blocked)
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

// observations is one vantage point's view of https://d/: an A question, a connect, a
// handshake and a request.
func observations(r *rand.Rand, d, addr, resolver string, system, blocked bool) measurement.Observations {
	ms := func(lo, n int) float64 { return float64(lo) + float64(r.IntN(n*1000))/1000 }
	if blocked {
		addr = "36.86.63.185"
	}
	h := measurement.TLSHandshake{IP: addr, Port: 443, SNI: d, Version: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256",
		ALPN: "h2", CertValid: !blocked, TimeMS: ms(40, 200)}
	if blocked {
		h.Failure = measurement.Failure("ssl_invalid_hostname")
	}
	title := "Telegram Messenger"
	if blocked {
		title = "Internet Positif"
	}
	return measurement.Observations{
		DNS: []measurement.DNSQuery{{Resolver: resolver, Transport: measurement.TransportUDP, System: system, Query: d, QType: "A", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{{Name: d, Type: "A", TTL: uint32(60 + r.IntN(3000)), Data: addr, ASN: 62041}}, RTTMS: ms(5, 40)}},
		TCP: []measurement.TCPConnect{{IP: addr, Port: 443, Origin: measurement.OriginProbe, TimeMS: ms(20, 80)}},
		TLS: []measurement.TLSHandshake{h},
		HTTP: []measurement.HTTPRequest{{URL: "https://" + d + "/", Method: "GET", Address: addr + ":443", Status: 200,
			Headers:    map[string]string{"Content-Type": "text/html; charset=utf-8", "Server": "nginx/1.18.0"},
			BodyLength: 9000 + int64(r.IntN(30000)), Title: title, TimeMS: ms(80, 900)}},
	}
}

// heartbeatBody is a probe's heartbeat at at, after a round that started at last.
func heartbeatBody(at, last time.Time, depth int) ([]byte, error) {
	h := measurement.Heartbeat{SentAt: at, Software: measurement.Software{Name: "pantau-probe", Version: "v0.4.0"},
		SchedulesHash: "sha256:bench", SpoolDepth: depth,
		Schedules: []measurement.ScheduleStatus{{Name: "id-telegram-web-2017", LastStart: last, LastEnd: last.Add(20 * time.Second),
			Measurements: len(schedule), Next: last.Add(15 * time.Minute)}}}
	return json.Marshal(h)
}
