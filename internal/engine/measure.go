package engine

import (
	"context"
	"crypto/tls"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/verdict"
)

// Controller asks an uncensored vantage point to measure the same target; the probe's
// control client implements it. It returns nil only when there is no control at all.
type Controller interface {
	Control(ctx context.Context, t target.Target, addrs []string) *measurement.Control
}

// Measure measures t and returns the measurement, failed or not, with its verdict. ctrl
// may be nil (no control: verdicts are inconclusive unless certain). The whole target is
// bounded by the target timeout.
func (e *Engine) Measure(ctx context.Context, t target.Target, ctrl Controller) *measurement.Measurement {
	return e.start(ctx, t, ctrl).finish(nil)
}

// pending is a measurement whose network work is done but whose late-reply windows
// (UDP sockets kept open to catch injected replies) may still be open.
type pending struct {
	e      *Engine
	m      *measurement.Measurement
	r      *run
	start  time.Time
	cancel context.CancelFunc
}

// start does a target's network work: DNS, the control request, TCP, TLS and HTTP.
func (e *Engine) start(ctx context.Context, t target.Target, ctrl Controller) *pending {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeouts.Target)
	start := time.Now()
	m := &measurement.Measurement{
		ID:            measurement.NewID(),
		SchemaVersion: measurement.SchemaVersion,
		Target:        t.String(),
		Input:         t.Input(),
		Kind:          t.Kind,
		Domain:        t.Domain,
		Port:          t.Port,
		StartedAt:     start.UTC().Truncate(time.Millisecond),
		Software:      e.cfg.Software,
		Resolvers:     e.resolverInfos(ctx),
	}
	r := e.newRun(t, &m.Observations)
	e.discover(ctx, r)

	// The control measures while the probe connects; its addresses are tried afterwards.
	var ctrlDone chan struct{}
	if ctrl != nil {
		ctrlDone = make(chan struct{})
		addrs := r.endpointIPs()
		go func() {
			defer close(ctrlDone)
			m.Control = ctrl.Control(ctx, t, addrs)
		}()
	}
	e.connectAll(ctx, r)
	if t.Kind == measurement.KindWeb {
		e.httpStep(ctx, r)
	}
	if ctrlDone != nil {
		<-ctrlDone
		if m.Control != nil && m.Control.Failure == nil {
			for _, q := range m.Control.DNS {
				for _, a := range q.Addrs() {
					r.addEndpoint(a, measurement.OriginControl)
				}
			}
			e.connectAll(ctx, r)
		}
	}
	return &pending{e: e, m: m, r: r, start: start, cancel: cancel}
}

// afterWindows calls f once every late-reply window of the target has closed, in the
// goroutine of the question that closed last, so a waiting target costs its open sockets
// and no goroutine of its own; without windows, f runs in a new goroutine.
func (p *pending) afterWindows(f func()) {
	if len(p.r.pending) == 0 {
		go f()
		return
	}
	var left atomic.Int32
	left.Store(int32(len(p.r.pending)))
	for _, q := range p.r.pending {
		q.AfterWait(func() {
			if left.Add(-1) == 0 {
				f()
			}
		})
	}
}

// finish waits for the late-reply windows and the run's canary (cr; nil: none), then
// derives the verdict, which may rest on the canary.
func (p *pending) finish(cr *canaryRun) *measurement.Measurement {
	defer p.cancel()
	defer p.r.done()
	m := p.m
	if p.r.pending != nil {
		p.e.finishDNS(p.r)
	}
	m.Fingerprints = p.r.fps
	if lookup := p.e.cfg.ASN; lookup != nil {
		annotateASN(m.DNS, lookup)
		if m.Control != nil {
			annotateASN(m.Control.DNS, lookup)
		}
	}
	m.Canary = cr.wait()
	m.Normalise()
	m.Verdict = verdict.Of(m)
	m.RuntimeMS = measurement.Ms(time.Since(p.start))
	return m
}

