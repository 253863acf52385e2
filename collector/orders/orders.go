// Package orders holds legal orders to verify (a ministry's instruction to ISPs to block or
// to unblock names) and measures each network's compliance with them from its timelines.
// Orders are YAML files in an orders folder (the bundled seed orders are embedded); the
// format is documented in docs/orders.md.
package orders

import (
	"time"

	"github.com/pantau-dev/pantau/collector/timeline"
)

// Order is one legal order, as the API shows it. Its file is decoded from orderFile
// (docs/orders.md).
type Order struct {
	ID        string `json:"id"`
	Title     string `json:"title,omitempty"`
	Authority string `json:"authority"`
	Reference string `json:"reference"`
	// Domains in scope; or TargetList, a file (plain list or Citizen Lab CSV) relative to
	// the order's file, whose host names are taken.
	Domains    []string `json:"domains"`
	TargetList string   `json:"target_list,omitempty"`
	// Expect is the state the order requires: timeline.Blocked or timeline.Accessible.
	Expect    timeline.State `json:"expect"`
	Effective time.Time      `json:"effective"`
	// Zone is the IANA time zone its times are shown in (Asia/Jakarta); "" when the file
	// gives none: the offset of Effective is then used (Location, ZoneName).
	Zone string `json:"zone,omitempty"`
	// Grace is how long networks have to comply after Effective (DefaultGrace unless the
	// file gives one).
	Grace time.Duration `json:"grace"`
	// Networks in scope, as the fleet names them (token network labels).
	Networks []string `json:"networks"`
	// Supersedes names an earlier order this one replaces (a lift of a block).
	Supersedes string   `json:"supersedes,omitempty"`
	Sources    []string `json:"sources,omitempty"` // public references

	// File is where the order came from: the YAML file's path, or "seeds/NAME.yaml" for a
	// bundled seed order. Not part of the YAML.
	File string `json:"file,omitempty"`
	// Skipped lists the entries of TargetList that are not host names (IP addresses), which
	// an order about names leaves out. Not part of the YAML.
	Skipped []string `json:"skipped,omitempty"`
}

// DefaultGrace is the grace period of an order that gives none: two days, the time the
// Indonesian ISPs were reported to take to apply a Kominfo instruction. A grace of 0s
// must be written out.
const DefaultGrace = 48 * time.Hour

// Lookback is how much history before an order's Effective time the caller of Comply
// provides, so that the state a network was in when the order took effect is confirmed.
const Lookback = 7 * 24 * time.Hour

// MaxCounter bounds the counter-evidence sample of a DomainReport and of a NetworkReport.
const MaxCounter = 10

// Status is a compliance status.
type Status string

// Compliance statuses.
const (
	Compliant    Status = "compliant"
	NonCompliant Status = "non-compliant"
	Pending      Status = "pending" // the grace period has not ended yet
	Unknown      Status = "unknown" // no coverage: no measurements since the order took effect
)

// Report is an order's compliance, per network and per domain, at a time.
type Report struct {
	Order Order     `json:"order"`
	At    time.Time `json:"at"` // computed for this time
	// Historical: At is before the time the report was made (SetAsOf); AsOf is then At.
	Historical bool       `json:"historical"`
	AsOf       *time.Time `json:"as_of,omitempty"`
	// SupersededBy names the order that replaced this one when the time asked for was at
	// or after the replacement took effect: the report is then for the last second before
	// it (At), while this order stood, and not for the time asked for.
	SupersededBy string          `json:"superseded_by,omitempty"`
	Status       Status          `json:"status"`
	Networks     []NetworkReport `json:"networks"`
	// Local gives the report's times in the order's zone, beside the UTC ones.
	Local *LocalTimes `json:"local"`
}

// NetworkReport is one network's compliance with an order.
type NetworkReport struct {
	Network string `json:"network"`
	Status  Status `json:"status"`
	// TimeToEffectS: seconds from Effective to the first confirmed expected state of the
	// last domain to comply; nil when not every domain has complied.
	TimeToEffectS *float64 `json:"time_to_effect_s"`
	// LateByS and Late: when compliant, how long after the due time (Effective+Grace) its
	// last domain complied, in seconds and in words; absent when on time.
	LateByS *float64 `json:"late_by_s,omitempty"`
	Late    string   `json:"late,omitempty"`
	// Reason and ReasonText: when unknown, why (its first unknown domain's reason).
	Reason     Reason `json:"reason,omitempty"`
	ReasonText string `json:"reason_text,omitempty"`
	// Share of measurements since Effective+Grace consistent with the order (0..1), and the
	// counts it comes from.
	Share        float64 `json:"share"`
	Consistent   int     `json:"consistent"`
	Measurements int     `json:"measurements"`
	// Undecided counts the down and inconclusive measurements of the same span: neither
	// consistent nor counter-evidence, and not in Measurements.
	Undecided    int            `json:"undecided"`
	Domains      []DomainReport `json:"domains"`
	Counter      []timeline.Obs `json:"counter_evidence"` // a bounded sample, newest first
	CounterTotal int            `json:"counter_total"`
}

// DomainReport is one domain's compliance on one network.
type DomainReport struct {
	Domain        string         `json:"domain"`
	Status        Status         `json:"status"`
	Current       timeline.State `json:"current"`
	Effect        *time.Time     `json:"effect"`                 // first confirmed expected state after Effective
	EffectLocal   string         `json:"effect_local,omitempty"` // Effect in the order's zone
	TimeToEffectS *float64       `json:"time_to_effect_s"`       // Effect - Effective in seconds
	LateByS       *float64       `json:"late_by_s,omitempty"`    // compliant: Effect - due time, absent when on time
	Late          string         `json:"late,omitempty"`         // LateByS in words
	Reason        Reason         `json:"reason,omitempty"`       // unknown: why
	ReasonText    string         `json:"reason_text,omitempty"`  // Reason in words
	Share         float64        `json:"share"`
	Consistent    int            `json:"consistent"`
	Measurements  int            `json:"measurements"`
	Undecided     int            `json:"undecided"`        // down and inconclusive, not in Measurements
	Counter       []timeline.Obs `json:"counter_evidence"` // a bounded sample, newest first
	CounterTotal  int            `json:"counter_total"`
	Gaps          int            `json:"gaps"` // coverage gaps since Effective
}
