package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

func TestFullIsFull(t *testing.T) {
	for _, path := range measurementtest.Unpopulated(full("example.com", t0)) {
		t.Errorf("%s is zero in full(): the round-trip test would not cover it", path)
	}
}

func TestWriteReadRoundTripEveryField(t *testing.T) {
	s, _, _ := newStore(t)
	m := full("example.com", t0.Add(123*time.Millisecond))
	it := item(m)
	write(t, s, it)
	got, next, err := s.Measurements(ctx(t), store.Filter{Domain: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || next != "" {
		t.Fatalf("got %d measurements, next %q; want 1, \"\"", len(got), next)
	}
	g := got[0]
	if want := measurementtest.JSON(t, m); measurementtest.JSON(t, g.Measurement) != want {
		t.Errorf("measurement differs:\n got %s\nwant %s", measurementtest.JSON(t, g.Measurement), want)
	}
	var want measurement.Measurement
	if err := json.Unmarshal([]byte(measurementtest.JSON(t, m)), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Measurement, want) {
		t.Errorf("measurement differs after decoding:\n got %+v\nwant %+v", g.Measurement, want)
	}
	if g.Probe != it.Probe || g.Geo != it.Geo || !g.ReceivedAt.Equal(it.ReceivedAt) {
		t.Errorf("stored as %+v %+v %v, want %+v %+v %v", g.Probe, g.Geo, g.ReceivedAt, it.Probe, it.Geo, it.ReceivedAt)
	}
}

// TestSchema checks the derived points, read back with InfluxQL, against docs/storage.md.
func TestSchema(t *testing.T) {
	s, url, bucket := newStore(t)
	m := full("example.com", t0)
	write(t, s, item(m))
	ts := fmt.Sprint(store.PointTime(item(m)).UnixNano())
	tags := "asn=7713 country=ID domain=example.com network=telkom probe=probe-1"
	for _, tc := range []struct {
		q    string
		want []string // per row: columns in order
	}{
		{`SELECT "kind", "id", "target", "status", "method", "reason", "evidence", "fingerprints", "runtime_ms", "port", "schema_version", "received_at_ms", "src_asn", "src_org", "schedule" FROM "reach"`,
			[]string{ts + " web " + m.ID + ` https://example.com/p?a=1,b="2"\ blocked http line1\nline2 "q" \ a,b=c\treach,probe=evil id="x" 1 title matched id_internetpositif; dns bogon 10.10.34.35 id_internetpositif 1234.567 443 1 ` + fmt.Sprint(t0.Add(90*time.Second).UnixMilli()) + " 7713 PT Telekomunikasi Indonesia daily-id"}},
		{`SELECT "resolver", "transport", "qtype", "system", "n", "id", "query", "rcode", "failure", "addrs", "answers", "rtt_ms", "truncated", "late_replies", "bogons" FROM "dns" ORDER BY time`,
			[]string{
				ts + " https://dns.example/dns-query doh AAAA false 0 " + m.ID + ` example.com NOERROR  2001:db8::1 [{"name":"example.com","type":"AAAA","ttl":300,"data":"2001:db8::1"}] 80.125 false 0 0`,
				ts + " udp://10.0.0.1:53 udp A true 0 " + m.ID + ` example.com NOERROR dns_bogon_error 36.86.63.185 [{"name":"example.com","type":"CNAME","ttl":60,"data":"edge.example.com"},{"name":"edge.example.com","type":"A","ttl":30,"data":"36.86.63.185","asn":7713}] 12.5 true 1 1`,
				ts + " udp://10.0.0.1:53 udp A true 1 " + m.ID + ` www.example.com NXDOMAIN dns_nxdomain_error  [] 3 false 0 0`,
			}},
		{`SELECT "n", "id", "ip", "port", "origin", "failure", "time_ms" FROM "tcp"`,
			[]string{ts + " 0 " + m.ID + " 36.86.63.185 443 probe  20.5", ts + " 1 " + m.ID + " 2001:db8::1 443 control connection_reset 5"}},
		{`SELECT "n", "id", "ip", "port", "sni", "sni_swap", "failure", "version", "cert_valid", "leaf_sha256", "time_ms" FROM "tls"`,
			[]string{ts + " 0 " + m.ID + " 36.86.63.185 443 example.com false ssl_unknown_authority TLSv1.3 false " + strings.Repeat("ab", 32) + " 30",
				ts + " 1 " + m.ID + " 36.86.63.185 443 example.org true  TLSv1.3 true  31"}},
		{`SELECT "n", "id", "url", "method", "address", "status", "failure", "body_length", "body_truncated", "body_sha256", "title", "time_ms" FROM "http"`,
			[]string{ts + " 0 " + m.ID + " http://example.com/ GET 36.86.63.185:80 302  0 false   10",
				ts + " 1 " + m.ID + ` https://example.com/ GET 36.86.63.185:443 200 eof_error 524288 true ` + strings.Repeat("ef", 32) + ` Internet Positif\n"blocked" \ a,b=c 55.5`}},
	} {
		series := influxtest.Query(t, url, bucket, tc.q)
		if len(series) != 1 {
			t.Fatalf("%s: %d series", tc.q, len(series))
		}
		var rows []string
		for _, v := range series[0].Values {
			cells := make([]string, len(v))
			for i, c := range v {
				cells[i] = num(c)
			}
			rows = append(rows, strings.Join(cells, " "))
		}
		sort.Strings(rows) // points at one time come in series order; want is sorted
		if strings.Join(rows, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.q, rows, tc.want)
		}
	}
	// Every point carries the identity tags and the domain, and no other tag from the body
	// (schedule and resolver are fields); the injection attempt in the reason made no
	// point of its own.
	for _, name := range []string{"reach", "dns", "tcp", "tls", "http"} {
		for _, sr := range influxtest.Query(t, url, bucket, `SELECT count("id") FROM "`+name+`" GROUP BY *`) {
			for _, k := range []string{"kind", "transport", "qtype", "system", "n"} { // the point's own enums
				delete(sr.Tags, k)
			}
			if got := fmt.Sprintf("asn=%s country=%s domain=%s network=%s probe=%s", sr.Tags["asn"], sr.Tags["country"], sr.Tags["domain"], sr.Tags["network"], sr.Tags["probe"]); got != tags || len(sr.Tags) != 5 {
				t.Errorf("%s: series tags %v, want %s", name, sr.Tags, tags)
			}
		}
	}
	if n := influxtest.Count(t, url, bucket, "reach", "id"); n != 1 {
		t.Errorf("reach has %d points, want 1", n)
	}
}

func TestResubmissionIsIdempotent(t *testing.T) {
	s, url, bucket := newStore(t)
	a, b := item(full("example.com", t0)), item(full("example.org", t0.Add(time.Second)))
	write(t, s, a, b)
	counts := func() string {
		var out []string
		for _, name := range []string{"reach", "dns", "tcp", "tls", "http"} {
			out = append(out, fmt.Sprintf("%s=%d", name, influxtest.Count(t, url, bucket, name, "id")))
		}
		return strings.Join(out, " ")
	}
	const want = "reach=2 dns=6 tcp=4 tls=4 http=4"
	if got := counts(); got != want {
		t.Fatalf("after the first write: %s, want %s", got, want)
	}
	// The probe retries: the same batch, then the items alone, received later.
	write(t, s, a, b)
	a.ReceivedAt = a.ReceivedAt.Add(time.Minute)
	write(t, s, a)
	write(t, s, b)
	if got := counts(); got != want {
		t.Errorf("after resubmitting: %s, want %s", got, want)
	}
	got, _, err := s.Measurements(ctx(t), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Measurement.ID != b.M.ID || got[1].Measurement.ID != a.M.ID {
		t.Fatalf("Measurements = %v, want [%s %s]", sortedIDs(got), b.M.ID, a.M.ID)
	}
	if first := a.ReceivedAt.Add(-time.Minute); !got[1].ReceivedAt.Equal(first) {
		t.Errorf("received_at = %v, want the first write's %v", got[1].ReceivedAt, first)
	}
}

func TestSameMillisecondDifferentMeasurements(t *testing.T) {
	s, url, bucket := newStore(t)
	// Two URLs of one domain measured in parallel by one probe: same series, same ms.
	a, b := full("example.com", t0), full("example.com", t0)
	b.Target = "https://example.com/other"
	write(t, s, item(a), item(b))
	if n := influxtest.Count(t, url, bucket, "reach", "id"); n != 2 {
		t.Errorf("reach has %d points, want 2", n)
	}
	if n := influxtest.Count(t, url, bucket, "tcp", "id"); n != 4 {
		t.Errorf("tcp has %d points, want 4", n)
	}
}

func TestWriteRefusesUnstorableItems(t *testing.T) {
	s, url, bucket := newStore(t)
	nan := measurementtest.Simple("example.com", t0)
	nan.RuntimeMS = nanValue()
	slash := measurementtest.Simple(`exa\mple.com`, t0)
	for _, tc := range []struct {
		name string
		it   store.Item
		want string
	}{
		{"no measurement", store.Item{}, "item without a measurement"},
		{"NaN", item(nan), "measurement " + nan.ID + ": encoding JSON: json: unsupported value: NaN"},
		{"backslash tag", item(slash), "measurement " + slash.ID + `: tag domain="exa\\mple.com": line protocol cannot carry a backslash in a tag`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good := item(measurementtest.Simple("example.net", t0))
			err := s.Write(ctx(t), []store.Item{good, tc.it})
			if err == nil || err.Error() != tc.want || errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("Write = %v, want %q (not unavailable)", err, tc.want)
			}
			if store.Points(tc.it) != nil {
				t.Error("Points returned points for an item Write refuses")
			}
		})
	}
	if n := influxtest.Count(t, url, bucket, "reach", "id"); n != 0 {
		t.Errorf("%d points written by refused batches, want 0", n)
	}
}

