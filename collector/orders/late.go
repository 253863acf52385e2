package orders

import (
	"fmt"
	"time"
)

// Reason says why a status is unknown: a stable code (ReasonCode) and its text.
type Reason string

// Reasons for an unknown status, in the order Comply tells them apart (docs/orders.md).
const (
	// NoProbe: no measurement of any of the order's names on this network in the span the
	// report reads (the order's lookback until at): no probe there, or none measured them.
	NoProbe Reason = "no-probe"
	// NotMeasured: the name was not measured on this network since the order took effect.
	NotMeasured Reason = "not-measured"
	// OnlyUndecided: every measurement since the order was down or inconclusive.
	OnlyUndecided Reason = "only-undecided"
	// NotDecisive: there are decisive measurements since the order, but the current
	// confirmed state is down or inconclusive, or nothing is confirmed yet.
	NotDecisive Reason = "not-decisive"
)

// Text is the reason in words, for the dashboard and the CSV.
func (r Reason) Text() string {
	switch r {
	case NoProbe:
		return "no probe measured the order's names on this network"
	case NotMeasured:
		return "not measured since the order took effect"
	case OnlyUndecided:
		return "only down or inconclusive measurements since the order took effect"
	case NotDecisive:
		return "the current state is not decisive (down, inconclusive or not confirmed yet)"
	}
	return ""
}

// lateness is a DomainReport's LateByS and Late, from the time it complied (effect) and the due time:
// nothing when it complied by the due time.
func lateness(effect, due time.Time) (*float64, string) {
	d := effect.Sub(due)
	if d <= 0 {
		return nil, ""
	}
	return seconds(d), LateText(d)
}

// LateText writes how long after the due time a network complied, as
// "2 d 3 h after the grace period ended" (days and hours, or hours and minutes, or
// minutes and seconds under an hour).
func LateText(d time.Duration) string {
	days, h, m, s := d/(24*time.Hour), (d%(24*time.Hour))/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	var t string
	switch {
	case days > 0:
		t = fmt.Sprintf("%d d %d h", days, h)
	case h > 0:
		t = fmt.Sprintf("%d h %d min", h, m)
	case m > 0:
		t = fmt.Sprintf("%d min %d s", m, s)
	default:
		t = fmt.Sprintf("%d s", s)
	}
	return t + " after the grace period ended"
}

// SetAsOf marks r as historical when it was computed for a time before now (the caller's
// clock): AsOf is then r.At, and the dashboard and CSV say "as of" it instead of "now".
func (r *Report) SetAsOf(now time.Time) {
	r.Historical = r.At.Before(now)
	r.AsOf = nil
	if r.Historical {
		at := r.At
		r.AsOf = &at
	}
	r.setLocal()
}
