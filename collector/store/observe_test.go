package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// july is inside the seed order's time: far outside the default query range, so every
// read passes From and To.
var july = time.Date(2017, 7, 14, 0, 0, 0, 0, time.UTC)

func TestObservations(t *testing.T) {
	s, _, _ := newStore(t)
	ids := map[string]store.Identity{
		"jkt-01": {Probe: "jkt-01", Network: "Telkomsel", Country: "ID", ASN: 23693},
		"jkt-02": {Probe: "jkt-02", Network: "Telkomsel", Country: "ID", ASN: 23693},
		"sby-01": {Probe: "sby-01", Network: "Indosat Ooredoo", Country: "ID", ASN: 4761},
	}
	var items []store.Item
	var want []timeline.Obs
	for i := range 12 {
		probe := []string{"jkt-01", "jkt-02", "sby-01"}[i%3]
		domain := []string{"t.me", "web.telegram.org"}[i%2]
		m := measurementtest.Simple(domain, july.Add(time.Duration(i)*15*time.Minute))
		if i >= 6 {
			m.Verdict = measurement.Verdict{Status: "blocked", Method: "dns", Reason: "bogon", Evidence: []string{}}
		}
		items = append(items, store.Item{M: m, Probe: ids[probe], ReceivedAt: m.StartedAt.Add(time.Minute)})
		want = append(want, timeline.Obs{At: store.PointTime(items[len(items)-1]), ID: m.ID, Probe: probe, Network: ids[probe].Network,
			Domain: domain, Status: timeline.State(m.Verdict.Status), Method: m.Verdict.Method})
	}
	write(t, s, items...)
	// Another measurement kind of the same pair at the same time is a different series.
	tcp := measurementtest.Simple("t.me", july)
	tcp.Kind = "tcp"
	write(t, s, store.Item{M: tcp, Probe: ids["jkt-01"]})
	want = append(want, timeline.Obs{At: store.PointTime(store.Item{M: tcp, Probe: ids["jkt-01"]}), ID: tcp.ID, Probe: "jkt-01", Network: "Telkomsel",
		Domain: "t.me", Status: timeline.Accessible})
	slices.SortFunc(want, func(a, b timeline.Obs) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	pick := func(keep func(timeline.Obs) bool) []timeline.Obs {
		var out []timeline.Obs
		for _, o := range want {
			if keep(o) {
				out = append(out, o)
			}
		}
		return out
	}
	day := store.ObsFilter{From: july, To: july.Add(24 * time.Hour)}
	for name, tc := range map[string]struct {
		f    func(store.ObsFilter) store.ObsFilter
		want []timeline.Obs
	}{
		"all":         {func(f store.ObsFilter) store.ObsFilter { return f }, want},
		"one domain":  {func(f store.ObsFilter) store.ObsFilter { f.Domains = []string{"t.me"}; return f }, pick(func(o timeline.Obs) bool { return o.Domain == "t.me" })},
		"two domains": {func(f store.ObsFilter) store.ObsFilter { f.Domains = []string{"t.me", "web.telegram.org"}; return f }, want},
		"spaced net":  {func(f store.ObsFilter) store.ObsFilter { f.Networks = []string{"Indosat Ooredoo"}; return f }, pick(func(o timeline.Obs) bool { return o.Network == "Indosat Ooredoo" })},
		"probe":       {func(f store.ObsFilter) store.ObsFilter { f.Probe = "jkt-02"; return f }, pick(func(o timeline.Obs) bool { return o.Probe == "jkt-02" })},
		"net + domain": {func(f store.ObsFilter) store.ObsFilter {
			f.Networks, f.Domains = []string{"Telkomsel"}, []string{"web.telegram.org"}
			return f
		}, pick(func(o timeline.Obs) bool { return o.Network == "Telkomsel" && o.Domain == "web.telegram.org" })},
		"range": {func(f store.ObsFilter) store.ObsFilter {
			f.From, f.To = want[3].At, want[5].At
			return f
		}, want[3:5]},
		"nothing": {func(f store.ObsFilter) store.ObsFilter { f.Domains = []string{"example.org"}; return f }, nil},
	} {
		got, err := s.Observations(ctx(t), tc.f(day))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", name, got, tc.want)
		}
	}
}

