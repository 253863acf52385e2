package engine

import (
	"context"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// dnsStep asks every resolver (system and configured) for A and AAAA at once. The
// addresses of the first replies become endpoints as soon as they are in; late UDP
// replies keep arriving in the background and are folded in by finishDNS.
func (e *Engine) dnsStep(ctx context.Context, r *run) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeouts.DNS)
	// cancel only after the late-reply windows closed: finishDNS waits on them.
	r.cleanup = append(r.cleanup, cancel)
	resolvers := e.resolvers()
	r.pending = make([]*dnsquery.Result, 0, 2*len(resolvers))
	for _, res := range resolvers {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			r.pending = append(r.pending, e.dns.Exchange(ctx, res, r.t.Domain, qt))
		}
	}
	firsts := make([]measurement.DNSQuery, len(r.pending))
	for i, p := range r.pending {
		firsts[i] = p.First()
	}
	// The system resolvers are what the user gets: their addresses come first. Without
	// any system resolver, the configured ones stand in.
	anySystem := false
	for _, q := range firsts {
		anySystem = anySystem || q.System
	}
	for _, q := range firsts {
		if q.System || !anySystem {
			for _, a := range q.Addrs() {
				r.addEndpoint(a, measurement.OriginProbe)
			}
		}
	}
	r.obs.DNS = firsts
}

// finishDNS waits for the late-reply windows, stores the full DNS records and matches
// DNS fingerprints against every reply.
func (e *Engine) finishDNS(r *run) {
	for i, p := range r.pending {
		r.obs.DNS[i] = p.Wait()
		r.fps = append(r.fps, e.cfg.Fingerprints.MatchDNS(r.obs.DNS[i])...)
	}
}

// resolvers returns the system resolvers followed by the configured ones.
func (e *Engine) resolvers() []dnsquery.Resolver {
	out := make([]dnsquery.Resolver, 0, len(e.cfg.SystemResolvers)+len(e.cfg.Resolvers))
	out = append(out, e.cfg.SystemResolvers...)
	return append(out, e.cfg.Resolvers...)
}

// resolve looks host up (A, then AAAA) on the first system resolver, or the first
// configured one; HTTP redirects to other hosts use it.
func (e *Engine) resolve(ctx context.Context, host string) ([]string, error) {
	rs := e.resolvers()
	if len(rs) == 0 {
		return nil, failure.New(failure.DNSNoAnswer, nil)
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeouts.DNS)
	defer cancel()
	var addrs []string
	var last string
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		q := e.dns.Exchange(ctx, rs[0], host, qt).First()
		addrs = append(addrs, q.Addrs()...)
		if q.Failure != nil {
			last = *q.Failure
		}
	}
	if len(addrs) == 0 {
		if last == "" {
			last = failure.DNSNoAnswer
		}
		return nil, failure.New(last, nil)
	}
	return addrs, nil
}

// whoami caches each resolver's egress identity; a long-running probe refreshes it.
type whoami struct {
	mu      sync.Mutex
	infos   []measurement.ResolverInfo
	fetched time.Time
}

const whoamiTTL = 10 * time.Minute

// resolverInfos returns the egress identity of every resolver, looking it up at most once
// per whoamiTTL.
func (e *Engine) resolverInfos(ctx context.Context) []measurement.ResolverInfo {
	w := &e.whoami
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.infos != nil && time.Since(w.fetched) < whoamiTTL {
		return w.infos
	}
	rs := e.resolvers()
	infos := make([]measurement.ResolverInfo, len(rs))
	if e.cfg.WhoamiName == "" {
		for i, res := range rs {
			infos[i] = measurement.ResolverInfo{Resolver: res.Address, Transport: res.Transport, System: res.System, Egress: []string{}}
		}
	} else {
		ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeouts.DNS)
		defer cancel()
		var wg sync.WaitGroup
		for i, res := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				infos[i] = e.dns.Whoami(ctx, res, e.cfg.WhoamiName)
			}()
		}
		wg.Wait()
	}
	w.infos, w.fetched = infos, time.Now()
	return infos
}
