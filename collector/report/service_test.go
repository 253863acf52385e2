package report_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

func TestService(t *testing.T) {
	st, url, bucket := fixture(t)
	src := &counting{Source: st}
	svc := newService(t, src, "", end)

	t.Run("timeline of a pair", func(t *testing.T) {
		tls, err := svc.Timelines(ctx(t), report.Query{Domain: "t.me", Network: "Telkomsel", From: start, To: end})
		if err != nil {
			t.Fatal(err)
		}
		if len(tls) != 1 {
			t.Fatalf("%d timelines, want 1", len(tls))
		}
		tl := tls[0]
		// The engine's rules decide the exact times (timeline's tests): here, the states
		// and that the block is confirmed within two rounds of its start.
		var got []string
		for _, p := range tl.Periods {
			got = append(got, string(p.State)+"/"+p.Method)
		}
		if join(got...) != "accessible/ blocked/dns" || tl.Current != timeline.Blocked || tl.Measurements != 2*10*24 || tl.Probes != 2 {
			t.Errorf("periods %v current %s measurements %d probes %d", got, tl.Current, tl.Measurements, tl.Probes)
		}
		if since := tl.Periods[len(tl.Periods)-1].Since; since.Before(tselOn) || since.After(tselOn.Add(2*time.Hour)) {
			t.Errorf("blocked since %s, want within 2 h of %s", since, tselOn)
		}
		if len(tl.Gaps) != 0 {
			t.Errorf("gaps %v, want none", tl.Gaps)
		}
	})
	t.Run("timelines of every network and per probe", func(t *testing.T) {
		tls, err := svc.Timelines(ctx(t), report.Query{Domain: "t.me", From: start, To: end})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tl := range tls {
			got = append(got, tl.Network+"="+string(tl.Current))
		}
		if want := "Indosat Ooredoo=accessible Telkomsel=blocked XL Axiata=blocked"; join(got...) != want {
			t.Errorf("timelines %v, want %s", got, want)
		}
		tls, err = svc.Timelines(ctx(t), report.Query{Domain: "t.me", Network: "Telkomsel", PerProbe: true, From: start, To: end})
		if err != nil {
			t.Fatal(err)
		}
		got = nil
		for _, tl := range tls {
			got = append(got, fmt.Sprintf("%s:%d", tl.Probe, tl.Measurements))
		}
		if want := "tsel-1:240 tsel-2:240"; join(got...) != want {
			t.Errorf("per probe %v, want %s", got, want)
		}
		tls, err = svc.Timelines(ctx(t), report.Query{Domain: "t.me", Probe: "xl-1", From: start, To: end})
		if err != nil || len(tls) != 1 || tls[0].Network != "XL Axiata" || tls[0].Measurements != 240 {
			t.Errorf("probe xl-1: %v %+v", err, tls)
		}
	})
	t.Run("warm", func(t *testing.T) {
		src := &counting{Source: st}
		svc := newService(t, src, "", end)
		if err := svc.Warm(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if r := src.reads(); len(r) == 0 {
			t.Error("Warm read nothing")
		}
		if _, err := svc.Compliance(ctx(t), "kominfo-2017-telegram-block", end); err != nil {
			t.Fatal(err)
		}
		if r := src.reads(); len(r) != 0 {
			t.Errorf("compliance after Warm read %+v, want nothing", r)
		}
	})
	t.Run("changes", func(t *testing.T) {
		since := time.Date(2017, 7, 14, 0, 0, 0, 0, time.UTC)
		trs, err := svc.Changes(ctx(t), since, end)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, tr := range trs {
			if tr.From != timeline.Accessible || tr.To != timeline.Blocked || tr.Method != "dns" || tr.Confirmed.Before(since) {
				t.Errorf("unexpected transition %+v", tr)
			}
			count[tr.Network]++
		}
		if fmt.Sprint(count) != "map[Indosat Ooredoo:10 Telkomsel:11 XL Axiata:11]" {
			t.Errorf("transitions per network %v", count)
		}
		// Until bounds them: none is confirmed before Telkomsel blocks.
		if trs, err := svc.Changes(ctx(t), since, tselOn); err != nil || len(trs) != 0 {
			t.Errorf("changes until %s: %v %v, want none", tselOn, trs, err)
		}
	})
	t.Run("compliance", func(t *testing.T) {
		rep, err := svc.Compliance(ctx(t), "kominfo-2017-telegram-block", end)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, n := range rep.Networks {
			tte := "nil"
			if n.TimeToEffectS != nil {
				tte = fmt.Sprint(int(*n.TimeToEffectS))
			}
			got[n.Network] = fmt.Sprintf("%s tte=%s counter=%d", n.Status, tte, n.CounterTotal)
		}
		// Time to effect: the latest start of a blocked period among the domains, per the
		// timelines. Indosat never blocks t.me; no probe is on Telkom Indonesia.
		tte := func(network string) string {
			var latest time.Time
			for _, d := range seedBlock(t).Domains {
				tls, err := svc.Timelines(ctx(t), report.Query{Domain: d, Network: network, From: start, To: end})
				if err != nil {
					t.Fatal(err)
				}
				if since := tls[0].Periods[len(tls[0].Periods)-1].Since; since.After(latest) {
					latest = since
				}
			}
			return fmt.Sprint(int(latest.Sub(seedBlock(t).Effective).Seconds()))
		}
		want := map[string]string{
			"Telkomsel":        "compliant tte=" + tte("Telkomsel") + " counter=0",
			"XL Axiata":        "compliant tte=" + tte("XL Axiata") + " counter=0",
			"Indosat Ooredoo":  fmt.Sprintf("non-compliant tte=nil counter=%d", (end.Sub(time.Date(2017, 7, 15, 17, 0, 0, 0, time.UTC)))/time.Hour),
			"Telkom Indonesia": "unknown tte=nil counter=0",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || rep.Status != orders.NonCompliant {
			t.Errorf("compliance %s %v\nwant non-compliant %v", rep.Status, got, want)
		}
		if _, err := svc.Compliance(ctx(t), "no-such-order", end); !errors.Is(err, report.ErrNotFound) || err.Error() != `order "no-such-order": not found` {
			t.Errorf("unknown order: %v", err)
		}
	})
	t.Run("a replaced order is judged while it stood", func(t *testing.T) {
		lift := time.Date(2017, 8, 10, 0, 0, 0, 0, time.FixedZone("WIB", 7*3600)) // the unblock order's effective
		lastSecond := lift.Add(-time.Second)
		later, err := svc.Compliance(ctx(t), "kominfo-2017-telegram-block", time.Date(2017, 9, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		stood, err := svc.Compliance(ctx(t), "kominfo-2017-telegram-block", lastSecond)
		if err != nil {
			t.Fatal(err)
		}
		if !later.At.Equal(lastSecond) || later.SupersededBy != "kominfo-2017-telegram-unblock" {
			t.Errorf("block order after its lift: at %s superseded_by %q; want at %s by the unblock order", later.At, later.SupersededBy, lastSecond)
		}
		states := func(r orders.Report) string {
			var out []string
			for _, n := range r.Networks {
				out = append(out, fmt.Sprintf("%s=%s/%d", n.Network, n.Status, n.Measurements))
			}
			return join(out...)
		}
		if stood.SupersededBy != "" || later.Status != stood.Status || states(later) != states(stood) {
			t.Errorf("after the lift: %s %q; in its last second: %s %q; want the same report, marked only when asked for later", later.Status, later.SupersededBy, stood.Status, stood.SupersededBy)
		}
		lifted, err := svc.Compliance(ctx(t), "kominfo-2017-telegram-unblock", time.Date(2017, 9, 1, 0, 0, 0, 0, time.UTC))
		if err != nil || lifted.SupersededBy != "" || !lifted.At.Equal(time.Date(2017, 9, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("the unblock order, not replaced: at %s superseded_by %q err %v", lifted.At, lifted.SupersededBy, err)
		}
	})
	t.Run("evidence", func(t *testing.T) {
		at := time.Date(2017, 7, 16, 12, 0, 0, 0, time.UTC)
		b, err := svc.Evidence(ctx(t), "t.me", "Telkomsel", at)
		if err != nil {
			t.Fatal(err)
		}
		tls, err := svc.Timelines(ctx(t), report.Query{Domain: "t.me", Network: "Telkomsel", From: start, To: end})
		if err != nil {
			t.Fatal(err)
		}
		blocked := tls[0].Periods[1]
		if b.State != "blocked" || b.Since == nil || !b.Since.Equal(blocked.Since) || len(b.Items) != report.MaxEvidence || b.Missing != 0 {
			t.Fatalf("bundle state %s since %v items %d missing %d", b.State, b.Since, len(b.Items), b.Missing)
		}
		whole := sha256.New()
		for i, it := range b.Items {
			sum := sha256.Sum256(it.Raw)
			if it.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("item %s: sha256 %s, want %x", it.ID, it.SHA256, sum)
			}
			whole.Write([]byte(it.SHA256))
			var m measurement.Measurement
			if err := json.Unmarshal(it.Raw, &m); err != nil || m.ID != it.ID || m.Verdict.Status != "blocked" || it.Status != "blocked" || it.Method != "dns" {
				t.Errorf("item %s: raw decodes to %s %s (%v)", it.ID, m.ID, m.Verdict.Status, err)
			}
			if it.Probe.Network != "Telkomsel" || !strings.HasPrefix(it.Probe.Probe, "tsel-") || it.Geo.Org != "ISP Telkomsel" || !it.ReceivedAt.Equal(m.StartedAt.Add(2*time.Minute)) {
				t.Errorf("item %s: identity %+v source %+v received %s", it.ID, it.Probe, it.Geo, it.ReceivedAt)
			}
			if i > 0 && it.StartedAt.Before(b.Items[i-1].StartedAt) {
				t.Errorf("items out of order at %d", i)
			}
			if d := it.StartedAt.Sub(at); d < -13*time.Hour || d > 13*time.Hour {
				t.Errorf("item %s at %s: not among the nearest to %s", it.ID, it.StartedAt, at)
			}
		}
		if b.SHA256 != hex.EncodeToString(whole.Sum(nil)) {
			t.Errorf("bundle sha256 %s, want %x", b.SHA256, whole.Sum(nil))
		}
		// Raw is the stored field byte for byte (HTML characters unescaped).
		for _, it := range b.Items[:3] {
			rows := influxtest.Query(t, url, bucket, `SELECT "raw" FROM "reach" WHERE "id"='`+it.ID+`'`)
			if len(rows) != 1 || len(rows[0].Values) != 1 || rows[0].Rows()[0]["raw"] != string(it.Raw) {
				t.Errorf("item %s: raw %s, stored %v", it.ID, it.Raw, rows)
			}
		}
		if !strings.Contains(string(b.Items[0].Raw), `"<title>Internet Positif</title> & more"`) {
			t.Errorf("raw %s: HTML characters not as stored", b.Items[0].Raw)
		}
		// Before anything was confirmed: unknown, with the measurements near at.
		b, err = svc.Evidence(ctx(t), "t.me", "Telkomsel", start)
		if err != nil || b.State != "unknown" || b.Since != nil || b.Period != nil || len(b.Items) != 2 {
			t.Errorf("evidence at the start: %v state %s since %v items %d", err, b.State, b.Since, len(b.Items))
		}
	})
}

func TestServiceUnavailable(t *testing.T) {
	st, err := store.New(store.Config{URL: "http://127.0.0.1:1", Bucket: "pantau/autogen"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := newService(t, st, "", end)
	for name, call := range map[string]func() error{
		"timelines":  func() error { _, err := svc.Timelines(ctx(t), report.Query{Domain: "t.me"}); return err },
		"changes":    func() error { _, err := svc.Changes(ctx(t), time.Time{}, time.Time{}); return err },
		"compliance": func() error { _, err := svc.Compliance(ctx(t), "kominfo-2017-telegram-block", end); return err },
		"evidence":   func() error { _, err := svc.Evidence(ctx(t), "t.me", "Telkomsel", end); return err },
	} {
		if err := call(); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s: %v, want unavailable", name, err)
		}
	}
}

func TestServiceBadQueries(t *testing.T) {
	st, err := store.New(store.Config{URL: "http://127.0.0.1:1", Bucket: "pantau/autogen"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := newService(t, st, "", end)
	for _, tc := range []struct {
		q    report.Query
		want string
	}{
		{report.Query{}, "domain: required"},
		{report.Query{Domain: `t.me") |> drop()`}, `domain: "t.me\") |> drop()" may hold only letters, digits, '.', '_' and '-' (at most 253), or be an IP address`},
		{report.Query{Domain: "bücher.example"}, `domain: "bücher.example" is not ASCII: give an internationalised name in its A-label form (xn--…)`},
		{report.Query{Domain: "fe80::1%eth0"}, `domain: "fe80::1%eth0": an IPv6 address with a zone is not a domain`},
		{report.Query{Domain: "t.me."}, `domain: "t.me." has an empty label`},
		{report.Query{Domain: "t.me", Network: "a\"b"}, `network: "a\"b" may hold only letters, digits, spaces, '.', '_' and '-' (at most 253)`},
		{report.Query{Domain: "t.me", Probe: "a b"}, `probe: "a b" may hold only letters, digits, '.', '_' and '-', and one '/' after an import's source as in ooni/AS7713 (at most 253)`},
		{report.Query{Domain: "t.me", Probe: "ooni/AS1/x"}, `probe: "ooni/AS1/x" may hold only letters, digits, '.', '_' and '-', and one '/' after an import's source as in ooni/AS7713 (at most 253)`},
		{report.Query{Domain: "t.me", From: end, To: start}, "from: 2017-07-20T00:00:00Z is not before to 2017-07-10T00:00:00Z"},
		{report.Query{Domain: "t.me", From: start, To: start.Add(91 * 24 * time.Hour)}, "from: 2017-07-10T00:00:00Z to 2017-10-09T00:00:00Z is longer than 90 days"},
	} {
		_, err := svc.Timelines(ctx(t), tc.q)
		if err == nil || err.Error() != tc.want || !errors.Is(err, store.ErrBadFilter) {
			t.Errorf("Timelines(%+v) = %v, want %q", tc.q, err, tc.want)
		}
	}
	if _, err := svc.Evidence(ctx(t), "t.me", "", end); err == nil || err.Error() != "network: required" {
		t.Errorf("evidence without network: %v", err)
	}
	if _, err := svc.Compliance(ctx(t), "kominfo-2017-telegram-block", time.Date(2017, 7, 1, 0, 0, 0, 0, time.UTC)); err == nil ||
		err.Error() != "at: 2017-07-01T00:00:00Z is more than 168h0m0s before the order took effect (2017-07-13T17:00:00Z)" {
		t.Errorf("compliance too early: %v", err)
	}
}
