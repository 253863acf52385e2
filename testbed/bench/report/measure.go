package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// get fetches base+path with query and decodes the JSON answer into v; it returns how long
// the request took, the body read included.
func get(ctx context.Context, client *http.Client, base, path string, query url.Values, v any) (time.Duration, error) {
	u := base + path + "?" + query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	d := time.Since(t0)
	if err != nil {
		return d, fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("GET %s: HTTP %d: %.300s", u, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return d, fmt.Errorf("GET %s: decoding: %w", u, err)
	}
	return d, nil
}

// pair is a (domain, network) pair to request the timeline of.
type pair struct {
	domain string
	net    *network
}

// randomPairs returns n random pairs; with eachDomain, one per domain (in order) instead.
func (w *world) randomPairs(n int, eachDomain bool, seed uint64) []pair {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []pair
	if eachDomain {
		for _, d := range w.domains {
			out = append(out, pair{d, &w.networks[rng.IntN(len(w.networks))]})
		}
		return out
	}
	for range n {
		out = append(out, pair{w.domains[rng.IntN(len(w.domains))], &w.networks[rng.IntN(len(w.networks))]})
	}
	return out
}

// timelines requests the timelines of pairs over the whole data set, one after the
// other, and checks each answer. It returns the latencies in request order.
func timelines(ctx context.Context, client *http.Client, base string, w *world, pairs []pair) ([]time.Duration, error) {
	var lat []time.Duration
	for _, p := range pairs {
		var r struct {
			Timelines []timeline.Timeline `json:"timelines"`
		}
		q := url.Values{"domain": {p.domain}, "network": {p.net.name}, "from": {w.start.Format(time.RFC3339)}, "to": {w.end().Format(time.RFC3339)}}
		took, err := get(ctx, client, base, "/api/v1/timeline", q, &r)
		if err != nil {
			return lat, err
		}
		lat = append(lat, took)
		if err := w.checkTimeline(p.domain, p.net, r.Timelines); err != nil {
			return lat, fmt.Errorf("timeline of %s on %s: %w", p.domain, p.net.name, err)
		}
	}
	return lat, nil
}

// checkTimeline checks the one timeline of domain on net against what the generator did:
// it covers the whole set, and its current state is the one the network ends in.
func (w *world) checkTimeline(domain string, net *network, tls []timeline.Timeline) error {
	if len(tls) != 1 {
		return fmt.Errorf("%d timelines, want 1", len(tls))
	}
	tl := tls[0]
	if tl.Domain != domain || tl.Network != net.name {
		return fmt.Errorf("got the timeline of %s on %s", tl.Domain, tl.Network)
	}
	if want := w.expectedMeasurements(net); tl.Measurements < want*9/10 || tl.Measurements > want {
		return fmt.Errorf("%d measurements, want about %d", tl.Measurements, want)
	}
	want := timeline.Accessible
	if net.blockAt >= 0 && (net.liftAt == 0 || slices.Contains(net.keep, domain)) {
		want = timeline.Blocked
	}
	if tl.Current != want {
		return fmt.Errorf("current state %s, want %s", tl.Current, want)
	}
	if net.blockAt >= 0 && !slices.ContainsFunc(tl.Transitions, func(t timeline.Transition) bool { return t.To == timeline.Blocked }) {
		return fmt.Errorf("no transition to blocked in %v", tl.Transitions)
	}
	return nil
}

// expectedMeasurements is how many measurements of one domain net's probes make when
// never offline.
func (w *world) expectedMeasurements(net *network) int {
	probes := 0
	for _, p := range w.probes {
		if w.networks[p.net].name == net.name {
			probes++
		}
	}
	return probes * int(w.end().Sub(w.start)/w.cadence)
}

// compliance fetches the order's compliance report at the end of the data set runs times
// and checks it; it returns the latencies and the last report.
func compliance(ctx context.Context, client *http.Client, base string, w *world, id string, runs int) ([]time.Duration, orders.Report, error) {
	var lat []time.Duration
	var r orders.Report
	for range runs {
		r = orders.Report{}
		took, err := get(ctx, client, base, "/api/v1/orders/"+url.PathEscape(id)+"/compliance", url.Values{"at": {w.end().Format(time.RFC3339)}}, &r)
		if err != nil {
			return lat, r, err
		}
		lat = append(lat, took)
		if err := w.checkCompliance(r); err != nil {
			return lat, r, fmt.Errorf("compliance with %s: %w", id, err)
		}
	}
	return lat, r, nil
}

// checkCompliance checks the report says what the generator made the networks do.
func (w *world) checkCompliance(r orders.Report) error {
	got := map[string]orders.NetworkReport{}
	for _, nr := range r.Networks {
		got[nr.Network] = nr
	}
	if nr := got[uncovered]; nr.Status != orders.Unknown {
		return fmt.Errorf("%s (no probes): status %q, want %q", uncovered, nr.Status, orders.Unknown)
	}
	for _, n := range w.networks {
		nr, ok := got[n.name]
		if !ok {
			return fmt.Errorf("%s: not in the report", n.name)
		}
		if n.expect != "" && nr.Status != n.expect {
			return fmt.Errorf("%s: status %q, want %q", n.name, nr.Status, n.expect)
		}
		if len(nr.Domains) != len(w.domains) {
			return fmt.Errorf("%s: %d domains, want %d", n.name, len(nr.Domains), len(w.domains))
		}
		for _, dr := range nr.Domains {
			want := orders.Compliant
			if n.blockAt < 0 || (n.liftAt > 0 && !slices.Contains(n.keep, dr.Domain)) {
				want = orders.NonCompliant
			}
			if dr.Status != want {
				return fmt.Errorf("%s %s: status %q, want %q", n.name, dr.Domain, dr.Status, want)
			}
			if want == orders.Compliant && (dr.TimeToEffectS == nil || *dr.TimeToEffectS < n.blockAt.Seconds() ||
				*dr.TimeToEffectS > (n.blockAt+4*time.Hour).Seconds()) {
				return fmt.Errorf("%s %s: time to effect %v s, want %v to %v after the effective time", n.name, dr.Domain,
					deref(dr.TimeToEffectS), n.blockAt, n.blockAt+4*time.Hour)
			}
		}
	}
	return nil
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
