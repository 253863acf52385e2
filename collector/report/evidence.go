package report

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// Evidence returns the bundle behind the state of domain on network at at (zero: now):
// the timeline over [at - EvidenceSpan, at + 1 day) gives the confirmed period covering at,
// and the bundle holds the MaxEvidence measurements of that period nearest to at (without
// a period: those within the timeline's MaxSilence of at), raw as stored and hashed.
func (s *Service) Evidence(ctx context.Context, domain, network string, at time.Time) (Bundle, error) {
	if err := checkNames(domain, network, ""); err != nil {
		return Bundle{}, err
	}
	if network == "" {
		return Bundle{}, bad("network: required")
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	if at.After(now.Add(time.Minute)) {
		return Bundle{}, bad("at: %s is in the future", at.UTC().Format(time.RFC3339))
	}
	// The window ends a day after at, but never in the future: the silence after the last
	// measurement is a gap only once it has lasted (a state measured minutes ago holds now).
	from, to := at.Add(-EvidenceSpan), at.Add(24*time.Hour)
	if end := now.Add(time.Millisecond); end.Before(to) {
		to = end
		if !to.After(at) {
			to = at.Add(time.Millisecond)
		}
	}
	onNet := func(n string) bool { return n == network }
	obs, err := s.cache.observations(ctx, []string{domain}, from, to, func(o *timeline.Obs) bool { return onNet(o.Network) })
	if err != nil {
		return Bundle{}, err
	}
	beats, err := s.cache.beats(ctx, from, to, func(b *timeline.Beat) bool { return onNet(b.Network) })
	if err != nil {
		return Bundle{}, err
	}
	tl := timeline.Build(domain, network, obs, beats, from, to, s.params)
	b := Bundle{Domain: domain, Network: network, At: at, State: string(timeline.Unknown), GeneratedAt: now.UTC(),
		Params: s.params, Items: []EvidenceItem{}}
	lo, hi := at.Add(-s.params.MaxSilence), at.Add(s.params.MaxSilence)
	if p, ok := tl.StateAt(at); ok {
		b.State, b.Since, b.Period = string(p.State), &p.Since, &p
		lo, hi = p.Since, p.Until
	}
	chosen := nearest(obs, at, lo, hi)
	if len(chosen) > 0 {
		if err := s.fill(ctx, &b, chosen); err != nil {
			return Bundle{}, err
		}
	}
	h := sha256.New()
	for _, it := range b.Items {
		h.Write([]byte(it.SHA256))
	}
	b.SHA256 = hex.EncodeToString(h.Sum(nil))
	return b, nil
}

// nearest returns the MaxEvidence observations in [lo, hi) nearest to at, by time.
func nearest(obs []timeline.Obs, at, lo, hi time.Time) []timeline.Obs {
	var in []timeline.Obs
	for _, o := range obs {
		if !o.At.Before(lo) && o.At.Before(hi) {
			in = append(in, o)
		}
	}
	dist := func(o timeline.Obs) time.Duration {
		if d := o.At.Sub(at); d >= 0 {
			return d
		}
		return at.Sub(o.At)
	}
	slices.SortFunc(in, func(a, b timeline.Obs) int {
		return cmp.Or(cmp.Compare(dist(a), dist(b)), a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
	})
	in = in[:min(len(in), MaxEvidence)]
	slices.SortFunc(in, func(a, b timeline.Obs) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID)) })
	return in
}

// fill reads the chosen measurements (identity, source, receive time, raw JSON) into b.
func (s *Service) fill(ctx context.Context, b *Bundle, chosen []timeline.Obs) error {
	from, to := chosen[0].At, chosen[len(chosen)-1].At.Add(time.Nanosecond)
	meta := map[string]store.StoredMeasurement{}
	f := store.Filter{Domain: b.Domain, Network: b.Network, From: from, To: to, Limit: store.MaxLimit}
	for {
		page, next, err := s.src.Measurements(ctx, f)
		if err != nil {
			return err
		}
		for _, sm := range page {
			meta[sm.Measurement.ID] = sm
		}
		if next == "" {
			break
		}
		f.After = next
	}
	raws, err := s.src.RawJSON(ctx, store.ObsFilter{Domains: []string{b.Domain}, Networks: []string{b.Network}, From: from, To: to})
	if err != nil {
		return err
	}
	for _, o := range chosen {
		sm, ok := meta[o.ID]
		raw, okRaw := raws[o.ID]
		if !ok || !okRaw {
			b.Missing++
			continue
		}
		sum := sha256.Sum256([]byte(raw))
		b.Items = append(b.Items, EvidenceItem{ID: o.ID, Probe: sm.Probe, Geo: sm.Geo, ReceivedAt: sm.ReceivedAt,
			StartedAt: sm.Measurement.StartedAt, Status: string(o.Status), Method: o.Method,
			SHA256: hex.EncodeToString(sum[:]), Raw: json.RawMessage(raw)})
	}
	if b.Missing > 0 {
		s.log.Warn("evidence: measurements vanished while reading", "domain", b.Domain, "network", b.Network, "missing", b.Missing)
	}
	return nil
}