// Observe measures t from this vantage point for a probe: DNS through this engine's
// resolvers, then TCP (and TLS, HTTP) to the resolved addresses and to the probe's addrs.
// It is the control helper's work; no control and no verdict are involved.
func (e *Engine) Observe(ctx context.Context, t target.Target, addrs []string) measurement.Observations {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeouts.Target)
	defer cancel()
	var obs measurement.Observations
	r := e.newRun(t, &obs)
	defer r.done()
	e.discover(ctx, r)
	for _, a := range addrs {
		r.addEndpoint(a, measurement.OriginProbe)
	}
	e.connectAll(ctx, r)
	if t.Kind == measurement.KindWeb {
		e.httpStep(ctx, r)
	}
	if r.pending != nil {
		e.finishDNS(r)
	}
	obs.Normalise()
	return obs
}

// Run measures targets with at most concurrency doing network work at once, and hands
// each measurement to emit, one call at a time, in completion order. A worker that has
// done a target's network work hands the late-reply wait off and takes the next target,
// so the wait costs an open socket, not a slot; at most 4×concurrency measurements wait
// like this. It returns when all are done or ctx is cancelled (measurements cut short
// are still emitted, with their failures). The run's canary (Config.Canary) is measured
// alongside the first targets and recorded in every measurement before its verdict.
func (e *Engine) Run(ctx context.Context, targets []target.Target, concurrency int, ctrl Controller, emit func(*measurement.Measurement)) {
	if concurrency < 1 {
		concurrency = 1
	}
	var cr *canaryRun
	if len(targets) > 0 {
		cr = e.startCanary(ctx)
	}
	work := make(chan target.Target)
	waiting := make(chan struct{}, 4*concurrency)
	var emitMu sync.Mutex
	var workers, finishers sync.WaitGroup
	for range min(concurrency, len(targets)) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for t := range work {
				p := e.start(ctx, t, ctrl)
				waiting <- struct{}{}
				finishers.Add(1)
				p.afterWindows(func() {
					defer finishers.Done()
					m := p.finish(cr)
					<-waiting
					emitMu.Lock()
					emit(m)
					emitMu.Unlock()
				})
			}
		}()
	}
	for _, t := range targets {
		work <- t
	}
	close(work)
	workers.Wait()
	finishers.Wait()
}

func (e *Engine) newRun(t target.Target, obs *measurement.Observations) *run {
	r := &run{t: t, obs: obs, resolve: e.resolve}
	if t.Kind == measurement.KindWeb && t.URL.Scheme == "https" {
		r.spares = map[string]*tls.Conn{} // the TLS step keeps connections for the HTTP step
	}
	return r
}

// discover finds the addresses to connect to: the target itself when it is an IP
// literal, else the DNS step's answers.
func (e *Engine) discover(ctx context.Context, r *run) {
	if r.t.IsIP() {
		r.addEndpoint(r.t.Domain, measurement.OriginTarget)
		return
	}
	e.dnsStep(ctx, r)
}

// connectAll runs the connect steps for endpoints not yet handled.
func (e *Engine) connectAll(ctx context.Context, r *run) {
	steps := []step{e.tcpStep}
	if r.t.URL.Scheme == "https" {
		steps = append(steps, e.tlsStep)
	}
	for _, s := range steps {
		s(ctx, r)
	}
}

// annotateASN sets the ASN of every address answer (first replies and late ones).
func annotateASN(qs []measurement.DNSQuery, lookup func(netip.Addr) uint32) {
	set := func(as []measurement.DNSAnswer) {
		for i := range as {
			if a, err := netip.ParseAddr(as[i].Data); err == nil && (as[i].Type == "A" || as[i].Type == "AAAA") {
				as[i].ASN = lookup(a)
			}
		}
	}
	for i := range qs {
		set(qs[i].Answers)
		for j := range qs[i].LateReplies {
			set(qs[i].LateReplies[j].Answers)
		}
	}
}

// endpointIPs lists the endpoints' addresses.
func (r *run) endpointIPs() []string {
	out := make([]string, len(r.endpoints))
	for i, ep := range r.endpoints {
		out[i] = ep.IP
	}
	return out
}

// done releases what outlived its step.
func (r *run) done() {
	r.dropTCP()
	r.dropSpares()
	for _, f := range r.cleanup {
		f()
	}
}
