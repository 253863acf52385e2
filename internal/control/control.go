// Package control is Pantau's control vantage point: the HTTP handler an uncensored helper
// serves (`probe helper`, and the collector under /api/v1/control) and the client a
// probe uses to ask helpers to measure the same target. A site that is down for everyone
// must never be reported as blocked; the helper's observations tell the two apart.
//
// The handler refuses private and reserved destinations (SSRF) through a Guard, caches
// observations briefly, shares one observation among identical concurrent requests and
// bounds how many run at once. The client asks helpers in order and returns the first
// answer. See docs/control.md.
package control

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/pantau-dev/pantau/internal/bogon"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// MaxAddrs bounds Request.Addrs.
const MaxAddrs = 32

// Observer measures a target from this vantage point: DNS via its own resolvers, TCP to
// the resolved addresses and to addrs (the probe's), TLS, HTTP. *engine.Engine implements
// it. The Observer must guard its own dials (engine.Config.DialGuard): the handler can
// only check IP literals, not what names resolve to.
type Observer interface {
	Observe(ctx context.Context, t target.Target, addrs []string) measurement.Observations
}

// Request asks a helper to measure a target.
type Request struct {
	Target string   `json:"target"` // as target.Parse accepts; its normalised form is used
	Addrs  []string `json:"addrs"`  // IP addresses the probe's DNS returned (at most MaxAddrs)
}

// Response is a helper's answer.
type Response struct {
	MeasuredAt time.Time `json:"measured_at"` // when the observation started
	Cached     bool      `json:"cached"`      // served from the cache
	// Refused names the request's addresses the Guard refused; they were not measured.
	// Entries read `addrs[0]: 10.0.0.1 is a private or reserved address; not measured`.
	Refused []string `json:"refused,omitempty"`
	measurement.Observations
}

// Guard returns a function that refuses loopback, private (RFC 1918, ULA), link-local,
// CGNAT, unspecified, multicast, documentation and other reserved addresses, unless
// they fall in one of the lab prefixes. IPv4-mapped addresses are judged as IPv4 and
// zones are ignored. Use it for the handler and as the engine's DialGuard.
func Guard(lab []netip.Prefix) func(netip.Addr) error {
	b := bogon.New(lab)
	return func(a netip.Addr) error {
		if b.IsBogon(a.WithZone("")) {
			return fmt.Errorf("%s is a private or reserved address", a)
		}
		return nil
	}
}
