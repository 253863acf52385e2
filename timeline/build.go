package timeline

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Build computes the timeline of one (domain, network) pair over the window [from, to).
// obs and beats may hold other pairs and probes (ignored) and come in any order. Params
// are taken WithDefaults; call Validate on configured values first.
func Build(domain, network string, obs []Obs, beats []Beat, from, to time.Time, p Params) Timeline {
	g := groupObs(obs, from, to, false, func(o *Obs) bool { return o.Domain == domain && o.Network == network })
	if len(g.keys) == 0 {
		g.keys = []groupKey{{domain: domain, network: network}}
		g.idx = [][]int32{nil}
	}
	return g.timelines(beats, from, to, p)[0]
}

// BuildAll computes one timeline per (domain, network) pair present in obs within
// [from, to), sorted by domain then network.
func BuildAll(obs []Obs, beats []Beat, from, to time.Time, p Params) []Timeline {
	return groupObs(obs, from, to, false, nil).timelines(beats, from, to, p)
}

// BuildProbes computes one timeline per (domain, network, probe) present in obs within
// [from, to), sorted by domain, network then probe; M is 1 (a probe agrees with itself).
func BuildProbes(obs []Obs, beats []Beat, from, to time.Time, p Params) []Timeline {
	p = p.WithDefaults()
	p.M = 1
	return groupObs(obs, from, to, true, nil).timelines(beats, from, to, p)
}

type groupKey struct{ domain, network, probe string }

// groups are the observations split into series: idx[k] lists the positions in obs of
// series keys[k] in time order; pid numbers the probes.
type groups struct {
	obs      []Obs
	perProbe bool
	keys     []groupKey
	idx      [][]int32
	pid      []int32
	probes   []string // by number
}

// groupObs splits obs into series with two passes over the input and one sort per series
// (skipped when the input is already in time order, as the store returns it).
func groupObs(obs []Obs, from, to time.Time, perProbe bool, keep func(*Obs) bool) *groups {
	g := &groups{obs: obs, perProbe: perProbe, pid: make([]int32, len(obs))}
	gid := make([]int32, len(obs))
	byKey := map[groupKey]int32{}
	byProbe := map[string]int32{}
	var counts []int32
	lastProbe, lastPID := "", int32(-1)
	for i := range obs {
		o := &obs[i]
		if o.At.Before(from) || !o.At.Before(to) || (keep != nil && !keep(o)) {
			gid[i] = -1
			continue
		}
		if lastPID < 0 || o.Probe != lastProbe {
			q, ok := byProbe[o.Probe]
			if !ok {
				q = int32(len(g.probes))
				byProbe[o.Probe] = q
				g.probes = append(g.probes, o.Probe)
			}
			lastProbe, lastPID = o.Probe, q
		}
		g.pid[i] = lastPID
		k := groupKey{domain: o.Domain, network: o.Network}
		if perProbe {
			k.probe = o.Probe
		}
		n, ok := byKey[k]
		if !ok {
			n = int32(len(g.keys))
			byKey[k] = n
			g.keys = append(g.keys, k)
			counts = append(counts, 0)
		}
		gid[i] = n
		counts[n]++
	}
	// one backing array, cut per series
	all := make([]int32, 0, len(obs))
	g.idx = make([][]int32, len(g.keys))
	for k, c := range counts {
		g.idx[k] = all[len(all) : len(all) : len(all)+int(c)]
		all = all[:len(all)+int(c)]
	}
	for i, n := range gid {
		if n >= 0 {
			g.idx[n] = append(g.idx[n], int32(i))
		}
	}
	byTime := func(a, b int32) int {
		x, y := &obs[a], &obs[b]
		if c := x.At.Compare(y.At); c != 0 {
			return c
		}
		if c := strings.Compare(x.ID, y.ID); c != 0 {
			return c
		}
		return strings.Compare(x.Probe, y.Probe)
	}
	for _, ix := range g.idx {
		if !slices.IsSortedFunc(ix, byTime) {
			slices.SortStableFunc(ix, byTime)
		}
	}
	order := make([]int, len(g.keys))
	for k := range order {
		order[k] = k
	}
	slices.SortFunc(order, func(a, b int) int {
		x, y := g.keys[a], g.keys[b]
		return cmp.Or(cmp.Compare(x.domain, y.domain), cmp.Compare(x.network, y.network), cmp.Compare(x.probe, y.probe))
	})
	keys, idx := make([]groupKey, len(order)), make([][]int32, len(order))
	for k, o := range order {
		keys[k], idx[k] = g.keys[o], g.idx[o]
	}
	g.keys, g.idx = keys, idx
	return g
}

// timelines computes the timeline of every series.
func (g *groups) timelines(beats []Beat, from, to time.Time, p Params) []Timeline {
	p = p.WithDefaults()
	if g.perProbe {
		p.M = 1
	}
	// heartbeat times per (network, probe), sorted
	type np struct{ network, probe string }
	byNP := map[np][]time.Time{}
	for _, b := range beats {
		k := np{b.Network, b.Probe}
		byNP[k] = append(byNP[k], b.At)
	}
	for _, ts := range byNP {
		if !slices.IsSortedFunc(ts, time.Time.Compare) {
			slices.SortFunc(ts, time.Time.Compare)
		}
	}
	s := newScratch(len(g.probes))
	out := make([]Timeline, len(g.keys))
	var seriesBeats [][]time.Time
	for k, key := range g.keys {
		tl := &out[k]
		tl.Domain, tl.Network, tl.Probe = key.domain, key.network, key.probe
		// whose heartbeats count: the probes that measured the series, or every probe
		// of the network for a pair nobody measured
		beatsOf := func(probes []int32) [][]time.Time {
			seriesBeats = seriesBeats[:0]
			if len(probes) == 0 && !g.perProbe {
				for b, ts := range byNP {
					if b.network == key.network {
						seriesBeats = append(seriesBeats, ts)
					}
				}
			}
			for _, q := range probes {
				seriesBeats = append(seriesBeats, byNP[np{key.network, g.probes[q]}])
			}
			return seriesBeats
		}
		sr := series{obs: g.obs, pid: g.pid, idx: g.idx[k], beatsOf: beatsOf}
		s.timeline(&sr, from, to, p, tl)
	}
	return out
}
