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
	g := groupObs([][]Obs{obs}, from, to, false, func(o *Obs) bool { return o.Domain == domain && o.Network == network })
	if len(g.keys) == 0 {
		g.keys, g.off = []groupKey{{domain: domain, network: network}}, []int{0, 0}
	}
	return g.timelines([][]Beat{beats}, from, to, p)[0]
}

// BuildAll computes one timeline per (domain, network) pair present in obs within
// [from, to), sorted by domain then network.
func BuildAll(obs []Obs, beats []Beat, from, to time.Time, p Params) []Timeline {
	return groupObs([][]Obs{obs}, from, to, false, nil).timelines([][]Beat{beats}, from, to, p)
}

// BuildChunks is BuildAll on observations and heartbeats held in several slices (as a
// cache keeps them, by domain and day), read in place rather than merged into one copy,
// keeping only the observations keep accepts (nil: all). The result is BuildAll's on the
// concatenation of the accepted observations and of the heartbeats.
func BuildChunks(obs [][]Obs, keep func(*Obs) bool, beats [][]Beat, from, to time.Time, p Params) []Timeline {
	return groupObs(obs, from, to, false, keep).timelines(beats, from, to, p)
}

// BuildProbes computes one timeline per (domain, network, probe) present in obs within
// [from, to), sorted by domain, network then probe; M is 1 (a probe agrees with itself).
func BuildProbes(obs []Obs, beats []Beat, from, to time.Time, p Params) []Timeline {
	p = p.WithDefaults()
	p.M = 1
	return groupObs([][]Obs{obs}, from, to, true, nil).timelines([][]Beat{beats}, from, to, p)
}

type groupKey struct{ domain, network, probe string }

// row is one observation as the confirmation reads it: compact, so that a series is walked
// through contiguous memory rather than across the caller's whole slice.
type row struct {
	at     int64 // At in Unix nanoseconds
	chunk  int32 // the caller's slice (of several; 0 for one) holding the observation
	orig   int32 // index in that slice (for the exact times and IDs)
	pid    int32 // probe number
	code   int8  // cAccessible..cInconclusive
	method int8  // index in groups.methods; -1 for none
}

// groups are the observations split into series: rows[off[k]:off[k+1]] is series keys[k]
// in time order (then ID, then probe).
type groups struct {
	chunks   [][]Obs
	perProbe bool
	keys     []groupKey
	rows     []row
	off      []int
	probes   []string // by number
	methods  []string // by number
}

// groupObs splits the observations of chunks (read as one concatenation) into series with
// two passes over the input and one sort per series (skipped when the input is already in
// time order, as the store returns it).
func groupObs(chunks [][]Obs, from, to time.Time, perProbe bool, keep func(*Obs) bool) *groups {
	g := &groups{chunks: chunks, perProbe: perProbe}
	gid, pid, counts := g.assign(from, to, keep)
	next := g.layOut(counts)
	g.place(gid, pid, next)
	g.sortSeries()
	return g
}

// assign is the first pass: it numbers the series (g.keys) and probes (g.probes) in order
// of first appearance and returns, by position in the concatenation, each observation's
// series (gid; -1 for one outside [from, to) or refused by keep) and probe (pid), and the
// observations per series (counts).
func (g *groups) assign(from, to time.Time, keep func(*Obs) bool) (gid, pid []int32, counts []int) {
	total := 0
	for _, c := range g.chunks {
		total += len(c)
	}
	gid = make([]int32, total)
	pid = make([]int32, total)
	byKey := map[groupKey]int32{}
	byProbe := map[string]int32{}
	lastProbe, lastPID := "", int32(-1)
	type probeKey struct {
		domain, network string
		n               int32
	}
	var lastKey []probeKey // by probe number: the series of its latest observation
	i := -1
	for _, obs := range g.chunks {
		for j := range obs {
			i++
			o := &obs[j]
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
					lastKey = append(lastKey, probeKey{n: -1})
				}
				lastProbe, lastPID = o.Probe, q
			}
			pid[i] = lastPID
			// A probe measures one network, so its last series is usually the one: the
			// check spares most lookups of the three-string key.
			lk := &lastKey[lastPID]
			n := lk.n
			if n < 0 || o.Domain != lk.domain || o.Network != lk.network {
				k := groupKey{domain: o.Domain, network: o.Network}
				if g.perProbe {
					k.probe = o.Probe
				}
				var ok bool
				if n, ok = byKey[k]; !ok {
					n = int32(len(g.keys))
					byKey[k] = n
					g.keys = append(g.keys, k)
					counts = append(counts, 0)
				}
				*lk = probeKey{o.Domain, o.Network, n}
			}
			gid[i] = n
			counts[n]++
		}
	}
	return gid, pid, counts
}