// TestDomainsAndRaw: Domains lists the domains measured in the range; Measurements gives
// each measurement's raw JSON exactly as stored, across several raw fields.
func TestDomainsAndRaw(t *testing.T) {
	s, url, bucket := newStore(t)
	a, b := full("t.me", july), measurementtest.Simple("web.telegram.org", july.Add(time.Minute))
	a.Verdict.Reason = "<b>blocked</b> & more " + strings.Repeat("é", 40000) // longer than one raw chunk
	write(t, s, item(a), item(b), item(measurementtest.Simple("example.org", july.Add(48*time.Hour))))
	day := store.ObsFilter{From: july, To: july.Add(24 * time.Hour)}
	got, err := s.Domains(ctx(t), day)
	if err != nil || strings.Join(got, " ") != "t.me web.telegram.org" {
		t.Errorf("Domains = %v %v, want t.me web.telegram.org", got, err)
	}
	day.Networks = []string{"nowhere"}
	if got, err := s.Domains(ctx(t), day); err != nil || len(got) != 0 {
		t.Errorf("Domains of another network = %v %v, want none", got, err)
	}
	page, _, err := s.Measurements(ctx(t), store.Filter{From: july, To: july.Add(time.Hour)})
	if err != nil || len(page) != 2 {
		t.Fatalf("Measurements = %d items, %v", len(page), err)
	}
	raws := map[string]string{}
	for _, sm := range page {
		raws[sm.Measurement.ID] = string(sm.Raw)
	}
	db := strings.TrimSuffix(bucket, "/autogen")
	for _, m := range []*measurement.Measurement{a, b} {
		rows := influxtest.Query(t, url, db, `SELECT * FROM "reach" WHERE "id"='`+m.ID+`'`)
		stored := ""
		for i := 0; ; i++ {
			k := "raw"
			if i > 0 {
				k = fmt.Sprintf("raw_%d", i)
			}
			v, ok := rows[0].Rows()[0][k].(string)
			if !ok {
				break
			}
			stored += v
		}
		if raws[m.ID] != stored || !strings.Contains(stored, m.ID) {
			t.Errorf("Raw of %s: %d bytes, stored %d bytes", m.ID, len(raws[m.ID]), len(stored))
		}
	}
	if !strings.Contains(raws[a.ID], `"<b>blocked</b> & more éé`) || len(raws[a.ID]) < 80000 {
		t.Errorf("Raw of the long measurement: %d bytes", len(raws[a.ID]))
	}
}

func TestBeats(t *testing.T) {
	s, _, _ := newStore(t)
	var want []timeline.Beat
	for i := range 6 {
		id := []store.Identity{{Probe: "jkt-01", Network: "Telkomsel"}, {Probe: "sby-01", Network: "Indosat Ooredoo"}}[i%2]
		at := july.Add(time.Duration(i) * 5 * time.Minute)
		it := store.HeartbeatItem{H: &measurement.Heartbeat{SentAt: at}, Probe: id, ReceivedAt: at}
		if err := s.WriteHeartbeat(ctx(t), it); err != nil {
			t.Fatal(err)
		}
		want = append(want, timeline.Beat{At: at, Probe: id.Probe, Network: id.Network})
	}
	// A measurement is not a heartbeat.
	write(t, s, item(measurementtest.Simple("t.me", july)))
	for name, tc := range map[string]struct {
		f    store.ObsFilter
		want []timeline.Beat
	}{
		"all":             {store.ObsFilter{From: july, To: july.Add(time.Hour)}, want},
		"domains ignored": {store.ObsFilter{Domains: []string{"t.me"}, From: july, To: july.Add(time.Hour)}, want},
		"network":         {store.ObsFilter{Networks: []string{"Indosat Ooredoo"}, From: july, To: july.Add(time.Hour)}, []timeline.Beat{want[1], want[3], want[5]}},
		"probe":           {store.ObsFilter{Probe: "jkt-01", From: july, To: july.Add(time.Hour)}, []timeline.Beat{want[0], want[2], want[4]}},
		"range":           {store.ObsFilter{From: want[1].At, To: want[3].At}, want[1:3]},
	} {
		got, err := s.Beats(ctx(t), tc.f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", name, got, tc.want)
		}
	}
}

