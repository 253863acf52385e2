package report

import (
	"context"
	"reflect"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
)

// ReloadOrders reads OrdersDir again and serves its orders when they changed: collector
// replicas sharing the folder (a shared volume) serve the orders uploaded through any of
// them. A folder that does not load is logged and the orders served stay as they were.
func (s *Service) ReloadOrders() error {
	if s.dir == "" {
		return nil
	}
	s.putMu.Lock() // not while an upload writes and checks the folder
	defer s.putMu.Unlock()
	list, err := orders.Load(s.dir)
	if err != nil {
		s.log.Warn("orders_dir not reloaded; serving the orders loaded before", "err", s.relative(err))
		return err
	}
	s.mu.Lock()
	changed := !reflect.DeepEqual(list, s.orders)
	if changed {
		s.orders = list
	}
	s.mu.Unlock()
	if changed {
		s.log.Info("orders reloaded from orders_dir", "orders", len(list))
	}
	return nil
}

// ReloadOrdersEvery runs ReloadOrders every interval until ctx ends.
func (s *Service) ReloadOrdersEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = s.ReloadOrders()
		}
	}
}
