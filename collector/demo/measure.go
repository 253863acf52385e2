package demo

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/internal/bogon"
	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/fingerprint"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/verdict"
)

// Method is how a network blocks a name.
type Method struct {
	kind  int    // dnsAddr, dnsCNAME or tlsReset
	cname string // the CNAME its resolver answers (dnsCNAME)
	addr  string // the block page's address its resolver answers
}

const (
	dnsAddr = iota
	dnsCNAME
	tlsReset
)

// DNSAddr blocks by answering the name with addr (a block page's, or a private one).
func DNSAddr(addr string) Method { return Method{kind: dnsAddr, addr: addr} }

// DNSCNAME blocks by answering the name with a CNAME to the block page's host and its addr.
func DNSCNAME(cname, addr string) Method { return Method{kind: dnsCNAME, cname: cname, addr: addr} }

// TLSReset blocks by resetting the TLS handshakes that carry the name (SNI filtering).
func TLSReset() Method { return Method{kind: tlsReset} }

// innocuousSNI is the probe's default server name for the SNI swap.
const innocuousSNI = "example.com"

// telegramASN is the AS of the Telegram addresses.
const telegramASN = 62041

// site is what a name serves when nothing is in the way.
type site struct {
	addr, title string
	status      int
	certNames   []string
}

func siteOf(domain string) site {
	tg := []string{"telegram.org", "*.telegram.org", "*.web.telegram.org"}
	switch domain {
	case "t.me":
		return site{"149.154.167.99", "Telegram Messenger", 200, []string{"t.me", "*.t.me"}}
	case "telegram.me":
		return site{"149.154.167.99", "Telegram Messenger", 200, []string{"telegram.me", "*.telegram.me"}}
	case "telegram.org":
		return site{"149.154.167.99", "Telegram Messenger", 200, tg}
	case "core.telegram.org":
		return site{"149.154.167.99", "Telegram APIs", 200, tg}
	case "desktop.telegram.org":
		return site{"149.154.167.99", "Telegram Desktop", 200, tg}
	case "macos.telegram.org":
		return site{"149.154.167.99", "Telegram for macOS", 200, tg}
	case "web.telegram.org":
		return site{"149.154.167.99", "Telegram Web", 200, tg}
	}
	// The web client's data-centre names answer a plain GET with an empty 404.
	var last byte
	for _, c := range []byte(domain) {
		last += c
	}
	return site{fmt.Sprintf("149.154.167.%d", 90+last%10), "", 404, tg}
}

// sample is one measurement to generate.
type sample struct {
	net    *Network
	probe  string
	domain string
	at     time.Time
	seed   uint64 // from (probe, domain, slot): the measurement's random-looking details
}

// builder makes measurements; its fingerprint set and bogon checker are the probe's.
type builder struct {
	fps    *fingerprint.Set
	bogons *bogon.Checker
}

func newBuilder() *builder {
	return &builder{fps: fingerprint.NewSet(fingerprint.Builtin()), bogons: bogon.New(nil)}
}

// measure builds the measurement of s: observations for the network's state at s.at, the
// control's, the fingerprints that match, and the verdict derived from them.
func (b *builder) measure(s sample) *measurement.Measurement {
	st := siteOf(s.domain)
	blocked := s.net.Blocked(s.domain, s.at)
	m := &measurement.Measurement{
		ID: s.id(), SchemaVersion: measurement.SchemaVersion, Target: "https://" + s.domain + "/", Kind: measurement.KindWeb,
		Domain: s.domain, Port: 443, StartedAt: s.at, Software: measurement.Software{Name: SoftwareName, Version: "2017-demo"},
		Schedule: "id-telegram-web-2017",
		Resolvers: []measurement.ResolverInfo{{Resolver: "udp://" + s.net.Resolver + ":53", Transport: measurement.TransportUDP,
			System: true, Egress: []string{s.net.Resolver}}},
		Control: &measurement.Control{Helper: "https://control.pantau-demo.invalid/api/v1/control",
			Attempts: []measurement.ControlAttempt{{Helper: "https://control.pantau-demo.invalid/api/v1/control", TimeMS: s.ms(400, 900)}}},
	}
	m.Control.Observations = b.clean(s, "udp://1.1.1.1:53", st)
	switch {
	case !blocked:
		m.Observations = b.clean(s, "udp://"+s.net.Resolver+":53", st)
	case s.net.Block.kind == tlsReset:
		m.Observations = b.sniReset(s, st)
	default:
		m.Observations = b.dnsBlocked(s)
	}
	b.controlConnects(s, m)
	for _, q := range m.DNS {
		m.Fingerprints = append(m.Fingerprints, b.fps.MatchDNS(q)...)
	}
	for i, h := range m.HTTP {
		hdr := http.Header{}
		for k, v := range h.Headers {
			hdr.Set(k, v)
		}
		m.Fingerprints = append(m.Fingerprints, b.fps.MatchHTTP(fmt.Sprintf("http[%d]", i), h.Status, hdr, h.Title, nil)...)
	}
	m.RuntimeMS = s.ms(600, 2400)
	m.Normalise()
	m.Verdict = verdict.Of(m)
	return m
}

