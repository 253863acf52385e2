package agent_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/probe/agent"
	"github.com/pantau-dev/pantau/probe/spool"
)

// TestHeartbeatControlSaturation: a helper that is busy (503, retried after its
// Retry-After) and then refuses the request leaves the target without a control; the
// heartbeat counts both, and a heartbeat without such trouble omits them.
func TestHeartbeatControlSaturation(t *testing.T) {
	var seen atomic.Int64
	helper := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if seen.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	t.Cleanup(helper.Close)
	ctrl, err := control.NewClient([]string{helper.URL}, nil, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sched := filepath.Join(dir, "schedules")
	writeSchedule(t, sched, "lab", labSite(t, nil), 1)
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(dir, "spool")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	a, err := agent.New(agent.Options{
		Engine: engine.Config{LabCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Software: measurement.Software{Name: "pantau-probe", Version: "test"},
			Timeouts: engine.Timeouts{TCP: 2 * time.Second, HTTP: 5 * time.Second, Target: 20 * time.Second}},
		Control: ctrl, Spool: sp, SchedulesDir: sched, StateDir: filepath.Join(dir, "state"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if hb := a.Heartbeat(""); hb.ControlBusy != 0 || hb.ControlFailed != 0 {
		t.Errorf("before any run: control_busy %d control_failed %d", hb.ControlBusy, hb.ControlFailed)
	}
	if n, err := a.RunSchedule(context.Background(), a.Schedules().Get("lab")); n != 1 || err != nil {
		t.Fatalf("run: %d spooled, %v", n, err)
	}
	hb := a.Heartbeat("")
	if hb.ControlBusy != 1 || hb.ControlFailed != 1 || seen.Load() != 2 {
		t.Errorf("control_busy %d control_failed %d after %d requests; want 1, 1 after 2", hb.ControlBusy, hb.ControlFailed, seen.Load())
	}
	if err := hb.Validate(time.Now()); err != nil {
		t.Error(err)
	}
}
