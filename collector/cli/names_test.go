package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// TestServeStoredNames runs `collector serve` on the real InfluxDB: an IPv6 target
// (tcp://[2001:67c:4e8:f004::a]:443) and an IDN in its A-label form are ingested and then
// found by every reader (changes, timeline, the measurements query, the dashboard); the
// Unicode form of the IDN and a bracketed IPv6 address are refused with the reason; odd
// names written straight into InfluxDB are skipped and counted, not an error for everyone.
func TestServeStoredNames(t *testing.T) {
	influx, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	cfg := writeConfig(t, fmt.Sprintf("listen: 127.0.0.1:0\nsecret: %s\ninflux: {url: %s, bucket: %s, timeout: 30s}\ntimeline: {k: 2, m: 1, max_silence: 1h}\n",
		secret, influx, bucket))
	c := serve(t, cfg)
	tok := issue(t, cfg, "jkt-01")
	now := time.Now().UTC()
	const v6, idn = "2001:67c:4e8:f004::a", "xn--bcher-kva.example"
	var ms []*measurement.Measurement
	for i := range 3 {
		for _, d := range []string{v6, idn} {
			m := &measurement.Measurement{ID: measurement.NewID(), SchemaVersion: 1, Target: "https://" + d + "/", Kind: "web",
				Domain: d, Port: 443, StartedAt: now.Add(-time.Duration(30-10*i) * time.Minute), RuntimeMS: 10,
				Software: measurement.Software{Name: "pantau", Version: "test"},
				Verdict:  measurement.Verdict{Status: measurement.StatusAccessible, Reason: "ok", Evidence: []string{}}}
			if d == v6 {
				m.Kind, m.Target = measurement.KindTCP, "tcp://["+v6+"]:443"
			}
			m.Normalise()
			ms = append(ms, m)
		}
	}
	refused := *ms[0]
	refused.ID, refused.Domain = measurement.NewID(), "bücher.example"
	bracketed := *ms[0]
	bracketed.ID, bracketed.Domain = measurement.NewID(), "["+v6+"]"
	body, err := json.Marshal(append(ms, &refused, &bracketed))
	if err != nil {
		t.Fatal(err)
	}
	code, answer := post(t, c.url+"/api/v1/measurements", tok, body)
	var resp struct {
		Accepted, Rejected int
		Items              []struct{ Error string }
	}
	if err := json.Unmarshal([]byte(answer), &resp); err != nil || code != http.StatusOK || resp.Accepted != 6 || resp.Rejected != 2 {
		t.Fatalf("ingest: HTTP %d %v %s", code, err, answer)
	}
	for i, want := range map[int]string{
		6: `measurements[6]: domain: "bücher.example" is not ASCII: give an internationalised name in its A-label form (xn--…)`,
		7: `measurements[7]: domain: "[2001:67c:4e8:f004::a]": give the IPv6 address without brackets: 2001:67c:4e8:f004::a`,
	} {
		if resp.Items[i].Error != want {
			t.Errorf("item %d: %q, want %q", i, resp.Items[i].Error, want)
		}
	}
	// Odd names written straight into InfluxDB: the Unicode form, a bracketed address, a
	// path, spaces and line-protocol separators.
	var lines strings.Builder
	for i, d := range []string{`bücher.example`, `[2001:db8::1]`, `t.me/x`, `a\ b`, `x\,y\=z`} {
		for k := range 3 {
			fmt.Fprintf(&lines, "reach,domain=%s,network=Telkomsel,probe=jkt-01 id=\"%032x\",status=\"blocked\",method=\"dns\" %d\n",
				d, i*10+k, now.Add(-time.Duration(30-10*k)*time.Minute).UnixNano())
		}
	}
	db, rp, _ := strings.Cut(bucket, "/")
	w, err := http.Post(influx+"/write?db="+db+"&rp="+rp, "text/plain", strings.NewReader(lines.String()))
	if err != nil {
		t.Fatal(err)
	}
	w.Body.Close()
	if w.StatusCode != http.StatusNoContent {
		t.Fatalf("writing the odd names: HTTP %d", w.StatusCode)
	}

	since := url.QueryEscape(now.Add(-2 * time.Hour).Format(time.RFC3339))
	code, changes := getBody(t, c.url+"/api/v1/changes?since="+since)
	if code != http.StatusOK || !strings.Contains(changes, `"domain":"`+v6+`","network":"Telkomsel","from":"unknown","to":"accessible"`) ||
		!strings.Contains(changes, `"domain":"`+idn+`","network":"Telkomsel","from":"unknown","to":"accessible"`) ||
		strings.Contains(changes, "bücher") || strings.Contains(changes, "t.me/x") || strings.Contains(changes, "2001:db8::1") {
		t.Errorf("changes: HTTP %d %s", code, changes)
	}
	for _, d := range []string{v6, idn} {
		q := url.Values{"domain": {d}, "network": {"Telkomsel"}, "from": {now.Add(-2 * time.Hour).Format(time.RFC3339)}}
		if code, body := getBody(t, c.url+"/api/v1/timeline?"+q.Encode()); code != http.StatusOK ||
			!strings.Contains(body, `"domain":"`+d+`","network":"Telkomsel"`) || !strings.Contains(body, `"current":"accessible"`) {
			t.Errorf("timeline of %s: HTTP %d %s", d, code, body)
		}
		q = url.Values{"domain": {d}}
		code, body := getBody(t, c.url+"/api/v1/measurements?"+q.Encode())
		var page struct {
			Measurements []struct{ Measurement measurement.Measurement }
		}
		if err := json.Unmarshal([]byte(body), &page); code != http.StatusOK || err != nil || len(page.Measurements) != 3 ||
			page.Measurements[0].Measurement.Domain != d {
			t.Errorf("measurements of %s: HTTP %d %v %s", d, code, err, body)
		}
		if code, body := getBody(t, c.url+"/?"+url.Values{"domain": {d}, "step": {"1h"}}.Encode()); code != http.StatusOK ||
			!strings.Contains(body, `<tr data-network="Telkomsel">`) {
			t.Errorf("dashboard heatmap of %s: HTTP %d %s", d, code, body)
		}
	}
	// Each read of the stored domains that meets the five odd ones counts them.
	code, metrics := getBody(t, c.url+"/metrics")
	var skipped int
	if _, after, ok := strings.Cut(metrics, "\npantau_report_skipped_domains_total "); !ok || code != http.StatusOK {
		t.Errorf("metrics: HTTP %d, no pantau_report_skipped_domains_total:\n%s", code, metrics)
	} else if _, err := fmt.Sscan(after, &skipped); err != nil || skipped < 5 || skipped%5 != 0 {
		t.Errorf("pantau_report_skipped_domains_total %d (%v), want a multiple of 5", skipped, err)
	}
	if code := c.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, c.log)
	}
}