func TestObsFilterValidation(t *testing.T) {
	// Nothing listens on this port: a filter that got as far as a query would fail with
	// "storage unavailable" instead.
	s, err := store.New(store.Config{URL: "http://127.0.0.1:1", Bucket: "pantau/autogen"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const names = `may hold only letters, digits, '.', '_' and '-' (at most 253)`
	const domains = names + ", or be an IP address"
	many := make([]string, store.MaxObsNames+1)
	for i := range many {
		many[i] = fmt.Sprintf("d%d.example", i)
	}
	for _, tc := range []struct {
		f    store.ObsFilter
		want string
	}{
		{store.ObsFilter{Domains: []string{"t.me", `x") |> drop()`}}, `domain: "x\") |> drop()" ` + domains},
		{store.ObsFilter{Domains: []string{`x" or r._measurement =~ /.*/ or r.domain == "`}}, `domain: "x\" or r._measurement =~ /.*/ or r.domain == \"" ` + domains},
		{store.ObsFilter{Domains: []string{""}}, `domain: required`},
		{store.ObsFilter{Domains: []string{"bücher.example"}}, `domain: "bücher.example" is not ASCII: give an internationalised name in its A-label form (xn--…)`},
		{store.ObsFilter{Domains: []string{"[2001:db8::1]"}}, `domain: "[2001:db8::1]": give the IPv6 address without brackets: 2001:db8::1`},
		{store.ObsFilter{Domains: many}, "domain: 1001 names, more than 1000"},
		{store.ObsFilter{Networks: []string{"Telkomsel", "a\"b"}}, `network: "a\"b" may hold only letters, digits, spaces, '.', '_' and '-' (at most 253)`},
		{store.ObsFilter{Networks: []string{"Indosat  Ooredoo"}}, `network: "Indosat  Ooredoo" may hold only letters, digits, spaces, '.', '_' and '-' (at most 253)`},
		{store.ObsFilter{Probe: "${x}"}, `probe: "${x}" ` + store.ProbeRule},
		{store.ObsFilter{From: july, To: july}, "from: 2017-07-14T00:00:00Z is not before to: 2017-07-14T00:00:00Z"},
	} {
		for what, call := range map[string]func() error{
			"Observations": func() error { _, err := s.Observations(ctx(t), tc.f); return err },
			"Beats":        func() error { _, err := s.Beats(ctx(t), tc.f); return err },
		} {
			if what == "Beats" && tc.f.Domains != nil {
				continue // Beats ignores domains
			}
			err := call()
			if err == nil || err.Error() != tc.want || !errors.Is(err, store.ErrBadFilter) || errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s(%+v) = %v, want bad filter %q", what, tc.f, err, tc.want)
			}
		}
	}
	// A valid filter reaches the (absent) database.
	f := store.ObsFilter{Domains: []string{"t.me"}, Networks: []string{"Indosat Ooredoo"}, Probe: "p1", From: july, To: july.Add(time.Hour)}
	if _, err := s.Observations(ctx(t), f); !errors.Is(err, store.ErrUnavailable) || !strings.HasPrefix(err.Error(), "storage unavailable: querying pantau/autogen: ") {
		t.Errorf("Observations: %v, want unavailable", err)
	}
	if _, err := s.Beats(ctx(t), f); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Beats: %v, want unavailable", err)
	}
}

// TestObservationsMissingDatabase: InfluxDB answers 404 for a bucket that does not exist,
// which is a configuration error: unavailable, not bad data.
func TestObservationsMissingDatabase(t *testing.T) {
	url, _ := influxtest.Server(t)
	s := openStore(t, url, "no_such_db_xyz/autogen")
	_, err := s.Observations(ctx(t), store.ObsFilter{From: july, To: july.Add(time.Hour)})
	if err == nil {
		t.Fatal("Observations on a missing database: no error")
	}
	t.Logf("missing database: %v (unavailable: %v)", err, errors.Is(err, store.ErrUnavailable))
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
}

