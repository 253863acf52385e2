package engine

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// canaryRun is a run's canary being measured alongside the run's targets.
type canaryRun struct {
	done chan struct{}
	c    *measurement.Canary // written before done is closed
}

// startCanary measures the canary (Config.Canary) in the background, bounded by
// canaryTimeout and ctx; nil when there is no canary. Running it alongside the targets
// means it costs a run nothing unless it is slower than the run's first targets.
func (e *Engine) startCanary(ctx context.Context) *canaryRun {
	if e.cfg.Canary == "" {
		return nil
	}
	cr := &canaryRun{done: make(chan struct{})}
	go func() {
		defer close(cr.done)
		cr.c = e.canary(ctx)
	}()
	return cr
}

// wait returns a copy of the canary once it is measured (each measurement gets its own;
// the slices are shared, read-only). A nil run has no canary.
func (cr *canaryRun) wait() *measurement.Canary {
	if cr == nil {
		return nil
	}
	<-cr.done
	c := *cr.c
	return &c
}

// canaryTimeout bounds the canary: one DNS question and one fetch, within the target
// timeout.
func (e *Engine) canaryTimeout() time.Duration {
	return min(e.cfg.Timeouts.DNS+e.cfg.Timeouts.HTTP, e.cfg.Timeouts.Target)
}

// canary resolves the canary name with the driving resolvers (the system ones, or the
// configured ones without any), the same way as a target's, and fetches http://NAME/ at
// the addresses, redirects followed, with the target fetch's body cap and hashing.
func (e *Engine) canary(ctx context.Context) *measurement.Canary {
	ctx, cancel := context.WithTimeout(ctx, e.canaryTimeout())
	defer cancel()
	start := time.Now()
	name := e.cfg.Canary
	c := &measurement.Canary{Name: name, Addrs: []string{}}
	defer func() { c.TimeMS = measurement.Ms(time.Since(start)) }()
	u := &url.URL{Scheme: "http", Host: name, Path: "/"}
	if e.canaryPort != 0 {
		u.Host = net.JoinHostPort(name, strconv.Itoa(e.canaryPort))
	}
	var obs measurement.Observations
	r := e.newRun(target.Target{Kind: measurement.KindWeb, URL: u, Domain: name, Port: 80}, &obs)
	defer r.done() // ends the late-reply windows: the canary does not wait for them
	e.dnsStep(ctx, r)
	for _, ep := range r.endpoints {
		c.Addrs = append(c.Addrs, ep.IP)
		if e.bogons.IsBogonString(ep.IP) {
			c.Bogons = append(c.Bogons, ep.IP)
		}
	}
	if len(c.Addrs) == 0 {
		c.DNSFailure = dnsFailure(obs.DNS)
		return c
	}
	hops, _ := e.fetch(ctx, u, c.Addrs, r.resolve)
	last := hops[len(hops)-1]
	c.URL, c.Status, c.BodySHA256, c.Title, c.Failure = last.URL, last.Status, last.BodySHA256, last.Title, last.Failure
	return c
}

// dnsFailure is why questions that gave no address failed: the first failure of a
// system resolver's question, else of any, else dns_no_answer (no resolver at all).
func dnsFailure(qs []measurement.DNSQuery) *string {
	var other *string
	for _, q := range qs {
		if q.Failure == nil {
			continue
		}
		if q.System {
			return q.Failure
		}
		if other == nil {
			other = q.Failure
		}
	}
	if other == nil {
		other = measurement.Failure(failure.DNSNoAnswer)
	}
	return other
}
