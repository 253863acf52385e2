package measurement

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestHeartbeatControlFields: the control saturation counts are omitted while 0 (older
// collectors refuse unknown fields), present otherwise, and never negative.
func TestHeartbeatControlFields(t *testing.T) {
	now := time.Now().UTC()
	base := func() Heartbeat {
		return Heartbeat{SentAt: now, Software: Software{Name: "pantau-probe", Version: "v1"}, Schedules: []ScheduleStatus{}}
	}
	for _, tc := range []struct {
		name        string
		busy, fail  int64
		json, error string
	}{
		{"zero omitted", 0, 0, "", ""},
		{"counted", 40, 2, `"control_busy":40,"control_failed":2`, ""},
		{"negative busy", -1, 0, "", "control_busy: -1 is negative"},
		{"negative failed", 0, -3, "", "control_failed: -3 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hb := base()
			hb.ControlBusy, hb.ControlFailed = tc.busy, tc.fail
			err := hb.Validate(now)
			if tc.error == "" && err != nil || tc.error != "" && (err == nil || !strings.Contains(err.Error(), tc.error)) {
				t.Fatalf("Validate: %v, want %q", err, tc.error)
			}
			b, err := json.Marshal(&hb)
			if err != nil {
				t.Fatal(err)
			}
			has := strings.Contains(string(b), "control_")
			if tc.json == "" && tc.error == "" && has || tc.json != "" && !strings.Contains(string(b), tc.json) {
				t.Errorf("JSON %s, want %q", b, tc.json)
			}
		})
	}
}
