package report_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// TestStoredNames: every domain ingest takes can be asked for (an IPv6 literal, an IDN as
// its A-label, an IPv4 literal); a stored domain that no query could name (written before
// ingest checked it, or straight into InfluxDB) is skipped and counted, never an error for
// the whole answer.
func TestStoredNames(t *testing.T) {
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	st, err := store.New(store.Config{URL: url, Bucket: bucket, Timeout: time.Minute}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	domains := []string{"2001:67c:4e8:f004::a", "xn--bcher-kva.example", "149.154.167.51"}
	var items []store.Item
	for h := range 6 {
		for i, p := range probes[:2] {
			for _, d := range domains {
				m := measure(d, start.Add(time.Duration(h)*time.Hour+time.Duration(i)*time.Minute), "accessible", "")
				if strings.Contains(d, ":") {
					m.Kind, m.Target = measurement.KindTCP, "tcp://["+d+"]:443"
				}
				if err := m.Validate(end); err != nil {
					t.Fatalf("%s does not pass ingest: %v", d, err)
				}
				items = append(items, store.Item{M: m, Probe: p, ReceivedAt: m.StartedAt})
			}
		}
	}
	if err := st.Write(ctx(t), items); err != nil {
		t.Fatal(err)
	}
	// Odd names written straight into InfluxDB, as an older collector or another writer
	// could have.
	var lines strings.Builder
	for i, d := range []string{`bücher.example`, `[2001:db8::1]`, `t.me/x`, `a\ b`, `x\,y\=z`} {
		for h := range 3 {
			fmt.Fprintf(&lines, "reach,domain=%s,network=Telkomsel,probe=tsel-1 id=\"%032x\",status=\"blocked\",method=\"dns\" %d\n",
				d, i*10+h, start.Add(time.Duration(h)*time.Hour).UnixNano())
		}
	}
	db, rp, _ := strings.Cut(bucket, "/")
	resp, err := http.Post(url+"/write?db="+db+"&rp="+rp, "text/plain", strings.NewReader(lines.String()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("writing the odd names: HTTP %d", resp.StatusCode)
	}

	svc, err := report.New(report.Config{Source: st, Now: func() time.Time { return end }}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	changes, err := svc.Changes(ctx(t), start, end)
	if err != nil {
		t.Fatalf("changes: %v", err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Domain+" "+c.Network+" "+string(c.From)+">"+string(c.To))
	}
	want := "149.154.167.51 Telkomsel unknown>accessible, 2001:67c:4e8:f004::a Telkomsel unknown>accessible, xn--bcher-kva.example Telkomsel unknown>accessible"
	slices.Sort(got)
	if strings.Join(got, ", ") != want {
		t.Errorf("changes:\n got %s\nwant %s", strings.Join(got, ", "), want)
	}
	if n := svc.SkippedDomains(); n != 5 {
		t.Errorf("%d skipped domains, want the 5 odd ones", n)
	}
	for _, d := range domains {
		tls, err := svc.Timelines(ctx(t), report.Query{Domain: d, Network: "Telkomsel", From: start, To: end})
		if err != nil || len(tls) != 1 || tls[0].Current != "accessible" || tls[0].Measurements != 12 {
			t.Errorf("timeline of %s: %v %+v", d, err, tls)
		}
		b, err := svc.Evidence(ctx(t), d, "Telkomsel", start.Add(5*time.Hour))
		if err != nil || b.State != "accessible" || len(b.Items) == 0 {
			t.Errorf("evidence of %s: %v state %s items %d", d, err, b.State, len(b.Items))
		}
	}
}
