// Package timeline turns stored measurements and heartbeats into states over time: for each
// (domain, network) pair, and for each probe, the sequence of confirmed states, when each was
// first and last seen, the confirmed transitions between them, and the gaps where coverage
// was missing. It is pure: no I/O, no clock; the same input always gives the same output.
//
// The rules (defaults, confirmation, gaps) are documented in docs/timeline.md.
package timeline

import "time"

// State is the state of a domain on a network (or for one probe) at a time. The values
// are the verdict statuses of the measurements (measurement.Verdict.Status), plus Unknown.
type State string

// States.
const (
	Accessible   State = "accessible"
	Blocked      State = "blocked"
	Down         State = "down"         // down for everyone, the control included
	Inconclusive State = "inconclusive" // a measurement that could not decide
	Unknown      State = "unknown"      // nothing confirmed yet, or no coverage
)

// Obs is one stored measurement reduced to what timelines need.
type Obs struct {
	At      time.Time `json:"at"` // the measurement's point time (started_at)
	ID      string    `json:"id"` // measurement ID
	Probe   string    `json:"probe"`
	Network string    `json:"network"`
	Domain  string    `json:"domain"`
	Status  State     `json:"status"`           // verdict status
	Method  string    `json:"method,omitempty"` // verdict method when blocked: dns, tcp, tls, http
}

// Beat is one heartbeat: the probe was alive and reporting at At.
type Beat struct {
	At      time.Time `json:"at"`
	Probe   string    `json:"probe"`
	Network string    `json:"network"`
}

// Params tune confirmation and gap detection. Zero fields take the defaults
// (DefaultParams, documented in docs/timeline.md).
type Params struct {
	// K agreeing measurements confirm a state: consecutive for each probe that switched
	// to it (another probe's dissent does not reset them).
	K int `json:"k" yaml:"k"`
	// M distinct probes must vote for it (capped at the number of probes taking part: those
	// whose latest decisive measurement of the pair is within MaxSilence, so a network with
	// one probe, or whose other probes are away, can still confirm). The state must also
	// have more votes than any other.
	M int `json:"m" yaml:"m"`
	// MaxSilence: no measurement of the pair and no heartbeat of its probes for longer than
	// this is a gap in coverage.
	MaxSilence time.Duration `json:"max_silence" yaml:"max_silence"`
}

// Period is one confirmed state, from the confirming run's first measurement (Since) to the
// next period's Since or the end of the window (Until).
type Period struct {
	State        State     `json:"state"`
	Method       string    `json:"method,omitempty"` // the most common blocking method, when Blocked
	Since        time.Time `json:"since"`            // first measurement of the confirming run
	Confirmed    time.Time `json:"confirmed"`        // when the K-th agreeing measurement came
	FirstSeen    time.Time `json:"first_seen"`       // first measurement in this state in the period
	LastSeen     time.Time `json:"last_seen"`        // last measurement in this state in the period
	Until        time.Time `json:"until"`
	Measurements int       `json:"measurements"` // measurements agreeing with State
	Disagreeing  int       `json:"disagreeing"`  // measurements in the period with another state
	Probes       int       `json:"probes"`       // distinct probes that reported State
	// Inconclusive measurements in a decisive period: they neither agree nor disagree.
	// Measurements + Disagreeing + Inconclusive is every measurement in the period.
	Inconclusive int `json:"inconclusive"`
}

// Transition is a confirmed change of state.
type Transition struct {
	Domain    string    `json:"domain"`
	Network   string    `json:"network"`
	Probe     string    `json:"probe,omitempty"` // set for a per-probe timeline
	From      State     `json:"from"`            // Unknown for the first confirmed state
	To        State     `json:"to"`
	Method    string    `json:"method,omitempty"`
	At        time.Time `json:"at"`        // Since of the new period
	Confirmed time.Time `json:"confirmed"` // Confirmed of the new period
}

// Gap is a stretch without coverage. A gap never reads as a change of state.
type Gap struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Reason string    `json:"reason"` // GapNoHeartbeat or GapNoMeasurement
}

// Gap reasons.
const (
	GapNoHeartbeat   = "no_heartbeat"   // the probes were silent: offline or not reporting
	GapNoMeasurement = "no_measurement" // probes were alive but did not measure the pair
)

// Timeline is the history of one domain on one network (Probe empty) or for one probe.
type Timeline struct {
	Domain       string       `json:"domain"`
	Network      string       `json:"network"`
	Probe        string       `json:"probe,omitempty"`
	From         time.Time    `json:"from"`
	To           time.Time    `json:"to"`
	Current      State        `json:"current"` // the last confirmed state; Unknown if none
	Periods      []Period     `json:"periods"`
	Transitions  []Transition `json:"transitions"`
	Gaps         []Gap        `json:"gaps"`
	Measurements int          `json:"measurements"`
	Probes       int          `json:"probes"`
	// Unconfirmed counts the measurements before the first confirmed period (in no period).
	Unconfirmed int `json:"unconfirmed"`
}
