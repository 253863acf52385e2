// Package report answers the questions Pantau's users ask of stored measurements: the
// timeline of a domain on a network, the confirmed changes since a time, the orders and each
// network's compliance with them, and evidence bundles a regulator can archive. Service
// computes them from storage (timeline and orders do the pure work); Handler serves them as
// JSON and CSV under /api/v1.
package report

import (
	"encoding/json"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// Query selects timelines. Domain is required; Network empty means every network that
// measured the domain in [From, To); PerProbe gives one timeline per probe instead of per
// (domain, network) pair, and Probe narrows to one probe.
type Query struct {
	Domain   string
	Network  string
	Probe    string
	From, To time.Time
	PerProbe bool
}

// Bundle is an evidence bundle: the measurements behind the state of a domain on a network
// at a time, raw and hashed, as a regulator can archive it.
type Bundle struct {
	Domain      string     `json:"domain"`
	Network     string     `json:"network"`
	At          time.Time  `json:"at"`
	State       string     `json:"state"` // the confirmed state at At
	Since       *time.Time `json:"since"` // start of that state's period
	GeneratedAt time.Time  `json:"generated_at"`
	// Period is the confirmed period covering At (nil when none does: in a gap, or before
	// the first confirmed state), and Params the rules that confirmed it.
	Period *timeline.Period `json:"period"`
	Params timeline.Params  `json:"params"`
	Items  []EvidenceItem   `json:"measurements"`
	// Missing counts measurements behind the state that could not be read back (deleted
	// while the bundle was made); they are not in Items.
	Missing int `json:"missing"`
	// SHA256 is the hex SHA-256 of the concatenated Items[i].SHA256 values in order, so the
	// bundle as a whole can be cited by one hash.
	SHA256 string `json:"sha256"`
}

// EvidenceItem is one measurement in a bundle: the raw JSON exactly as the probe submitted
// it, its SHA-256, the probe's identity as its token gave it, and when the collector
// received it. Raw is the last member (Bundle.JSON writes it byte for byte).
type EvidenceItem struct {
	ID         string         `json:"id"`
	Probe      store.Identity `json:"probe"`
	Geo        store.Geo      `json:"source"`
	ReceivedAt time.Time      `json:"received_at"`
	StartedAt  time.Time      `json:"started_at"`
	Status     string         `json:"status"`
	Method     string         `json:"method,omitempty"`
	// Conflicts counts other contents stored for this probe's ID, left out: this one
	// was received first (docs/storage.md, Immutable measurements). Normally absent.
	Conflicts int             `json:"conflicts,omitempty"`
	SHA256    string          `json:"sha256"` // of Raw
	Raw       json.RawMessage `json:"raw"`
}