// benchObs writes a generated month for one domain: probes probes on 10 networks
// measuring every 15 minutes for 30 days, through line protocol (store.Write would take
// minutes for this much). It returns the store and the month's range.
func benchObs(b *testing.B, probes int) (*store.Store, string, string, time.Time, time.Time) {
	url, _ := influxtest.Server(b)
	bucket := influxtest.NewBucket(b)
	db := strings.TrimSuffix(bucket, "/autogen")
	from := time.Date(2017, 7, 1, 0, 0, 0, 0, time.UTC)
	var lines strings.Builder
	n := 0
	for slot := range 30 * 96 {
		for p := range probes {
			at := from.Add(time.Duration(slot)*15*time.Minute + time.Duration(p)*time.Second)
			status, method := "accessible", ""
			if slot > 13*96 && (slot+p)%7 != 0 {
				status, method = "blocked", "dns"
			}
			fmt.Fprintf(&lines, "reach,country=ID,domain=t.me,kind=web,network=net-%d,probe=probe-%02d,schedule=daily id=\"%016x%016x\",status=\"%s\",method=\"%s\",reason=\"r\",received_at_ms=%di %d\n",
				p%10, p, slot, p, status, method, at.UnixMilli(), at.UnixNano())
			if n++; n%5000 == 0 {
				if err := writeLine(url, db, lines.String()); err != nil {
					b.Fatal(err)
				}
				lines.Reset()
			}
		}
	}
	if err := writeLine(url, db, lines.String()); err != nil {
		b.Fatal(err)
	}
	s, err := store.New(store.Config{URL: url, Bucket: bucket, Timeout: time.Minute}, quiet())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s, url, bucket, from, from.Add(30 * 24 * time.Hour)
}

// BenchmarkObservations reads a month of one domain on all networks (50 probes: 144,000
// observations) with Store.Observations (own CSV reader) and, for comparison, the same
// Flux through the client library's record maps.
func BenchmarkObservations(b *testing.B) {
	s, url, bucket, from, to := benchObs(b, 50)
	bg := context.Background()
	b.Run("store", func(b *testing.B) {
		n := 0
		for b.Loop() {
			obs, err := s.Observations(bg, store.ObsFilter{Domains: []string{"t.me"}, From: from, To: to})
			if err != nil {
				b.Fatal(err)
			}
			n = len(obs)
		}
		b.ReportMetric(float64(n), "obs/op")
	})
	b.Run("one-network", func(b *testing.B) {
		n := 0
		for b.Loop() {
			obs, err := s.Observations(bg, store.ObsFilter{Domains: []string{"t.me"}, Networks: []string{"net-3"}, From: from, To: to})
			if err != nil {
				b.Fatal(err)
			}
			n = len(obs)
		}
		b.ReportMetric(float64(n), "obs/op")
	})
	client := influxdb2.NewClient(url, "")
	defer client.Close()
	for name, shape := range map[string]string{
		"client-pivot": `|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value") |> keep(columns: ["_time", "probe", "network", "domain", "id", "status", "method"])`,
		"client-rows":  `|> keep(columns: ["_time", "_field", "_value", "probe", "network", "domain"])`,
	} {
		flux := fmt.Sprintf(`from(bucket: %q) |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == "reach" and r.domain == "t.me" and (r._field == "id" or r._field == "status" or r._field == "method")) %s`,
			bucket, from.Format(time.RFC3339), to.Format(time.RFC3339), shape)
		b.Run(name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				res, err := client.QueryAPI("").Query(bg, flux)
				if err != nil {
					b.Fatal(err)
				}
				n = 0
				for res.Next() {
					_ = res.Record().Values()
					n++
				}
				if err := res.Err(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "rows/op")
		})
	}
}
