package api

import (
	"fmt"
	"io"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// scheduleNames are the schedule names of a heartbeat: each is the schedule tag of a
// probe_schedule point, so a new one is a new series.
func scheduleNames(h *measurement.Heartbeat) []string {
	names := make([]string, len(h.Schedules))
	for i, sc := range h.Schedules {
		names[i] = sc.Name
	}
	return names
}

// writeSeriesMetrics appends the series cap's counters to /metrics.
func (s *Server) writeSeriesMetrics(w io.Writer) {
	c := s.o.SeriesCap
	fmt.Fprintf(w, "# HELP pantau_series_cap_refused_total Values refused because their probe's allowance of new values (limits.new_domains_per_hour, new_schedules_per_hour) was used up, by field.\n# TYPE pantau_series_cap_refused_total counter\n")
	for _, f := range []string{auth.FieldDomain, auth.FieldSchedule} {
		fmt.Fprintf(w, "pantau_series_cap_refused_total{field=%q} %d\n", f, c.Refused(f))
	}
	fmt.Fprintf(w, "# HELP pantau_series_cap_remembered (probe, field, value) triples the series cap remembers as seen.\n# TYPE pantau_series_cap_remembered gauge\npantau_series_cap_remembered %d\n", c.Remembered())
}
