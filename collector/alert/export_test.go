package alert

import "time"

// SetClock replaces the Watcher's clock.
func SetClock(w *Watcher, now func() time.Time) { w.now = now }

// SetBackoff shortens the waits between retries.
func SetBackoff(w *Watcher, min, max time.Duration) {
	for _, h := range w.hooks {
		h.hc.RetryWaitMin, h.hc.RetryWaitMax = min, max
	}
}