// layOut sorts g.keys (by domain, network, probe) and gives each series a contiguous
// stretch of rows, g.rows[g.off[k]:g.off[k+1]]; it returns, by the series numbers of
// assign, where each series' first row goes.
func (g *groups) layOut(counts []int) (next []int) {
	order := make([]int, len(g.keys))
	for k := range order {
		order[k] = k
	}
	slices.SortFunc(order, func(a, b int) int {
		x, y := g.keys[a], g.keys[b]
		return cmp.Or(cmp.Compare(x.domain, y.domain), cmp.Compare(x.network, y.network), cmp.Compare(x.probe, y.probe))
	})
	next = make([]int, len(g.keys))
	keys := make([]groupKey, len(order))
	g.off = make([]int, len(order)+1)
	for k, o := range order {
		keys[k] = g.keys[o]
		next[o] = g.off[k]
		g.off[k+1] = g.off[k] + counts[o]
	}
	g.keys = keys
	g.rows = make([]row, g.off[len(order)])
	return next
}

// place is the second pass: it writes each kept observation's row into its series'
// stretch, in input order.
func (g *groups) place(gid, pid []int32, next []int) {
	i := -1
	for c, obs := range g.chunks {
		for j := range obs {
			i++
			n := gid[i]
			if n < 0 {
				continue
			}
			o := &obs[j]
			r := row{at: o.At.UnixNano(), chunk: int32(c), orig: int32(j), pid: pid[i], code: int8(code(o.Status)), method: -1}
			if r.code == cBlocked && o.Method != "" {
				r.method = g.method(o.Method)
			}
			g.rows[next[n]] = r
			next[n]++
		}
	}
}

// sortSeries puts each series in time order (then ID, probe and input position), unless
// it already is.
func (g *groups) sortSeries() {
	byTime := func(a, b row) int {
		if a.at != b.at {
			return cmp.Compare(a.at, b.at)
		}
		x, y := g.obs(a), g.obs(b)
		return cmp.Or(strings.Compare(x.ID, y.ID), strings.Compare(x.Probe, y.Probe), cmp.Compare(a.chunk, b.chunk), cmp.Compare(a.orig, b.orig))
	}
	for k := range g.keys {
		rs := g.rows[g.off[k]:g.off[k+1]]
		if !slices.IsSortedFunc(rs, byTime) {
			slices.SortFunc(rs, byTime)
		}
	}
}

// obs returns the observation of r.
func (g *groups) obs(r row) *Obs { return &g.chunks[r.chunk][r.orig] }

func (g *groups) method(m string) int8 {
	for k, x := range g.methods {
		if x == m {
			return int8(k)
		}
	}
	if len(g.methods) == 127 { // more distinct methods than any verdict has: keep the name out
		return -1
	}
	g.methods = append(g.methods, m)
	return int8(len(g.methods) - 1)
}

// timelines computes the timeline of every series.
func (g *groups) timelines(chunks [][]Beat, from, to time.Time, p Params) []Timeline {
	p = p.WithDefaults()
	if g.perProbe {
		p.M = 1
	}
	// heartbeat times per (network, probe), sorted
	type np struct{ network, probe string }
	byNP := map[np][]time.Time{}
	nets := map[string]bool{}
	for _, k := range g.keys {
		nets[k.network] = true
	}
	var last np
	var lastTS []time.Time
	lastNet, lastIn := "", false
	for _, beats := range chunks {
		for _, b := range beats {
			if b.Network != lastNet || lastTS == nil {
				lastNet, lastIn = b.Network, nets[b.Network]
			}
			if !lastIn {
				continue // a network without a series here
			}
			k := np{b.Network, b.Probe}
			if k != last || lastTS == nil {
				if lastTS != nil {
					byNP[last] = lastTS
				}
				last, lastTS = k, byNP[k]
			}
			lastTS = append(lastTS, b.At)
		}
	}
	if lastTS != nil {
		byNP[last] = lastTS
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
		sr := series{chunks: g.chunks, rows: g.rows[g.off[k]:g.off[k+1]], methods: g.methods, beatsOf: beatsOf}
		s.timeline(&sr, from, to, p, tl)
	}
	return out
}
