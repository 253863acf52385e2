package cli

import (
	"context"
	"log/slog"
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
