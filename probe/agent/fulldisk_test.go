//go:build linux

package agent_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pantau-dev/pantau/probe/spool"
	"github.com/pantau-dev/pantau/probe/spool/spooltest"
)

// TestFullDiskHeartbeat: a run whose measurements overfill a small real file system
// spools every one of them, the oldest dropped to make room, and the heartbeat carries
// the drops, as counters.json does.
func TestFullDiskHeartbeat(t *testing.T) {
	disk := spooltest.SmallDisk(t, 160<<10)
	sched := filepath.Join(t.TempDir(), "schedules")
	const n = 100
	writeSchedule(t, sched, "lab", labSite(t, nil), n)
	a, sp := newAgentIn(t, filepath.Join(disk, "state"), nil, sched)
	got, err := a.RunSchedule(context.Background(), a.Schedules().Get("lab"))
	if err != nil {
		t.Fatal(err)
	}
	st := sp.Stats()
	if got != n || st.Dropped == 0 || st.Depth+int(st.Dropped) != n {
		t.Fatalf("%d of %d spooled, stats %+v: want all spooled, the oldest dropped to make room", got, n, st)
	}
	hb := a.Heartbeat("")
	if hb.Dropped != st.Dropped || hb.SpoolDepth != st.Depth {
		t.Errorf("heartbeat dropped %d, depth %d; spool %+v", hb.Dropped, hb.SpoolDepth, st)
	}
	if rs, err := spool.ReadStats(filepath.Join(disk, "state", "spool")); err != nil || rs.Dropped != st.Dropped {
		t.Errorf("counters.json: %+v, %v; want dropped %d", rs, err, st.Dropped)
	}
}
