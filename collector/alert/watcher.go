package alert

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// Data is what the Watcher reads: report.Service satisfies it.
type Data interface {
	Timelines(ctx context.Context, q report.Query) ([]timeline.Timeline, error)
	Orders() []orders.Order
	Compliance(ctx context.Context, id string, at time.Time) (orders.Report, error)
}

// Watcher checks for news at each interval and delivers it to the webhooks.
type Watcher struct {
	cfg    Config
	data   Data
	log    *slog.Logger
	now    func() time.Time
	hooks  []*hook
	check  sync.Mutex  // one Check at a time
	probes *probeWatch // nil: probe silences are not watched (probes.go)

	mu       sync.Mutex // guards st, orphans and the hooks' queues and counters
	st       state
	orphaned int64 // events queued for webhooks no longer configured, dropped at start
}

// Stats counts deliveries: Sent events, Failed delivery attempts (each failed event is
// retried at the next check), Pending events queued, and Dropped events (queue overflow,
// or queued for a webhook that is no longer configured).
type Stats struct {
	Sent, Failed, Pending, Dropped int64
	Webhooks                       []WebhookStats
}

// WebhookStats are one webhook's counts.
type WebhookStats struct {
	Name                           string
	Sent, Failed, Pending, Dropped int64
}

// New returns a Watcher for a valid cfg, with the state file's memory when there is one
// (log nil: no logging).
func New(cfg Config, d Data, log *slog.Logger) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := loadState(cfg.StateFile)
	if err != nil {
		return nil, err
	}
	w := &Watcher{cfg: cfg, data: d, log: log, now: time.Now, st: st}
	for _, c := range cfg.Webhooks {
		h := newHook(c, time.Second, 30*time.Second)
		if q := st.Pending[c.Name]; len(q) > cfg.Queue { // the queue was made shorter
			log.Warn("alerts: queue full, oldest events dropped", "webhook", c.Name, "dropped", len(q)-cfg.Queue, "queue", cfg.Queue)
			h.dropped = int64(len(q) - cfg.Queue)
			st.Pending[c.Name] = q[len(q)-cfg.Queue:]
		}
		h.queue = st.Pending[c.Name]
		delete(st.Pending, c.Name)
		w.hooks = append(w.hooks, h)
	}
	for name, q := range st.Pending { // webhooks removed from the configuration
		log.Warn("alerts: dropping events queued for a webhook no longer configured", "webhook", name, "events", len(q))
		w.orphaned += int64(len(q))
	}
	w.st.Pending = nil
	return w, nil
}

