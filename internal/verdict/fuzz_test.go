package verdict

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// FuzzOf feeds Of arbitrary measurements: it must never panic, never mutate its input,
// and always return a well-formed verdict. An input starting with '{' is a measurement
// in JSON; any other input is a program for fuzzMeasurement, which explores the rules
// far better than mutated JSON does.
func FuzzOf(f *testing.F) {
	seeds := []*measurement.Measurement{
		meas(httpsU, probe(site(siteIP)), control(site(siteIP))),
		meas(httpU, lie(), probe(doh("A", siteIP)), control(plainSite(siteIP))),
		meas(httpsU, probe(sys("A", lieIP), late("NOERROR", siteIP)), control(site(siteIP))),
		meas(httpsU, probe(sys("A", siteIP), connect(siteIP, ""), handshake(siteIP, domain, failure.ConnectionReset, false), swapped(siteIP, "")), control(site(siteIP))),
		meas("tcp://example.org:22", probe(sys("A", siteIP), connect(siteIP, failure.GenericTimeout)), control(sys("A", siteIP), connect(siteIP, ""))),
		meas(httpU, probe(plainSite(siteIP)), fingerprint("fp", "body", "http[0] body")),
		meas(httpsU, probe(sysFail("A", failure.DNSNXDomain)), control(sysFail("A", failure.DNSNXDomain))),
		meas(httpU, probe(sys("A", "10.10.0.1"), bogons("10.10.0.1"), connect("10.10.0.1", ""), get(httpU, "10.10.0.1", 200, 900, "Login")),
			control(plainSite(siteIP)), canary([]string{"10.10.0.1"}, "http://portal.example/", 200, portalSHA, "Login")),
		meas(httpsU, probe(site(siteIP), lastHop(func(h *measurement.HTTPRequest) { h.Status = 302 })), serverSide("fp", "body", "http[0] body")),
	}
	for _, m := range seeds {
		b, err := json.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"web","target":"https://x/","domain":"x","dns":[{"system":true,"qtype":"A","answers":[{"type":"A","data":"not an ip"}],"late_replies":[{"answers":null}]}],"http":[{"url":"%zz","address":"::::"}],"control":{"dns":null,"tls":[{"ip":"","sni":"x","cert_valid":true}]}}`))
	f.Add([]byte{0x20, 0, 1, 0, 1, 0, 4, 0, 0, 0, 0, 5, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0})
	f.Add([]byte{0x21, 0, 0, 0, 4, 1, 0, 0, 1, 3, 4, 1, 0, 0, 5, 6, 1, 1, 0, 0, 0, 0, 7, 1, 0})
	f.Add([]byte{0x12, 0, 1, 1, 3, 0, 4, 0, 1, 0, 6, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m measurement.Measurement
		if len(data) > 0 && data[0] == '{' {
			if err := json.Unmarshal(data, &m); err != nil {
				return
			}
		} else {
			m = *fuzzMeasurement(data)
		}
		before, err := json.Marshal(&m)
		if err != nil {
			return
		}
		v := Of(&m)
		after, _ := json.Marshal(&m)
		if !bytes.Equal(before, after) {
			t.Fatalf("Of mutated the measurement")
		}
		if err := checkVerdict(v); err != "" {
			t.Fatalf("verdict %+v: %s", v, err)
		}
	})
}

// Vocabularies of fuzzMeasurement.
var (
	fuzzTargets  = []string{httpsU, httpU, "tcp://example.org:22", "https://" + siteIP + "/", "tcp://[" + siteV6 + "]:22"}
	fuzzIPs      = []string{siteIP, siteIP2, siteV6, cdnIP, lieIP, "127.0.0.1", "not-an-ip", ""}
	fuzzFailures = []string{"", failure.DNSNXDomain, failure.DNSServfail, failure.DNSRefused, failure.DNSNoAnswer,
		failure.GenericTimeout, failure.ConnectionReset, failure.EOF, failure.ConnectionRefused, failure.NetworkUnreachable,
		failure.HostUnreachable, failure.SSLUnknownAuth, failure.SSLInvalidHostname, failure.SSLFailedHandshake, "unknown_failure: x"}
	fuzzURLs      = []string{httpsU, httpU, "https://www.example.org/", "http://blocked.isp.example/", "%zz", ""}
	fuzzStatuses  = []int{0, 200, 200, 301, 302, 403, 451, 503}
	fuzzTitles    = []string{"", title, "Internet Positif", "example domain", "x"}
	fuzzLocations = []string{"dns", "body", "title", "header.location", "DNS", ""}
	fuzzWheres    = []string{"dns " + sysRes + " A answer " + lieIP, "dns udp://8.8.8.8:53 A answer 127.0.0.1", "http[0] body", "http[9] title", "http[", ""}
	fuzzRcodes    = []string{"NOERROR", "NXDOMAIN", "SERVFAIL", ""}
	fuzzCanaries  = []opt{
		normalCanary(),
		canary([]string{"10.10.0.1"}, "http://portal.example/", 200, portalSHA, "Login"),
		canary([]string{canaryIP}, httpU, 200, "", title),
		canary([]string{}, "", 0, "", ""),
		func(m *measurement.Measurement) {
			m.Canary = &measurement.Canary{Name: domain, Bogons: []string{"127.0.0.1"}}
		},
	}
)

// fuzzMeasurement interprets data as a program building a measurement: the first byte
// picks the target and the control, then each op byte adds an observation whose
// details the following bytes pick. Missing bytes read as zero.
func fuzzMeasurement(data []byte) *measurement.Measurement {
	r := &byteReader{data: data}
	head := r.next()
	var opts []opt
	switch (head >> 4) % 3 {
	case 1:
		opts = append(opts, controlFailed(failure.GenericTimeout))
	case 2:
		opts = append(opts, control())
	}
	m := meas(pick(fuzzTargets, head), opts...)
	side := func() *measurement.Observations {
		if r.next()%2 == 1 && m.Control != nil {
			return &m.Control.Observations
		}
		return &m.Observations
	}
	for ops := 0; r.more() && ops < 64; ops++ {
		switch r.next() % 8 {
		case 0:
			o := side()
			system, qtype := r.next()%2 == 0, "A"
			if r.next()%2 == 1 {
				qtype = "AAAA"
			}
			var addrs []string
			for range r.next() % 4 {
				addrs = append(addrs, pick(fuzzIPs, r.next()))
			}
			query(sysRes, "udp", system, qtype, addrs...)(o)
			if f := pick(fuzzFailures, r.next()); f != "" {
				o.DNS[len(o.DNS)-1].Failure = &f
			}
			o.DNS[len(o.DNS)-1].Rcode = pick(fuzzRcodes, r.next())
		case 1, 2, 3:
			o, kind, arg := side(), r.next(), pick(fuzzIPs, r.next())
			if len(o.DNS) == 0 {
				continue
			}
			q := &o.DNS[len(o.DNS)-1]
			switch kind % 3 {
			case 0:
				late(pick(fuzzRcodes, r.next()), arg)(o)
			case 1:
				q.Bogons = append(q.Bogons, arg)
			default:
				asn(uint32(r.next() % 3))(o)
			}
		case 4:
			o := side()
			origins := []string{measurement.OriginProbe, measurement.OriginControl, measurement.OriginTarget}
			connectFrom(pick(fuzzIPs, r.next()), pick(origins, r.next()), pick(fuzzFailures, r.next()))(o)
		case 5:
			o, ip, flags, f := side(), pick(fuzzIPs, r.next()), r.next(), pick(fuzzFailures, r.next())
			sni := domain
			if flags&4 != 0 {
				sni = "example.com"
			}
			o.TLS = append(o.TLS, measurement.TLSHandshake{IP: ip, Port: 443, SNI: sni, SNISwap: flags&1 != 0, CertValid: flags&2 != 0, Failure: measurement.Failure(f)})
		case 6:
			o, u, ip := side(), pick(fuzzURLs, r.next()), pick(fuzzIPs, r.next())
			h := measurement.HTTPRequest{URL: u, Method: "GET", Address: addr(u, ip), Status: pick(fuzzStatuses, r.next()),
				BodyLength: int64(r.next()) * 100, BodyTruncated: r.next()%4 == 0, Title: pick(fuzzTitles, r.next()),
				Failure: measurement.Failure(pick(fuzzFailures, r.next()))}
			o.HTTP = append(o.HTTP, h)
		case 7:
			fingerprint("fp", pick(fuzzLocations, r.next()), pick(fuzzWheres, r.next()))(m)
			if r.next()%4 == 0 {
				m.Fingerprints[len(m.Fingerprints)-1].Scope = scopeFP
			}
		}
	}
	if head&8 != 0 && len(data) > 0 {
		pick(fuzzCanaries, data[len(data)-1])(m)
	}
	return m
}

type byteReader struct {
	data []byte
	off  int
}

func (r *byteReader) more() bool { return r.off < len(r.data) }

func (r *byteReader) next() byte {
	if r.off >= len(r.data) {
		return 0
	}
	r.off++
	return r.data[r.off-1]
}

func pick[T any](from []T, b byte) T { return from[int(b)%len(from)] }

// checkVerdict returns why v is not a well-formed verdict, or "".
func checkVerdict(v measurement.Verdict) string {
	switch v.Status {
	case measurement.StatusBlocked:
		switch v.Method {
		case measurement.MethodDNS, measurement.MethodTCP, measurement.MethodTLS, measurement.MethodHTTP:
		default:
			return "blocked without a valid method"
		}
	case measurement.StatusAccessible, measurement.StatusDown, measurement.StatusInconclusive:
		if v.Method != "" {
			return "method without a block"
		}
	default:
		return "invalid status"
	}
	if v.Reason == "" || !strings.HasSuffix(v.Reason, ".") {
		return "reason is not a sentence"
	}
	if v.Evidence == nil || len(v.Evidence) > maxEvidence {
		return "evidence missing or too long"
	}
	for _, s := range append([]string{v.Reason}, v.Evidence...) {
		if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) || len(s) > maxReasonLen+1 {
			return "text not clean: " + s
		}
	}
	return ""
}

func TestClean(t *testing.T) {
	ev := make([]string, 40)
	for i := range ev {
		ev[i] = "fact\x00\xff"
	}
	v := clean(measurement.Verdict{Status: measurement.StatusInconclusive, Reason: strings.Repeat("é", 400), Evidence: ev})
	if err := checkVerdict(v); err != "" {
		t.Fatal(err)
	}
	if len(v.Evidence) != maxEvidence || v.Evidence[0] != "fact \uFFFD" || v.Evidence[maxEvidence-1] != "… 9 more facts omitted" {
		t.Errorf("evidence %q", v.Evidence)
	}
	if !strings.HasSuffix(v.Reason, "é….") || len(v.Reason) > maxReasonLen+1 {
		t.Errorf("reason %q (%d bytes)", v.Reason, len(v.Reason))
	}
}