// controlConnects adds the control's connects to the probe's addresses it did not
// connect to itself, as the control helper makes them (origin probe): it refuses
// private addresses.
func (b *builder) controlConnects(s sample, m *measurement.Measurement) {
	for _, c := range m.TCP {
		if slices.ContainsFunc(m.Control.TCP, func(x measurement.TCPConnect) bool { return x.IP == c.IP }) {
			continue
		}
		cc := measurement.TCPConnect{IP: c.IP, Port: c.Port, Origin: measurement.OriginProbe, TimeMS: s.ms(150, 400)}
		if b.bogons.IsBogonString(c.IP) {
			cc.Failure, cc.TimeMS = measurement.Failure(failure.RefusedPrivate), 0
		}
		m.Control.TCP = append(m.Control.TCP, cc)
	}
}

// clean is what a vantage point with resolver sees of an unhindered site.
func (b *builder) clean(s sample, resolver string, st site) measurement.Observations {
	o := measurement.Observations{
		DNS: []measurement.DNSQuery{b.query(s, resolver, []measurement.DNSAnswer{{Name: s.domain, Type: "A", TTL: 300, Data: st.addr, ASN: telegramASN}})},
		TCP: []measurement.TCPConnect{{IP: st.addr, Port: 443, Origin: measurement.OriginProbe, TimeMS: s.ms(20, 240)}},
		TLS: []measurement.TLSHandshake{b.handshake(s, st.addr, s.domain, false, st.certNames, "")},
		HTTP: []measurement.HTTPRequest{{URL: "https://" + s.domain + "/", Method: http.MethodGet, Address: st.addr + ":443", Status: st.status,
			Headers: map[string]string{"Server": "nginx/1.12.1", "Content-Type": "text/html; charset=utf-8"}, BodyLength: bodyLength(st),
			BodySHA256: digest("page " + s.domain), Title: st.title, TimeMS: s.ms(80, 600)}},
	}
	return o
}

func bodyLength(st site) int64 {
	if st.status == http.StatusNotFound {
		return 0
	}
	return int64(9000 + 37*len(st.title))
}

// dnsBlocked is what a probe sees when its resolver answers with the block page: the
// connect to that address, and a handshake whose certificate is not the name's (or no
// connect at all, for a private address).
func (b *builder) dnsBlocked(s sample) measurement.Observations {
	bm := s.net.Block
	var answers []measurement.DNSAnswer
	if bm.kind == dnsCNAME {
		answers = append(answers, measurement.DNSAnswer{Name: s.domain, Type: "CNAME", TTL: 60, Data: bm.cname + "."})
		answers = append(answers, measurement.DNSAnswer{Name: bm.cname + ".", Type: "A", TTL: 60, Data: bm.addr})
	} else {
		answers = append(answers, measurement.DNSAnswer{Name: s.domain, Type: "A", TTL: 60, Data: bm.addr})
	}
	q := b.query(s, "udp://"+s.net.Resolver+":53", answers)
	o := measurement.Observations{DNS: []measurement.DNSQuery{q}}
	if len(q.Bogons) > 0 {
		o.TCP = []measurement.TCPConnect{{IP: bm.addr, Port: 443, Origin: measurement.OriginProbe,
			Failure: measurement.Failure(failure.GenericTimeout), TimeMS: 10000}}
		return o
	}
	host := bm.cname
	if host == "" {
		host = "internetpositif.uzone.id"
	}
	o.TCP = []measurement.TCPConnect{{IP: bm.addr, Port: 443, Origin: measurement.OriginProbe, TimeMS: s.ms(10, 90)}}
	o.TLS = []measurement.TLSHandshake{b.handshake(s, bm.addr, s.domain, false, []string{host}, failure.SSLInvalidHostname)}
	return o
}