// Run checks at once and then every interval until ctx ends, logging what fails.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Interval.Duration)
	defer t.Stop()
	for {
		if err := w.Check(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("alerts: check", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stats returns the delivery counts.
func (w *Watcher) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := Stats{Dropped: w.orphaned}
	for _, h := range w.hooks {
		hs := WebhookStats{Name: h.cfg.Name, Sent: h.sent, Failed: h.failed, Pending: int64(len(h.queue)), Dropped: h.dropped}
		s.Sent += hs.Sent
		s.Failed += hs.Failed
		s.Pending += hs.Pending
		s.Dropped += hs.Dropped
		s.Webhooks = append(s.Webhooks, hs)
	}
	return s
}

// Check runs one evaluation: it finds the transitions confirmed since the watcher first
// started that were not alerted yet, and the compliance statuses that changed since the last
// check, queues them for the webhooks, and delivers every queued event. The error joins what
// could not be read or delivered; what was not delivered stays queued.
func (w *Watcher) Check(ctx context.Context) error {
	w.check.Lock()
	defer w.check.Unlock()
	now := w.now()
	var errs []error
	w.mu.Lock()
	if w.st.Started.IsZero() {
		w.st.Started = now
	}
	w.mu.Unlock()
	events, err := w.transitions(ctx, now)
	errs = append(errs, err)
	ev, err := w.compliance(ctx, now)
	errs = append(errs, err)
	events = append(events, ev...)
	ev, err = w.probeEvents(ctx, now)
	errs = append(errs, err)
	events = append(events, ev...)

	w.mu.Lock()
	for _, e := range events {
		for _, h := range w.hooks {
			if !h.cfg.wants(e.Type) {
				continue
			}
			if n := h.enqueue(e, w.cfg.Queue); n > 0 {
				w.log.Warn("alerts: queue full, oldest events dropped", "webhook", h.cfg.Name, "dropped", n, "queue", w.cfg.Queue)
			}
		}
	}
	for k, c := range w.st.Seen {
		if c.Before(now.Add(-w.cfg.Lookback.Duration)) {
			delete(w.st.Seen, k)
		}
	}
	w.mu.Unlock()
	// Saved before delivery, so a crash re-sends (receivers dedupe by ID) but never misses.
	errs = append(errs, w.save(), w.deliver(ctx), w.save())
	return errors.Join(errs...)
}

// transitions finds the new confirmed transitions of the watched pairs, oldest first, and
// marks them seen.
func (w *Watcher) transitions(ctx context.Context, now time.Time) ([]Event, error) {
	var errs []error
	var found []timeline.Transition
	for _, p := range w.cfg.Watch {
		q := report.Query{Domain: p.Domain, From: now.Add(-w.cfg.Lookback.Duration), To: now}
		if p.Network != AnyNetwork {
			q.Network = p.Network
		}
		tls, err := w.data.Timelines(ctx, q)
		if err != nil {
			errs = append(errs, fmt.Errorf("timelines of %s on %s: %w", p.Domain, p.Network, err))
			continue
		}
		for _, tl := range tls {
			if tl.Probe != "" || tl.Domain != p.Domain || (q.Network != "" && tl.Network != q.Network) {
				continue
			}
			found = append(found, tl.Transitions...)
		}
	}
	slices.SortStableFunc(found, func(a, b timeline.Transition) int {
		if c := a.Confirmed.Compare(b.Confirmed); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(a.Domain, b.Domain), strings.Compare(a.Network, b.Network))
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	var events []Event
	done := map[string]bool{} // a pair can be watched twice (by name and by "*")
	for _, t := range found {
		k, pair := transitionKey(t), t.Domain+" "+t.Network
		if done[k] {
			continue
		}
		done[k] = true
		last, known := w.st.Last[pair]
		// The first confirmed state of a window is where the window starts, not a change;
		// it is the pair's baseline only when nothing is known of the pair yet.
		if t.From == timeline.Unknown || t.To == timeline.Unknown {
			if !known && t.To != timeline.Unknown {
				w.st.Last[pair] = t.To
			}
			continue
		}
		// Fire what was not sent, happened since the watcher first started, and changes the
		// pair's last known state (a window may see a change again from another start).
		_, seen := w.st.Seen[k]
		if !seen && !t.Confirmed.Before(w.st.Started) && (!known || t.To != last) {
			events = append(events, transitionEvent(t))
		}
		w.st.Seen[k] = t.Confirmed
		w.st.Last[pair] = t.To
	}
	return events, errors.Join(errs...)
}

// deliver flushes every webhook's queue, the webhooks concurrently.
func (w *Watcher) deliver(ctx context.Context) error {
	errs := make([]error, len(w.hooks))
	var wg sync.WaitGroup
	for i, h := range w.hooks {
		w.mu.Lock()
		queue := slices.Clone(h.queue)
		w.mu.Unlock()
		if len(queue) == 0 {
			continue
		}
		wg.Go(func() {
			n, err := h.flush(ctx, queue, w.now)
			w.mu.Lock()
			h.queue = h.queue[n:] // only Check adds to the queue, and Check waits for this
			h.sent += int64(n)
			if err != nil {
				h.failed++
			}
			w.mu.Unlock()
			if err != nil {
				w.log.Warn("alerts: delivery failed, will retry at the next check", "webhook", h.cfg.Name,
					"err", err, "pending", len(queue)-n)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// save writes the state file with the current queues.
func (w *Watcher) save() error {
	w.mu.Lock()
	st := w.st
	st.Pending = map[string][]Event{}
	for _, h := range w.hooks {
		if len(h.queue) > 0 {
			st.Pending[h.cfg.Name] = slices.Clone(h.queue)
		}
	}
	err := saveState(w.cfg.StateFile, st)
	w.mu.Unlock()
	return err
}
