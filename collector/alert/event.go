package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// Event is one alert. Its JSON (docs/alerts.md) depends on Type: a transition carries domain,
// network, from, to, method, at and confirmed; a compliance change carries order, network
// ("" for the order's overall status), from, to and at. Both carry type, id and sent_at.
type Event struct {
	Type    string `json:"type"`
	ID      string `json:"id"` // stable: the same event always has the same ID
	Domain  string `json:"domain,omitempty"`
	Order   string `json:"order,omitempty"`
	Network string `json:"network"`
	From    string `json:"from"`
	To      string `json:"to"`
	Method  string `json:"method,omitempty"`
	// At is when the new state began (transition) or when the report was computed
	// (compliance); Confirmed is when a transition was confirmed.
	At        time.Time `json:"at"`
	Confirmed time.Time `json:"confirmed,omitzero"`
	// Probe and LastHeartbeat are those of a probe_silent (network_silent: the network's
	// latest heartbeat) event (probes.go).
	Probe         string    `json:"probe,omitempty"`
	LastHeartbeat time.Time `json:"last_heartbeat,omitzero"`
}

type transitionJSON struct {
	Type      string    `json:"type"`
	ID        string    `json:"id"`
	Domain    string    `json:"domain"`
	Network   string    `json:"network"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Method    string    `json:"method"`
	At        time.Time `json:"at"`
	Confirmed time.Time `json:"confirmed"`
	SentAt    time.Time `json:"sent_at"`
}

type complianceJSON struct {
	Type    string    `json:"type"`
	ID      string    `json:"id"`
	Order   string    `json:"order"`
	Network string    `json:"network"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	At      time.Time `json:"at"`
	SentAt  time.Time `json:"sent_at"`
}

// body is the JSON a webhook receives, with every documented field present.
func (e Event) body(sentAt time.Time) ([]byte, error) {
	if e.Type == KindProbeSilent || e.Type == KindNetworkSilent {
		return json.Marshal(probeJSON{e.Type, e.ID, e.Probe, e.Network, e.LastHeartbeat, e.At, ms(sentAt)})
	}
	if e.Type == KindTransition {
		return json.Marshal(transitionJSON{e.Type, e.ID, e.Domain, e.Network, e.From, e.To, e.Method,
			ms(e.At), ms(e.Confirmed), ms(sentAt)})
	}
	return json.Marshal(complianceJSON{e.Type, e.ID, e.Order, e.Network, e.From, e.To, ms(e.At), ms(sentAt)})
}

// eventID hashes the parts that make an event what it is.
func eventID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}

// ms truncates to the precision of measurement times: the store's point times may carry a
// sub-millisecond tiebreak, which is not part of when a measurement was made.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// transitionKey is what makes a transition the same one across checks.
func transitionKey(t timeline.Transition) string {
	return eventID(KindTransition, t.Domain, t.Network, ms(t.Confirmed).Format(time.RFC3339Nano), string(t.To))
}

func transitionEvent(t timeline.Transition) Event {
	return Event{Type: KindTransition, ID: transitionKey(t), Domain: t.Domain, Network: t.Network,
		From: string(t.From), To: string(t.To), Method: t.Method, At: ms(t.At), Confirmed: ms(t.Confirmed)}
}

func complianceEvent(order, network string, from, to orders.Status, at time.Time) Event {
	id := eventID(KindCompliance, order, network, string(from), string(to), at.UTC().Format(time.RFC3339Nano))
	return Event{Type: KindCompliance, ID: id, Order: order, Network: network, From: string(from), To: string(to), At: at}
}
