package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/collector/report"
)

// warmEvery warms the report cache at once and then every interval until ctx ends, so that
// the first compliance request after a start or a cache expiry does not wait for InfluxDB.
func warmEvery(ctx context.Context, svc *report.Service, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := svc.Warm(ctx); err != nil && ctx.Err() == nil {
			log.Warn("report cache: warming failed; requests will read InfluxDB", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// writeReportMetrics appends the report cache's and (when alerts are on) the webhooks'
// counters to /metrics.
func writeReportMetrics(w io.Writer, svc *report.Service, watcher *alert.Watcher) {
	cs := svc.CacheStats()
	fmt.Fprintf(w, "# HELP pantau_report_cache_items Observations and heartbeats held by the report cache.\n# TYPE pantau_report_cache_items gauge\npantau_report_cache_items %d\n", cs.Items)
	fmt.Fprintf(w, "# HELP pantau_report_cache_lookups_total Report cache lookups of a (domain, day), by result.\n# TYPE pantau_report_cache_lookups_total counter\n")
	fmt.Fprintf(w, "pantau_report_cache_lookups_total{result=\"hit\"} %d\npantau_report_cache_lookups_total{result=\"miss\"} %d\n", cs.Hits, cs.Misses)
	fmt.Fprintf(w, "# HELP pantau_report_skipped_domains_total Stored domains left out of reports because no query could name them.\n# TYPE pantau_report_skipped_domains_total counter\npantau_report_skipped_domains_total %d\n", svc.SkippedDomains())
	if watcher == nil {
		return
	}
	st := watcher.Stats()
	for _, m := range []struct {
		name, help string
		get        func(alert.WebhookStats) int64
		gauge      bool
	}{
		{"pantau_alert_events_sent_total", "Alert events delivered, per webhook.", func(s alert.WebhookStats) int64 { return s.Sent }, false},
		{"pantau_alert_delivery_failures_total", "Failed alert deliveries (the event stays queued), per webhook.", func(s alert.WebhookStats) int64 { return s.Failed }, false},
		{"pantau_alert_events_dropped_total", "Alert events dropped because a webhook's queue was full, per webhook.", func(s alert.WebhookStats) int64 { return s.Dropped }, false},
		{"pantau_alert_events_pending", "Alert events waiting for delivery, per webhook.", func(s alert.WebhookStats) int64 { return s.Pending }, true},
	} {
		kind := "counter"
		if m.gauge {
			kind = "gauge"
		}
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, kind)
		for _, h := range st.Webhooks {
			fmt.Fprintf(w, "%s{webhook=%q} %d\n", m.name, h.Name, m.get(h))
		}
	}
}
