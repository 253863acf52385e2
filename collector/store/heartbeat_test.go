package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

func TestWriteHeartbeat(t *testing.T) {
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	s, err := New(Config{URL: url, Bucket: bucket}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC()
	hb := &measurement.Heartbeat{SentAt: now, Software: measurement.Software{Name: "pantau-probe", Version: "v1"}, SchedulesHash: "abc",
		Schedules:  []measurement.ScheduleStatus{{Name: "id-telegram-web-2017", LastStart: now.Add(-time.Minute), Measurements: 16, Next: now.Add(time.Minute)}, {Name: "never-ran"}},
		SpoolDepth: 3, Dropped: 2, ClockOffsetMS: -1.5, ControlBusy: 40, ControlFailed: 1}
	it := HeartbeatItem{H: hb, Probe: Identity{Probe: "jkt-01", Network: "Telkomsel", ASN: 23693, Country: "ID"}, ReceivedAt: now}
	if err := s.WriteHeartbeat(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	db := bucket[:len(bucket)-len("/autogen")]
	rows := influxtest.Query(t, url, db, `SELECT "spool_depth","dropped","clock_offset_ms","schedules_hash","control_busy","control_failed" FROM "probe_status" WHERE "probe"='jkt-01'`)
	if len(rows) != 1 || len(rows[0].Rows()) != 1 {
		t.Fatalf("probe_status rows = %+v", rows)
	}
	r := rows[0].Rows()[0]
	if fmt.Sprintf("%v %v %v %v %v %v", r["spool_depth"], r["dropped"], r["clock_offset_ms"], r["schedules_hash"], r["control_busy"], r["control_failed"]) != "3 2 -1.5 abc 40 1" {
		t.Errorf("probe_status = %v", r)
	}
	if n := influxtest.Count(t, url, db, "probe_schedule", "measurements"); n != 2 {
		t.Errorf("%d probe_schedule points, want 2", n)
	}
}
