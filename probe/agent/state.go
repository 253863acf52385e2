package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// State is what the agent remembers across restarts and what `probe status` prints: the
// last run of each schedule, the last submission, counters.
type State struct {
	SchedulesHash  string                                `json:"schedules_hash"`
	Schedules      map[string]measurement.ScheduleStatus `json:"schedules"`
	LastSubmission Submission                            `json:"last_submission"`
	ClockOffsetMS  float64                               `json:"clock_offset_ms"`
	SyncError      string                                `json:"sync_error,omitempty"`
	// Blocked is set while the collector refuses the probe's submissions as a whole.
	Blocked *Blocked `json:"uplink_blocked,omitempty"`
	// HeartbeatError is why the last heartbeat was not delivered; empty once one is.
	HeartbeatError string           `json:"heartbeat_error,omitempty"`
	Counters       map[string]int64 `json:"counters"`
}

// Blocked describes a collector (or a proxy in front of it) that refuses the probe's
// submissions as a whole, e.g. with 401 for an expired token. The backlog stays spooled
// and is tried again at NextTry, with a doubling wait.
type Blocked struct {
	Since    time.Time `json:"since"`    // the first refusal
	Cause    string    `json:"cause"`    // the last one, e.g. "401 Unauthorized: token expired at …"
	Attempts int       `json:"attempts"` // refused tries since Since
	NextTry  time.Time `json:"next_try"`
}

// String is how `probe status` and heartbeats tell it.
func (b *Blocked) String() string {
	return fmt.Sprintf("blocked since %s: %s", b.Since.Format(time.RFC3339), b.Cause)
}

// Submission is the outcome of the last batch sent.
type Submission struct {
	At       time.Time `json:"at"`
	Accepted int       `json:"accepted"`
	Rejected int       `json:"rejected"`
	Error    string    `json:"error,omitempty"`
}

// count adds one to a named counter (skipped overlaps, spool errors).
func (a *Agent) count(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state.Counters == nil {
		a.state.Counters = map[string]int64{}
	}
	a.state.Counters[name]++
}

// ReadState reads the state file of a state directory (empty when there is none).
func ReadState(dir string) (State, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	err = json.Unmarshal(b, &st)
	return st, err
}

func loadState(dir string) State {
	st, _ := ReadState(dir) // a damaged state file only loses history, not measurements
	if st.Schedules == nil {
		st.Schedules = map[string]measurement.ScheduleStatus{}
	}
	if st.Blocked != nil {
		st.Blocked.NextTry = time.Time{} // a restart tries at once: the cause may be fixed
	}
	return st
}

// saveState writes the state file atomically.
func (a *Agent) saveState() {
	a.mu.Lock()
	b, err := json.MarshalIndent(&a.state, "", "  ")
	a.mu.Unlock()
	if err != nil {
		return
	}
	p := filepath.Join(a.o.StateDir, "state.json")
	tmp := p + ".tmp"
	err = os.WriteFile(tmp, b, 0o600)
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp) // a partial file on a full disk would only take more room
		a.log.Warn("state not saved", "err", err)
	}
}

func (a *Agent) setRun(name string, f func(*measurement.ScheduleStatus)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.state.Schedules[name]
	st.Name = name
	f(&st)
	a.state.Schedules[name] = st
}

func (a *Agent) noteSubmission(accepted, rejected int, err error) {
	a.mu.Lock()
	s := Submission{At: time.Now().UTC(), Accepted: accepted, Rejected: rejected}
	if err != nil {
		s.Error = err.Error()
	}
	a.state.LastSubmission = s
	a.mu.Unlock()
	a.saveState()
}
