// Package alert watches timelines and compliance reports and posts an event to webhooks when
// a confirmed transition happens for a watched (domain, network) pair, or when an order's
// compliance status changes, per network and overall. Deliveries are JSON POSTs, signed with
// an HMAC when the webhook has a secret, retried with backoff (go-retryablehttp) and, when a
// webhook keeps failing, kept in a bounded queue and retried at the next check: nothing is
// dropped silently. The configuration, the event format and the rules are documented in
// docs/alerts.md.
package alert

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// Defaults.
const (
	DefaultInterval = time.Minute
	DefaultLookback = 7 * 24 * time.Hour
	DefaultTimeout  = 10 * time.Second
	DefaultRetries  = 3
	DefaultQueue    = 1000
	maxRetries      = 10
)

// Event kinds, as webhooks filter them and as events name their type.
const (
	KindTransition = "transition"
	KindCompliance = "compliance"
)

// AnyNetwork in a watch entry watches every network that measured the domain.
const AnyNetwork = "*"

// Config configures alerts (the collector config's `alerts:` key). Zero values take the
// defaults; with no webhooks, alerting is off.
type Config struct {
	Webhooks []Webhook `yaml:"webhooks"`
	// Watch lists the (domain, network) pairs whose confirmed transitions are alerted.
	Watch []Pair `yaml:"watch"`
	// Orders lists the order IDs whose compliance changes are alerted; empty: every order.
	Orders []string `yaml:"orders"`
	// Interval between checks (default 1m).
	Interval yamlconf.Duration `yaml:"interval"`
	// Lookback is the window of the timelines a check reads (default 7d): a transition is
	// found as long as its measurements arrive within it.
	Lookback yamlconf.Duration `yaml:"lookback"`
	// Queue bounds the events waiting for one webhook (default 1000); beyond it the oldest
	// are dropped, counted and logged.
	Queue int `yaml:"queue"`
	// StateFile keeps what was sent, the compliance baseline and the undelivered events
	// across restarts; empty keeps them in memory only.
	StateFile string `yaml:"state_file"`
	// Role: RoleLeader (the default) checks and sends; RoleOff does neither. Of collector
	// replicas sharing one bucket, exactly one is the leader, so that each event is sent
	// once (docs/scaling.md, Scale-out).
	Role string `yaml:"role"`
}

// Alerting roles of a collector replica.
const (
	RoleLeader = "leader"
	RoleOff    = "off"
)

// Webhook is one receiver.
type Webhook struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Secret, when set, signs each body: header X-Pantau-Signature: sha256=<hex HMAC-SHA256>.
	Secret string `yaml:"secret"`
	// Events this webhook receives: transition, compliance, probe_silent, network_silent;
	// empty: all.
	Events []string `yaml:"events"`
	// Timeout per attempt (default 10s); Retries within one check (default 3).
	Timeout yamlconf.Duration `yaml:"timeout"`
	Retries *int              `yaml:"retries"`
}

// Pair is a watched (domain, network); Network "*" watches every network.
type Pair struct {
	Domain  string `yaml:"domain"`
	Network string `yaml:"network"`
}

// Enabled reports whether this collector sends alerts: a webhook is configured and the
// role is not off.
func (c Config) Enabled() bool { return len(c.Webhooks) > 0 && c.Role != RoleOff }

// WithDefaults returns c with zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.Interval.Duration == 0 {
		c.Interval.Duration = DefaultInterval
	}
	if c.Lookback.Duration == 0 {
		c.Lookback.Duration = DefaultLookback
	}
	if c.Queue == 0 {
		c.Queue = DefaultQueue
	}
	hooks := make([]Webhook, len(c.Webhooks))
	for i, h := range c.Webhooks {
		if h.Timeout.Duration == 0 {
			h.Timeout.Duration = DefaultTimeout
		}
		if h.Retries == nil {
			r := DefaultRetries
			h.Retries = &r
		}
		hooks[i] = h
	}
	c.Webhooks = hooks
	return c
}

// wants reports whether the webhook receives events of kind.
func (h Webhook) wants(kind string) bool {
	if len(h.Events) == 0 {
		return true
	}
	for _, e := range h.Events {
		if e == kind {
			return true
		}
	}
	return false
}

// Validate checks every field and names each bad one (as alerts.<field>): each problem is
// a *yamlconf.FieldError, all joined.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, yamlconf.Errorf("alerts."+field, format, a...))
	}
	if c.Role != "" && c.Role != RoleLeader && c.Role != RoleOff {
		bad("role", "%q is not %s or %s", c.Role, RoleLeader, RoleOff)
	}
	names := map[string]int{}
	for i, h := range c.Webhooks {
		w := fmt.Sprintf("webhooks[%d].", i)
		switch prev, dup := names[h.Name]; {
		case h.Name == "":
			bad(w+"name", "required")
		case dup:
			bad(w+"name", "%q is also webhooks[%d]", h.Name, prev)
		default:
			names[h.Name] = i
		}
		u, err := url.Parse(h.URL)
		switch {
		case h.URL == "":
			bad(w+"url", "required")
		case err != nil:
			bad(w+"url", "%q is not a URL", h.URL)
		case u.Scheme != "http" && u.Scheme != "https":
			bad(w+"url", "must be http or https")
		case u.Host == "":
			bad(w+"url", "%q has no host", h.URL)
		}
		for j, e := range h.Events {
			if e != KindTransition && e != KindCompliance && e != KindProbeSilent && e != KindNetworkSilent {
				bad(fmt.Sprintf("%sevents[%d]", w, j), "%q is not %s, %s, %s or %s", e, KindTransition, KindCompliance, KindProbeSilent, KindNetworkSilent)
			}
		}
		if h.Timeout.Duration < 0 {
			bad(w+"timeout", "%s is negative", h.Timeout.Duration)
		}
		if h.Retries != nil && (*h.Retries < 0 || *h.Retries > maxRetries) {
			bad(w+"retries", "%d is not between 0 and %d", *h.Retries, maxRetries)
		}
	}
	for i, p := range c.Watch {
		if measurement.CheckDomain(p.Domain) != nil {
			bad(fmt.Sprintf("watch[%d].domain", i), "%q is not a domain name", p.Domain)
		}
		if p.Network != AnyNetwork && !store.ValidNetwork(p.Network) {
			bad(fmt.Sprintf("watch[%d].network", i), "%q is not a network name or %q", p.Network, AnyNetwork)
		}
	}
	for i, id := range c.Orders {
		if !store.ValidName(id) {
			bad(fmt.Sprintf("orders[%d]", i), "%q is not an order ID", id)
		}
	}
	if d := c.Interval.Duration; d != 0 && d < time.Second {
		bad("interval", "%s is less than 1s", d)
	}
	if d := c.Lookback.Duration; d != 0 && d < time.Hour {
		bad("lookback", "%s is less than 1h", d)
	}
	if c.Queue < 0 {
		bad("queue", "%d is negative", c.Queue)
	}
	return errors.Join(errs...)
}