func TestWriteRefusedByInfluxDBIsNotUnavailable(t *testing.T) {
	s, url, bucket := newStore(t)
	// Another writer made reach.port a string in the same shard: InfluxDB refuses the int.
	db, _, _ := strings.Cut(bucket, "/")
	if err := writeLine(url, db, fmt.Sprintf(`reach,domain=example.com port="443" %d`, t0.Add(-time.Minute).UnixNano())); err != nil {
		t.Fatal(err)
	}
	err := s.Write(ctx(t), []store.Item{item(measurementtest.Simple("example.com", t0))})
	if err == nil || errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "field type conflict") ||
		!strings.HasPrefix(err.Error(), "writing 1 points to "+bucket+": ") {
		t.Fatalf("Write = %v, want a field type conflict, not unavailable", err)
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  store.Config
		want string
	}{
		{store.Config{URL: "localhost:8086", Bucket: "pantau/autogen"}, `influxdb url: "localhost:8086" is not an http(s) URL`},
		{store.Config{URL: "ftp://x", Bucket: "pantau/autogen"}, `influxdb url: "ftp://x" is not an http(s) URL`},
		{store.Config{URL: "http://127.0.0.1:8086"}, `influxdb bucket: required (InfluxDB 1.8: "db/rp")`},
	} {
		if _, err := store.New(tc.cfg, quiet()); err == nil || err.Error() != tc.want {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestInfluxDB18Path writes and reads through the 1.8 compatibility settings: org "",
// bucket "db/rp" or "db" (default retention policy), token "user:password" (ignored while
// authentication is off) — and a missing database is a configuration error: unavailable.
func TestInfluxDB18Path(t *testing.T) {
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	db, _, _ := strings.Cut(bucket, "/")
	for i, b := range []string{bucket, db} {
		s, err := store.New(store.Config{URL: url, Org: "", Bucket: b, Token: "user:password"}, quiet())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Ready(ctx(t)); err != nil {
			t.Fatalf("Ready: %v", err)
		}
		m := measurementtest.Simple("example.com", t0.Add(time.Duration(i+1)*time.Minute))
		write(t, s, item(m))
		got, _, err := s.Measurements(ctx(t), store.Filter{})
		if err != nil || len(got) == 0 || got[0].Measurement.ID != m.ID {
			t.Fatalf("bucket %q: Measurements = %v, %v; want %s first", b, sortedIDs(got), err, m.ID)
		}
	}
	s := openStore(t, url, "nosuchdb/autogen")
	err := s.Write(ctx(t), []store.Item{item(measurementtest.Simple("example.com", t0))})
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "database not found") {
		t.Errorf("Write to a missing database = %v, want unavailable: database not found", err)
	}
}

func TestUnavailableWhileStoppedThenResumes(t *testing.T) {
	in := influxtest.Start(t)
	bucket := in.NewBucket(t)
	s := storeKnowing(t, in.URL(), bucket, -1) // asks InfluxDB before each write
	before := item(measurementtest.Simple("example.com", t0))
	write(t, s, before)

	in.Stop()
	during := item(measurementtest.Simple("example.com", t0.Add(time.Second)))
	err := s.Write(ctx(t), []store.Item{during})
	// Connection refused, or EOF on a kept-alive connection the server closed: Write
	// fails reading what is stored, before it writes.
	if !errors.Is(err, store.ErrUnavailable) || !strings.HasPrefix(err.Error(), "checking what is stored: storage unavailable: querying "+bucket+": ") {
		t.Fatalf("Write while stopped = %v, want unavailable", err)
	}
	if err := s.Ready(ctx(t)); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ready while stopped = %v, want unavailable", err)
	}
	if _, _, err := s.Measurements(ctx(t), store.Filter{}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Measurements while stopped = %v, want unavailable", err)
	}

	in.Restart()
	if err := s.Ready(ctx(t)); err != nil {
		t.Fatalf("Ready after restart: %v", err)
	}
	write(t, s, during) // the probe's retry
	got, _, err := s.Measurements(ctx(t), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Measurement.ID != during.M.ID || got[1].Measurement.ID != before.M.ID {
		t.Fatalf("after restart: %v, want [%s %s]", sortedIDs(got), during.M.ID, before.M.ID)
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	// A server that accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s, err := store.New(store.Config{URL: "http://" + l.Addr().String(), Bucket: "pantau/autogen", Timeout: 300 * time.Millisecond}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Write(ctx(t), []store.Item{item(measurementtest.Simple("example.com", t0))})
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "Client.Timeout exceeded") {
		t.Errorf("Write = %v, want unavailable after the timeout", err)
	}
	if err := s.Ready(ctx(t)); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ready = %v, want unavailable", err)
	}
}

func TestConcurrentWrites(t *testing.T) {
	s, url, bucket := newStore(t)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			var items []store.Item
			for i := range 10 {
				items = append(items, item(measurementtest.Simple("example.com", t0.Add(time.Duration(g*10+i)*time.Second))))
			}
			errs <- s.Write(ctx(t), items)
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := influxtest.Count(t, url, bucket, "reach", "id"); n != 80 {
		t.Errorf("reach has %d points, want 80", n)
	}
}
