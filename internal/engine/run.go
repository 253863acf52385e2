package engine

import (
	"context"
	"sync"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// run is the state of one target being measured: the target, the observations recorded so
// far, and the addresses to connect to. Steps append to it; a step run twice (for
// addresses the control added later) only handles what it has not handled yet.
type run struct {
	t   target.Target
	obs *measurement.Observations
	// fps collects fingerprint matches of every step.
	fps []measurement.FingerprintMatch
	// endpoints are the addresses to connect to, in order, de-duplicated.
	endpoints []endpoint

	// resolve looks up other hosts (HTTP redirects).
	resolve func(ctx context.Context, host string) ([]string, error)
	// pending are the DNS questions whose late-reply windows may still be open.
	pending []*dnsquery.Result
	// cleanup runs when the target is done (contexts that outlive their step).
	cleanup []func()

	mu sync.Mutex // guards obs and fps while a step works concurrently
}

// endpoint is one address to connect to and where it came from.
type endpoint struct {
	IP     string
	Origin string // measurement.OriginProbe, OriginControl or OriginTarget
}

// addEndpoint appends ip unless it is already known.
func (r *run) addEndpoint(ip, origin string) {
	for _, e := range r.endpoints {
		if e.IP == ip {
			return
		}
	}
	r.endpoints = append(r.endpoints, endpoint{IP: ip, Origin: origin})
}