// sniReset is what a probe sees behind SNI filtering: the right address, a handshake
// reset after the ClientHello with the name, and one that completes with the innocuous name.
func (b *builder) sniReset(s sample, st site) measurement.Observations {
	o := measurement.Observations{
		DNS: []measurement.DNSQuery{b.query(s, "udp://"+s.net.Resolver+":53", []measurement.DNSAnswer{{Name: s.domain, Type: "A", TTL: 300, Data: st.addr, ASN: telegramASN}})},
		TCP: []measurement.TCPConnect{{IP: st.addr, Port: 443, Origin: measurement.OriginProbe, TimeMS: s.ms(20, 240)}},
	}
	reset := measurement.TLSHandshake{IP: st.addr, Port: 443, SNI: s.domain, Failure: measurement.Failure(failure.ConnectionReset), TimeMS: s.ms(20, 120)}
	swap := b.handshake(s, st.addr, innocuousSNI, true, st.certNames, failure.SSLInvalidHostname)
	o.TLS = []measurement.TLSHandshake{reset, swap}
	return o
}

// query is one A question to resolver, answered with answers (bogons marked as the
// probe's DNS client marks them).
func (b *builder) query(s sample, resolver string, answers []measurement.DNSAnswer) measurement.DNSQuery {
	q := measurement.DNSQuery{Resolver: resolver, Transport: measurement.TransportUDP, System: true, Query: s.domain, QType: "A",
		Rcode: "NOERROR", Answers: answers, RTTMS: s.ms(2, 60)}
	all := true
	for _, a := range answers {
		if a.Type == "A" && b.bogons.IsBogonString(a.Data) {
			q.Bogons = append(q.Bogons, a.Data)
		} else if a.Type == "A" {
			all = false
		}
	}
	if all && len(q.Bogons) > 0 {
		q.Failure = measurement.Failure(failure.DNSBogon)
	}
	return q
}

// handshake is a completed handshake at ip with sni, presenting a certificate for names
// (valid when fail is empty).
func (b *builder) handshake(s sample, ip, sni string, swap bool, names []string, fail string) measurement.TLSHandshake {
	issuer := "CN=Go Daddy Secure Certificate Authority - G2,OU=http://certs.godaddy.com/repository/,O=GoDaddy.com\\, Inc.,L=Scottsdale,ST=Arizona,C=US"
	if fail != "" && !swap {
		issuer = "CN=" + names[0]
	}
	cert := measurement.Certificate{Subject: "CN=" + strings.TrimPrefix(names[0], "*."), Issuer: issuer, DNSNames: names,
		NotBefore: time.Date(2017, 2, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2018, 5, 1, 0, 0, 0, 0, time.UTC),
		SHA256: digest("cert " + strings.Join(names, " ") + issuer)}
	return measurement.TLSHandshake{IP: ip, Port: 443, SNI: sni, SNISwap: swap, Failure: measurement.Failure(fail), Version: "TLSv1.2",
		CipherSuite: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", ALPN: "h2", Certificates: []measurement.Certificate{cert},
		CertValid: fail == "", TimeMS: s.ms(40, 300)}
}

// id is the measurement's ID: a hash of its probe, name and time, so that the same data
// set has the same IDs on every load.
func (s sample) id() string {
	sum := sha256.Sum256([]byte(s.probe + "\x00" + s.domain + "\x00" + s.at.Format(time.RFC3339Nano)))
	return hex.EncodeToString(sum[:16])
}

// ms is a duration in [lo, hi) milliseconds, fixed by the sample's seed and the bounds.
func (s sample) ms(lo, hi int) float64 {
	var b [24]byte
	binary.LittleEndian.PutUint64(b[:], s.seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(lo))
	binary.LittleEndian.PutUint64(b[16:], uint64(hi))
	sum := sha256.Sum256(b[:])
	v := binary.LittleEndian.Uint64(sum[:8]) % uint64((hi-lo)*1000)
	return float64(lo) + float64(v)/1000
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
