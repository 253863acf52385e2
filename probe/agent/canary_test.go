package agent_test

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/testdns"
	"github.com/pantau-dev/pantau/probe/agent"
	"github.com/pantau-dev/pantau/probe/spool"
)

// TestScheduledRunsCarryTheCanary: each run of a schedule checks the canary once (one A
// and one AAAA question to the system resolver) and every measurement it spools carries
// that run's canary.
func TestScheduledRunsCarryTheCanary(t *testing.T) {
	var asked atomic.Int64
	addr := testdns.Start(t, dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if q := r.Question[0]; q.Name == "canary.test." {
			asked.Add(1)
			if q.Qtype == dns.TypeA {
				m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 2)}}
			}
		}
		_ = w.WriteMsg(m)
	}))
	res, err := dnsquery.ParseResolver(addr)
	if err != nil {
		t.Fatal(err)
	}
	res.System = true

	dir := t.TempDir()
	sched := filepath.Join(dir, "schedules")
	writeSchedule(t, sched, "lab", labSite(t, nil), 3)
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(dir, "spool")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	a, err := agent.New(agent.Options{
		Engine: engine.Config{SystemResolvers: []dnsquery.Resolver{res}, Canary: "canary.test",
			LabCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Software: measurement.Software{Name: "pantau-probe", Version: "test"},
			Timeouts: engine.Timeouts{DNS: time.Second, TCP: time.Second, HTTP: 2 * time.Second}},
		Spool: sp, SchedulesDir: sched, StateDir: filepath.Join(dir, "state"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		if _, err := a.RunSchedule(context.Background(), a.Schedules().Get("lab")); err != nil {
			t.Fatal(err)
		}
		if n := asked.Load(); n != int64(2*run) {
			t.Errorf("after run %d the canary was asked %d times, want %d", run, n, 2*run)
		}
	}
	ms, err := sp.Batch(100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 6 {
		t.Fatalf("%d measurements spooled, want 6", len(ms))
	}
	for _, m := range ms {
		c := m.Canary
		if c == nil || c.Name != "canary.test" || len(c.Addrs) != 1 || c.Addrs[0] != "127.0.0.2" || len(c.Bogons) != 1 || c.Bogons[0] != "127.0.0.2" {
			t.Errorf("%s: canary %+v, want canary.test at the reserved 127.0.0.2 (outside the lab range)", m.Target, c)
		}
	}
}
