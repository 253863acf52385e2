package store_test

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	influxwrite "github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// describe renders a point as "name tag=v,… | field=v(type),…" (fields sorted).
func describe(p *influxwrite.Point) string {
	var tags, fields []string
	for _, t := range p.TagList() {
		tags = append(tags, t.Key+"="+t.Value)
	}
	for _, f := range p.FieldList() {
		v := fmt.Sprintf("%v", f.Value)
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		fields = append(fields, fmt.Sprintf("%s=%s(%T)", f.Key, v, f.Value))
	}
	slices.Sort(fields)
	return p.Name() + " " + strings.Join(tags, ",") + " | " + strings.Join(fields, ",")
}

func TestPoints(t *testing.T) {
	started := time.Date(2017, 7, 20, 1, 2, 3, 456_789_000, time.UTC)
	m := measurementtest.Simple("example.com", started)
	m.ID = "0123456789abcdef0123456789abcdef"
	m.Observations.DNS = []measurement.DNSQuery{
		{Resolver: "udp://10.0.0.1:53", Transport: "udp", System: true, Query: "example.com", QType: "A", Rcode: "NOERROR",
			Answers: []measurement.DNSAnswer{{Name: "example.com", Type: "A", Data: "10.0.0.9"}, {Name: "example.com", Type: "A", Data: "10.0.0.9"}}, RTTMS: 1},
		{Resolver: "udp://10.0.0.1:53", Transport: "udp", System: true, Query: "example.com", QType: "AAAA"},
		{Resolver: "udp://10.0.0.1:53", Transport: "udp", System: true, Query: "www.example.com", QType: "A", Failure: measurement.Failure("generic_timeout_error")},
		// Another resolver: resolver is a field, so n keeps its point apart.
		{Resolver: "udp://10.0.0.2:53", Transport: "udp", System: true, Query: "example.com", QType: "A", Rcode: "NOERROR", RTTMS: 2},
	}
	m.Observations.TCP = []measurement.TCPConnect{{IP: "10.0.0.9", Port: 443, Origin: "probe", TimeMS: 2}}
	bare := store.Item{M: m} // no identity, source or receive time: those tags are omitted
	js, err := encodingJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(js))) // of the JSON stored
	want := []string{
		"reach domain=example.com,kind=web | evidence=(string),fingerprints=(string),id=0123456789abcdef0123456789abcdef(string),method=(string),port=443(int64),raw={\"id\":\"0123456789abcdef0123456789abcdef\"…(string),reason=ok(string),received_at_ms=0(int64),runtime_ms=100(float64),schedule=(string),schema_version=1(int64),sha256=" + sum[:40] + "…(string),src_asn=0(int64),src_org=(string),status=accessible(string),target=https://example.com/(string)",
		"dns domain=example.com,n=0,qtype=A,system=true,transport=udp | addrs=10.0.0.9(string),answers=[{\"name\":\"example.com\",\"type\":\"A\",\"ttl\":…(string),bogons=0(int64),failure=(string),id=0123456789abcdef0123456789abcdef(string),late_replies=0(int64),query=example.com(string),rcode=NOERROR(string),resolver=udp://10.0.0.1:53(string),rtt_ms=1(float64),truncated=false(bool)",
		"dns domain=example.com,n=0,qtype=AAAA,system=true,transport=udp | addrs=(string),answers=[](string),bogons=0(int64),failure=(string),id=0123456789abcdef0123456789abcdef(string),late_replies=0(int64),query=example.com(string),rcode=(string),resolver=udp://10.0.0.1:53(string),rtt_ms=0(float64),truncated=false(bool)",
		"dns domain=example.com,n=1,qtype=A,system=true,transport=udp | addrs=(string),answers=[](string),bogons=0(int64),failure=generic_timeout_error(string),id=0123456789abcdef0123456789abcdef(string),late_replies=0(int64),query=www.example.com(string),rcode=(string),resolver=udp://10.0.0.1:53(string),rtt_ms=0(float64),truncated=false(bool)",
		"dns domain=example.com,n=2,qtype=A,system=true,transport=udp | addrs=(string),answers=[](string),bogons=0(int64),failure=(string),id=0123456789abcdef0123456789abcdef(string),late_replies=0(int64),query=example.com(string),rcode=NOERROR(string),resolver=udp://10.0.0.2:53(string),rtt_ms=2(float64),truncated=false(bool)",
		"tcp domain=example.com,n=0 | failure=(string),id=0123456789abcdef0123456789abcdef(string),ip=10.0.0.9(string),origin=probe(string),port=443(int64),time_ms=2(float64)",
	}
	full := item(m)
	full.M = m
	pts := store.Points(bare)
	var got []string
	for _, p := range pts {
		got = append(got, describe(p))
		if !p.Time().Equal(store.PointTime(bare)) {
			t.Errorf("%s: time %v, want %v", p.Name(), p.Time(), store.PointTime(bare))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("Points:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if d := describe(store.Points(full)[0]); !strings.HasPrefix(d, "reach asn=7713,country=ID,domain=example.com,kind=web,network=telkom,probe=probe-1 |") ||
		!strings.Contains(d, "received_at_ms=1500512613456(int64)") || !strings.Contains(d, "src_asn=7713(int64)") {
		t.Errorf("with identity: %s", d)
	}
	// Pure: the same item always gives the same line protocol.
	for i, p := range store.Points(bare) {
		if a, b := influxwrite.PointToLineProtocol(p, time.Nanosecond), influxwrite.PointToLineProtocol(pts[i], time.Nanosecond); a != b {
			t.Errorf("point %d differs between calls:\n%s\n%s", i, a, b)
		}
	}
}

// TestPointTime: the time of an item's points is within the millisecond of started_at,
// the same for the same probe, ID and JSON, and another for another ID, probe or JSON
// (other content can never overwrite a point).
func TestPointTime(t *testing.T) {
	started := time.Date(2017, 7, 20, 1, 2, 3, 456_789_000, time.FixedZone("WIB", 7*3600))
	a := item(measurementtest.Simple("example.com", started))
	ta := store.PointTime(a)
	withRaw := a
	withRaw.Raw = []byte(measurementtest.JSON(t, a.M)) // the JSON a probe sends: the same bytes
	otherID := item(measurementtest.Simple("example.com", started))
	otherProbe := a
	otherProbe.Probe.Probe = "probe-2"
	otherBytes := a
	otherBytes.Raw = []byte(" " + measurementtest.JSON(t, a.M)) // the same measurement, other bytes
	ms := started.UTC().Truncate(time.Millisecond)
	for name, tc := range map[string]struct {
		it   store.Item
		same bool
	}{"again": {a, true}, "submitted bytes": {withRaw, true}, "other ID": {otherID, false},
		"other probe": {otherProbe, false}, "other bytes": {otherBytes, false}} {
		pt := store.PointTime(tc.it)
		if pt.Before(ms) || !pt.Before(ms.Add(time.Millisecond)) || pt.Location() != time.UTC {
			t.Errorf("%s: PointTime = %v, want within the millisecond of %v, in UTC", name, pt, ms)
		}
		if pt.Equal(ta) != tc.same {
			t.Errorf("%s: PointTime %v, first %v: same %v, want %v", name, pt, ta, pt.Equal(ta), tc.same)
		}
	}
}

// TestLargeMeasurement stores a measurement whose JSON needs several raw fields (split
// between multi-byte characters) and more observations than the `n` tag counts.
func TestLargeMeasurement(t *testing.T) {
	s, url, bucket := newStore(t)
	m := full("example.com", t0)
	title := strings.Repeat("Situs diblokir — ブロック ", 40) // multi-byte runes
	m.HTTP = nil
	for i := range 200 {
		m.HTTP = append(m.HTTP, measurement.HTTPRequest{URL: fmt.Sprintf("https://example.com/%d", i), Method: "GET", Status: 302, Title: title, TimeMS: float64(i)})
	}
	pts := store.Points(item(m))
	var rawFields []string
	for _, f := range pts[0].FieldList() {
		if strings.HasPrefix(f.Key, "raw") {
			rawFields = append(rawFields, f.Key)
			if n := len(f.Value.(string)); n > 60000 {
				t.Errorf("%s is %d bytes", f.Key, n)
			}
		}
	}
	if len(rawFields) < 3 {
		t.Fatalf("raw fields %v: the test wants at least 3", rawFields)
	}
	write(t, s, item(m))
	got, _, err := s.Measurements(ctx(t), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || measurementtest.JSON(t, got[0].Measurement) != measurementtest.JSON(t, m) {
		t.Fatalf("large measurement (%d raw fields) did not round-trip", len(rawFields))
	}
	if n := influxtest.Count(t, url, bucket, "http", "id"); n != 64 {
		t.Errorf("http points: %d, want 64 (n = 0..63; the rest only in raw)", n)
	}
}
