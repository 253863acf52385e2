package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
)

// compliance finds the watched orders whose overall or per-network status changed since the
// last check. An order's first report is its baseline: it fires nothing.
func (w *Watcher) compliance(ctx context.Context, now time.Time) ([]Event, error) {
	if !slices.ContainsFunc(w.hooks, func(h *hook) bool { return h.cfg.wants(KindCompliance) }) {
		return nil, nil
	}
	var errs []error
	var events []Event
	for _, o := range w.watchedOrders() {
		r, err := w.data.Compliance(ctx, o.ID, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("compliance of order %s: %w", o.ID, err))
			continue
		}
		cur := map[string]orders.Status{"": r.Status}
		nets := []string{""}
		for _, n := range r.Networks {
			cur[n.Network] = n.Status
			nets = append(nets, n.Network)
		}
		w.mu.Lock()
		prev, known := w.st.Compliance[o.ID]
		w.st.Compliance[o.ID] = cur
		w.mu.Unlock()
		if !known {
			continue
		}
		for _, n := range nets {
			if p, ok := prev[n]; ok && p != cur[n] {
				events = append(events, complianceEvent(o.ID, n, p, cur[n], r.At))
			}
		}
	}
	return events, errors.Join(errs...)
}

// watchedOrders returns the configured orders that exist (all of them when none are
// configured), and logs the configured IDs that do not.
func (w *Watcher) watchedOrders() []orders.Order {
	all := w.data.Orders()
	if len(w.cfg.Orders) == 0 {
		return all
	}
	var out []orders.Order
	for _, id := range w.cfg.Orders {
		i := slices.IndexFunc(all, func(o orders.Order) bool { return o.ID == id })
		if i < 0 {
			w.log.Warn("alerts: watched order not found", "order", id)
			continue
		}
		out = append(out, all[i])
	}
	return out
}
