package timeline

import (
	"errors"
	"fmt"
	"time"
)

// Defaults (docs/timeline.md explains the choice).
const (
	DefaultK          = 3         // three agreeing measurements: 30-45 min at a 15-min cadence
	DefaultM          = 2         // from two probes, when two are measuring
	DefaultMaxSilence = time.Hour // four missed 15-min rounds, twelve 5-min heartbeats
	// MinMaxSilence is the shortest MaxSilence Validate accepts: below it, ordinary jitter
	// between rounds would read as gaps.
	MinMaxSilence = time.Minute
)

// DefaultParams returns the documented defaults: K=3, M=2, MaxSilence=1h.
func DefaultParams() Params {
	return Params{K: DefaultK, M: DefaultM, MaxSilence: DefaultMaxSilence}
}

// WithDefaults returns p with every field that is zero (or negative) replaced by its default.
func (p Params) WithDefaults() Params {
	d := DefaultParams()
	if p.K <= 0 {
		p.K = d.K
	}
	if p.M <= 0 {
		p.M = d.M
	}
	if p.MaxSilence <= 0 {
		p.MaxSilence = d.MaxSilence
	}
	return p
}

// Validate reports every bad field, one line each, naming the field as configured
// ("k: must be at least 1, got -1"). Zero fields are valid: they take the defaults.
func (p Params) Validate() error {
	var errs []error
	if p.K < 0 {
		errs = append(errs, fmt.Errorf("k: must be at least 1, got %d", p.K))
	}
	if p.M < 0 {
		errs = append(errs, fmt.Errorf("m: must be at least 1, got %d", p.M))
	}
	if p.MaxSilence < 0 || (p.MaxSilence > 0 && p.MaxSilence < MinMaxSilence) {
		errs = append(errs, fmt.Errorf("max_silence: must be at least 1m, got %s", p.MaxSilence))
	}
	return errors.Join(errs...)
}
