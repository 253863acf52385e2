package report

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/sign"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// Evidence returns the bundle behind the state of domain on network at at (zero: now):
// the timeline over [at - EvidenceSpan, at + 1 day) gives the confirmed period covering at,
// and the bundle holds the MaxEvidence measurements of that period nearest to at (without
// a period: those within the timeline's MaxSilence of at), raw as submitted and hashed.
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

// fill reads the chosen measurements (identity, source, receive time, raw JSON as
// submitted) into b. A measurement is its probe's: it is found by probe, ID and point
// time, so another probe's measurement with the same ID is never taken for it.
func (s *Service) fill(ctx context.Context, b *Bundle, chosen []timeline.Obs) error {
	type key struct {
		probe, id string
		at        int64
	}
	from, to := chosen[0].At, chosen[len(chosen)-1].At.Add(time.Nanosecond)
	stored := map[key]store.StoredMeasurement{}
	f := store.Filter{Domain: b.Domain, Network: b.Network, From: from, To: to, Limit: store.MaxLimit}
	for {
		page, next, err := s.src.Measurements(ctx, f)
		if err != nil {
			return err
		}
		for _, sm := range page {
			stored[key{sm.Probe.Probe, sm.Measurement.ID, sm.At.UnixNano()}] = sm
		}
		if next == "" {
			break
		}
		f.After = next
	}
	for _, o := range chosen {
		sm, ok := stored[key{o.Probe, o.ID, o.At.UnixNano()}]
		if !ok {
			b.Missing++
			continue
		}
		sum := sha256.Sum256(sm.Raw)
		b.Items = append(b.Items, EvidenceItem{ID: o.ID, Probe: sm.Probe, Geo: sm.Geo, ReceivedAt: sm.ReceivedAt,
			StartedAt: sm.Measurement.StartedAt, Status: string(o.Status), Method: o.Method, Conflicts: sm.Conflicts,
			SHA256: hex.EncodeToString(sum[:]), Raw: json.RawMessage(sm.Raw)})
	}
	if b.Missing > 0 {
		s.log.Warn("evidence: measurements vanished while reading", "domain", b.Domain, "network", b.Network, "missing", b.Missing)
	}
	return nil
}

// JSON encodes b with each item's raw JSON byte for byte as submitted, so that its
// SHA-256 checks against the file: encoding/json would compact it (drop its white space).
// HTML characters are not escaped.
func (b Bundle) JSON() ([]byte, error) {
	items := b.Items
	b.Items = nil
	head, err := encodeJSON(b)
	if err != nil {
		return nil, err
	}
	const slot, rawSlot = `"measurements":null`, `"raw":null}`
	// Keys are the only place these bytes can occur: in a string a quote is escaped.
	i := bytes.Index(head, []byte(slot))
	if i < 0 {
		return nil, errors.New("evidence bundle: no measurements member")
	}
	out := append(append([]byte(nil), head[:i]...), `"measurements":[`...)
	for k, it := range items {
		raw := it.Raw
		it.Raw = nil
		js, err := encodeJSON(it)
		if err != nil {
			return nil, err
		}
		j := bytes.LastIndex(js, []byte(rawSlot))
		if j < 0 || j+len(rawSlot) != len(js) {
			return nil, errors.New("evidence bundle: raw is not the item's last member")
		}
		if k > 0 {
			out = append(out, ',')
		}
		out = append(append(append(out, js[:j]...), `"raw":`...), raw...)
		out = append(out, '}')
	}
	return append(append(out, ']'), head[i+len(slot):]...), nil
}

// encodeJSON is json.Marshal without HTML escaping and the final newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeSignedJSON answers the JSON object body with its signature as the last member
// ("signature": null without a signing key), as a download named name.json unless name
// is "".
func (h *handler) writeSignedJSON(w http.ResponseWriter, name string, body []byte, m sign.Meta) {
	signed, err := h.s.signer.Sign(body, sign.JSON, m)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	if name != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "")+`.json"`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(signed, '\n'))
}

// writeSignedCSV answers rows as writeCSV does, with the signature row last when a
// signing key is configured.
func (h *handler) writeSignedCSV(w http.ResponseWriter, name string, rows [][]string, m sign.Meta) {
	signed, err := h.s.signer.Sign(csvBytes(rows), sign.CSV, m)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	csvHeaders(w, name)
	_, _ = w.Write(signed)
}
