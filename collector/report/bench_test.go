package report_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
)

// benchData writes the benchmark's data set: 50 probes on the seed block order's four
// networks, its 11 domains every 15 minutes for 30 days from 1 July 2017 (1,584,000
// reach points), heartbeats every 5 minutes (432,000 probe_status points). Line protocol
// with the fields the reads touch; store.Write would take minutes.
func benchData(b *testing.B) (*store.Store, time.Time, time.Time) {
	url, _ := influxtest.Server(b)
	bucket := influxtest.NewBucket(b)
	db := strings.TrimSuffix(bucket, "/autogen")
	from := time.Date(2017, 7, 1, 0, 0, 0, 0, time.UTC)
	order := seedBlock(b)
	nets, domains := order.Networks, order.Domains
	var lines strings.Builder
	n := 0
	add := func(format string, a ...any) {
		fmt.Fprintf(&lines, format, a...)
		if n++; n%10000 == 0 {
			post(b, url, db, lines.String())
			lines.Reset()
		}
	}
	for slot := range 30 * 24 * 12 { // 5-minute slots
		for p := range 50 {
			net := strings.ReplaceAll(nets[p%len(nets)], " ", `\ `)
			at := from.Add(time.Duration(slot)*5*time.Minute + time.Duration(p)*time.Second)
			add("probe_status,network=%s,probe=p%02d spool_depth=0i %d\n", net, p, at.UnixNano())
			if slot%3 != 0 {
				continue
			}
			for d, dom := range domains {
				status, method := "accessible", ""
				if at.After(order.Effective.Add(time.Duration(p)*time.Hour)) && (slot+p+d)%17 != 0 {
					status, method = "blocked", "dns"
				}
				add("reach,domain=%s,kind=web,network=%s,probe=p%02d id=\"%08x%04x%02x\",status=\"%s\",method=\"%s\",reason=\"r\",received_at_ms=%di %d\n",
					dom, net, p, slot, p, d, status, method, at.UnixMilli(), at.Add(time.Duration(d)*time.Millisecond).UnixNano())
			}
		}
	}
	post(b, url, db, lines.String())
	st, err := store.New(store.Config{URL: url, Bucket: bucket, Timeout: 5 * time.Minute}, quiet())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	return st, from, from.Add(30 * 24 * time.Hour)
}

func post(b *testing.B, url, db, body string) {
	resp, err := http.Post(url+"/write?db="+db, "text/plain", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b.Fatalf("write: HTTP %d", resp.StatusCode)
	}
}

// BenchmarkReport measures, on benchData's data set, a month's timeline of one domain on
// one network and the seed order's compliance report over the month: cold (a new
// Service: everything read from InfluxDB) and warm (days cached).
func BenchmarkReport(b *testing.B) {
	st, from, to := benchData(b)
	at := to
	tq := report.Query{Domain: "t.me", Network: "Telkomsel", From: from, To: to}
	svc := func() *report.Service { return newService(b, st, "", to) }
	b.Run("timeline-cold", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc().Timelines(ctx(b), tq); err != nil {
				b.Fatal(err)
			}
		}
	})
	warm := svc()
	if _, err := warm.Compliance(ctx(b), "kominfo-2017-telegram-block", at); err != nil { // fills the cache
		b.Fatal(err)
	}
	b.Run("timeline-warm", func(b *testing.B) {
		for b.Loop() {
			tls, err := warm.Timelines(ctx(b), tq)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(tls[0].Measurements), "obs")
		}
	})
	b.Run("compliance-cold", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc().Compliance(ctx(b), "kominfo-2017-telegram-block", at); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compliance-warm", func(b *testing.B) {
		for b.Loop() {
			r, err := warm.Compliance(ctx(b), "kominfo-2017-telegram-block", at)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for _, nr := range r.Networks {
				n += nr.Measurements + nr.Undecided
			}
			b.ReportMetric(float64(n), "obs")
		}
	})
}
