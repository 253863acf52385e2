package agent

import (
	"encoding/json"
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
	Counters       map[string]int64                      `json:"counters"`
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
	if err := os.WriteFile(tmp, b, 0o600); err == nil {
		if err := os.Rename(tmp, p); err != nil {
			a.log.Warn("state not saved", "err", err)
		}
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
