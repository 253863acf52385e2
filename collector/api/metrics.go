package api

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// metrics are the collector's Prometheus metrics, written in the text exposition format.
type metrics struct {
	accepted, rejected, rejectedRequests atomic.Int64
	unauthorized, rateLimited            atomic.Int64
	readLimited                          atomic.Int64
	influxErrors                         atomic.Int64
	heartbeats                           atomic.Int64
	conflicts, backdated                 atomic.Int64 // items refused: stored with other content; started before the token
	connsRefused                         atomic.Int64 // over the per-address cap (LimitListener)

	mu       sync.Mutex
	buckets  []float64 // write latency bucket bounds, seconds
	counts   []int64   // cumulative per bucket
	sum      float64
	n        int64
	lastSeen map[string]time.Time
}

func newMetrics() *metrics {
	b := []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	return &metrics{buckets: b, counts: make([]int64, len(b)), lastSeen: map[string]time.Time{}}
}

func (m *metrics) observeWrite(d time.Duration) {
	s := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, b := range m.buckets {
		if s <= b {
			m.counts[i]++
		}
	}
	m.sum += s
	m.n++
}

func (m *metrics) seen(probe string, t time.Time) {
	m.mu.Lock()
	m.lastSeen[probe] = t
	m.mu.Unlock()
}

func (m *metrics) serve(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	counter := func(name, help string, v int64, labels string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s%s %d\n", name, help, name, name, labels, v)
	}
	fmt.Fprintf(w, "# HELP pantau_ingest_measurements_total Measurements received, by result.\n# TYPE pantau_ingest_measurements_total counter\n")
	fmt.Fprintf(w, "pantau_ingest_measurements_total{result=\"accepted\"} %d\n", m.accepted.Load())
	fmt.Fprintf(w, "pantau_ingest_measurements_total{result=\"rejected\"} %d\n", m.rejected.Load())
	counter("pantau_ingest_bad_requests_total", "Ingest requests refused whole (bad body, too large).", m.rejectedRequests.Load(), "")
	counter("pantau_auth_failures_total", "Requests with a missing, forged, expired or revoked token.", m.unauthorized.Load(), "")
	counter("pantau_rate_limited_total", "Requests refused by the per-probe rate limit.", m.rateLimited.Load(), "")
	counter("pantau_read_rate_limited_total", "Public read requests refused by the per-address rate limit.", m.readLimited.Load(), "")
	counter("pantau_influx_errors_total", "Requests not stored because InfluxDB was unavailable.", m.influxErrors.Load(), "")
	counter("pantau_heartbeats_total", "Heartbeats stored.", m.heartbeats.Load(), "")
	counter("pantau_ingest_conflicts_total", "Measurements refused because the probe's measurement with their ID is stored with other content.", m.conflicts.Load(), "")
	counter("pantau_ingest_backdated_total", "Measurements refused because they started before their token was issued, less the backdate slack.", m.backdated.Load(), "")
	counter("pantau_connections_refused_total", "Connections closed at once: their address held its cap of open connections.", m.connsRefused.Load(), "")
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(w, "# HELP pantau_influx_write_seconds Latency of InfluxDB writes.\n# TYPE pantau_influx_write_seconds histogram\n")
	for i, b := range m.buckets {
		fmt.Fprintf(w, "pantau_influx_write_seconds_bucket{le=\"%g\"} %d\n", b, m.counts[i])
	}
	fmt.Fprintf(w, "pantau_influx_write_seconds_bucket{le=\"+Inf\"} %d\npantau_influx_write_seconds_sum %g\npantau_influx_write_seconds_count %d\n", m.n, m.sum, m.n)
	fmt.Fprintf(w, "# HELP pantau_probe_last_seen_timestamp_seconds When each probe last submitted.\n# TYPE pantau_probe_last_seen_timestamp_seconds gauge\n")
	probes := make([]string, 0, len(m.lastSeen))
	for p := range m.lastSeen {
		probes = append(probes, p)
	}
	sort.Strings(probes)
	for _, p := range probes {
		fmt.Fprintf(w, "pantau_probe_last_seen_timestamp_seconds{probe=%q} %d\n", p, m.lastSeen[p].Unix())
	}
}
