package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/api"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/fleet"
	"github.com/pantau-dev/pantau/collector/store"
)

// revokedRefresh is how often a collector reads the revocations `collector token revoke`
// stored: the longest a revoked token is still accepted by a running collector.
const revokedRefresh = 30 * time.Second

// fleetOptions adds the probe list (GET /api/v1/probes, the Probes page), enrolment
// (POST /api/v1/enrol) and the probe-silence alerts to the collector.
func (c *collector) fleetOptions(opts *api.Options) error {
	f, err := fleet.New(c.cfg.Probes, c.store, nil)
	if err != nil {
		return usageError("%s: %v", c.cfgPath, err)
	}
	c.fleet = f
	opts.Fleet = f
	extra := opts.ExtraMetrics
	m := &fleetMetrics{fleet: f, log: c.log}
	opts.ExtraMetrics = func(w io.Writer) {
		if extra != nil {
			extra(w)
		}
		m.write(w)
	}
	opts.Enrol = &api.Enrol{Secret: []byte(c.cfg.Secret), Store: c.store}
	if c.watcher != nil {
		c.watcher.WatchProbes(f, f.Config().SilentAfter.Duration)
	}
	return nil
}

// revokedSource reads the stored revocation list (collector/store's Store).
type revokedSource interface {
	StoredRevocations(ctx context.Context) ([]string, error)
}

// refreshRevoked gives v the stored revocation list now and every revokedRefresh until
// ctx ends. A list that cannot be read, or holds a bad entry, is logged and the previous
// one kept.
func refreshRevoked(ctx context.Context, src revokedSource, v *auth.Verifier, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, store.DefaultTimeout)
		list, err := src.StoredRevocations(rctx)
		cancel()
		if err == nil {
			err = v.SetStoredRevoked(list)
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("stored revocations not refreshed; keeping the previous list", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fleetMetricsAge is how long the probe counts of /metrics are reused: a scrape every few
// seconds reads InfluxDB at most this often.
const fleetMetricsAge = 15 * time.Second

// fleetMetrics writes pantau_probes{state}: the probes of the list in each state, read
// from storage, so every replica reports the whole fleet (unlike
// pantau_probe_last_seen_timestamp_seconds, which is this process's).
type fleetMetrics struct {
	fleet *fleet.Fleet
	log   *slog.Logger
	mu    sync.Mutex
	at    time.Time
	count map[string]int
}

func (m *fleetMetrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.count == nil || time.Since(m.at) > fleetMetricsAge {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		l, err := m.fleet.List(ctx)
		cancel()
		if err != nil {
			m.log.Warn("metrics: probe list not read", "err", err)
			if m.count == nil {
				return // no value is better than a false zero
			}
		} else {
			m.count, m.at = map[string]int{}, time.Now()
			for _, p := range l.Probes {
				m.count[p.State]++
			}
		}
	}
	fmt.Fprintf(w, "# HELP pantau_probes Probes heard from within probes.window, by state (docs/operations.md).\n# TYPE pantau_probes gauge\n")
	for _, st := range []string{fleet.OK, fleet.Late, fleet.Silent, fleet.Outdated} {
		fmt.Fprintf(w, "pantau_probes{state=%q} %d\n", st, m.count[st])
	}
}
