package demo

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// Writer stores measurements: *store.Store.
type Writer interface {
	Write(ctx context.Context, items []store.Item) error
}

// Probe is one simulated probe.
type Probe struct {
	ID  string
	Net *Network
	// Offset is when in each cadence period its run starts (probes are staggered).
	Offset time.Duration
}

// Probes lists the simulated fleet: each network's probes, staggered through the cadence.
func Probes() []Probe {
	var out []Probe
	for i := range Networks {
		n := &Networks[i]
		for j := range n.Probes {
			off := time.Duration(i)*17*time.Minute + time.Duration(j)*Cadence/time.Duration(n.Probes)
			out = append(out, Probe{ID: fmt.Sprintf("%s%s-%d", ProbePrefix, slug(n.Name), j+1), Net: n, Offset: off % Cadence})
		}
	}
	return out
}

// slug is a network name in lower case with dashes: "XL Axiata" → "xl-axiata".
func slug(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c == ' ':
			b[i] = '-'
		}
	}
	return string(b)
}

// batch is how many measurements one Write carries.
const batch = 2000

// Stats says what Load stored.
type Stats struct {
	Probes, Measurements int
	Elapsed              time.Duration
}

// Load generates the data set and writes it to w, a few probes at a time. It fails when
// a derived verdict is not what the plan says (the observations would not show the story).
func Load(ctx context.Context, w Writer, log *slog.Logger) (Stats, error) {
	start := time.Now()
	probes := Probes()
	var (
		mu    sync.Mutex
		total int
		first error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, 3)
	for _, p := range probes {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			n, err := loadProbe(ctx, w, p)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil && first == nil {
				first = err
			}
		})
	}
	wg.Wait()
	st := Stats{Probes: len(probes), Measurements: total, Elapsed: time.Since(start)}
	if first != nil {
		return st, first
	}
	log.Info("demo: simulated data set loaded", "probes", st.Probes, "measurements", st.Measurements, "elapsed", st.Elapsed.Round(time.Millisecond))
	return st, nil
}

// loadProbe generates and writes one probe's measurements; it returns how many it wrote.
func loadProbe(ctx context.Context, w Writer, p Probe) (int, error) {
	b := newBuilder()
	items := make([]store.Item, 0, batch)
	n := 0
	flush := func() error {
		if len(items) == 0 {
			return nil
		}
		if err := w.Write(ctx, items); err != nil {
			return fmt.Errorf("demo: writing %s's measurements: %w", p.ID, err)
		}
		n += len(items)
		items = items[:0]
		return nil
	}
	for _, s := range Samples(p) {
		it, err := b.item(s)
		if err != nil {
			return n, err
		}
		if items = append(items, it); len(items) == batch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}

// Samples lists the measurements p makes: every name once a run, a run every Cadence,
// none while its network is offline.
func Samples(p Probe) []sample {
	var out []sample
	slot := 0
	for run := Start.Add(p.Offset); run.Before(End); run = run.Add(Cadence) {
		slot++
		jitter := time.Duration(seed(p.ID, "", slot)%180) * time.Second
		for i, d := range Domains {
			at := run.Add(jitter + time.Duration(i)*1700*time.Millisecond).Truncate(time.Millisecond)
			if p.Net.Offline(at) || !at.Before(End) {
				continue
			}
			out = append(out, sample{net: p.Net, probe: p.ID, domain: d, at: at, seed: seed(p.ID, d, slot)})
		}
	}
	return out
}

// item is the measurement of s as the collector stores it, checked against the plan.
func (b *builder) item(s sample) (store.Item, error) {
	m := b.measure(s)
	want := measurement.StatusAccessible
	if s.net.Blocked(s.domain, s.at) {
		want = measurement.StatusBlocked
	}
	if m.Verdict.Status != want {
		return store.Item{}, fmt.Errorf("demo: %s %s on %s at %s: the verdict is %s (%s), the plan says %s",
			s.probe, s.domain, s.net.Name, s.at.Format(time.RFC3339), m.Verdict.Status, m.Verdict.Reason, want)
	}
	received := s.at.Add(time.Duration(m.RuntimeMS*float64(time.Millisecond)) + time.Duration(1000+s.seed%4000)*time.Millisecond)
	return store.Item{M: m, Probe: store.Identity{Probe: s.probe, Network: s.net.Name, Country: s.net.Country, ASN: s.net.ASN},
		Geo: store.Geo{ASN: s.net.ASN, Org: s.net.Name + " (simulated)"}, ReceivedAt: received.Truncate(time.Millisecond)}, nil
}

// seed is a fixed pseudo-random number for (probe, domain, slot).
func seed(probe, domain string, slot int) uint64 {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(slot))
	sum := sha256.Sum256(append([]byte(probe+"\x00"+domain+"\x00"), n[:]...))
	return binary.LittleEndian.Uint64(sum[:8])
}
