package timeline

import (
	"math"
	"time"
)

// Internal state codes: the decisive states first, then inconclusive (which also takes any
// status the confirmation does not know, so that nothing is dropped).
const (
	cAccessible = iota
	cBlocked
	cDown
	cInconclusive
	cNone = -1
)

const noTime = math.MinInt64

var codeState = [...]State{Accessible, Blocked, Down, Inconclusive}

func code(s State) int {
	switch s {
	case Accessible:
		return cAccessible
	case Blocked:
		return cBlocked
	case Down:
		return cDown
	}
	return cInconclusive
}

// series is one timeline's input: its rows in time order, the caller's observations they
// point to (in one or more slices), the method names, and beatsOf, which gives the
// heartbeat times (each sorted) that count for the series, given its probes.
type series struct {
	chunks  [][]Obs
	rows    []row
	methods []string
	beatsOf func(probes []int32) [][]time.Time
}

func (sr *series) at(pos int) time.Time {
	r := &sr.rows[pos]
	return sr.chunks[r.chunk][r.orig].At
}

// scratch is reused across series: per-probe slices indexed by timeline-wide probe number.
type scratch struct {
	vote    []int   // the probe's latest decisive state, cNone if none
	voteAt  []int64 // and when (Unix nanoseconds)
	lastAny []int64 // the probe's latest measurement of any kind; noTime if none
	streak  []int   // position of the first measurement of the probe's current streak
	streakN []int   // measurements in it
	stamp   []int32 // == runID when the probe is already counted in a run
	runID   int32
	probes  []int32 // the probes of the current series
	gap     gapper
}

func newScratch(probes int) *scratch {
	return &scratch{
		vote:    make([]int, probes),
		voteAt:  make([]int64, probes),
		lastAny: make([]int64, probes),
		streak:  make([]int, probes),
		streakN: make([]int, probes),
		stamp:   make([]int32, probes),
	}
}

// mark is a confirmed period before its statistics: its state, the positions of its first
// measurement and of the measurement that confirmed it.
type mark struct{ state, start, confirmed int }

// confirm walks the series once, records its gaps and returns the confirmed periods.
// The rules are in docs/timeline.md; in short, each probe votes with its latest decisive
// measurement (for MaxSilence), and a state S other than the current one is confirmed when
//   - S has strictly more active votes than any other state (plurality),
//   - at least min(M, active probes) probes vote S (quorum),
//   - the probes that switched to S since the current state was confirmed (their streak of
//     consecutive S measurements began after it) have made at least K S measurements.
//
// The new period starts at the earliest such streak. Inconclusive measurements neither
// vote nor break a streak; they are confirmed as a state only while nothing decisive is.
func (s *scratch) confirm(sr *series, from, to time.Time, p Params) []mark {
	s.probes = s.probes[:0]
	for k := range sr.rows {
		q := sr.rows[k].pid
		if s.stamp[q] != -1 {
			s.stamp[q] = -1
			s.probes = append(s.probes, q)
		}
	}
	for _, q := range s.probes {
		s.stamp[q] = 0
		s.vote[q], s.lastAny[q] = cNone, noTime
	}
	s.gap.beats = sr.beatsOf(s.probes)
	var marks []mark
	cur, curPos := cNone, -1 // the confirmed state and the position that confirmed it
	inc := struct{ start, n, distinct int }{start: -1}
	maxS := int64(p.MaxSilence)
	prev, prevPos := int64(0), -1
	for pos := range sr.rows {
		r := &sr.rows[pos]
		q := r.pid
		if prevPos < 0 && sr.at(pos).Sub(from) > p.MaxSilence {
			s.gap.silence(from, sr.at(pos))
		} else if prevPos >= 0 && r.at-prev > maxS {
			s.gap.silence(sr.at(prevPos), sr.at(pos)) // every vote has expired: streaks restart below
			inc.start = -1
		}
		prev, prevPos = r.at, pos
		c := int(r.code)
		if c == cInconclusive {
			s.lastAny[q] = r.at
			if cur != cNone {
				continue // neither confirms nor breaks anything once a state is confirmed
			}
			if inc.start < 0 {
				s.runID++
				inc.start, inc.n, inc.distinct = pos, 0, 0
			}
			inc.n++
			if s.stamp[q] != s.runID {
				s.stamp[q] = s.runID
				inc.distinct++
			}
			if inc.n >= p.K && inc.distinct >= s.quorum(p, r.at, s.lastAny) {
				marks = append(marks, mark{cInconclusive, inc.start, pos})
				cur, curPos = cInconclusive, pos
				for _, q := range s.probes {
					s.vote[q] = cNone // earlier decisive votes are superseded
				}
			}
			continue
		}
		inc.start = -1 // a decisive measurement breaks an inconclusive run
		if s.vote[q] != c || r.at-s.voteAt[q] > maxS {
			s.streak[q], s.streakN[q] = pos, 0
		}
		s.vote[q], s.voteAt[q], s.lastAny[q] = c, r.at, r.at
		s.streakN[q]++
		if c == cur {
			continue
		}
		if since, ok := s.decide(p, c, curPos, r.at); ok {
			marks = append(marks, mark{c, since, pos})
			cur, curPos = c, pos
		}
	}
	a := from
	if prevPos >= 0 {
		a = sr.at(prevPos)
	}
	if to.Sub(a) > p.MaxSilence {
		s.gap.silence(a, to)
	}
	return marks
}

// decide applies the plurality, quorum and K rules for state c at time at, and returns
// the position where the new period starts.
func (s *scratch) decide(p Params, c, curPos int, at int64) (int, bool) {
	maxS := int64(p.MaxSilence)
	var votes [cInconclusive]int
	active := 0
	for _, q := range s.probes {
		if v := s.vote[q]; v != cNone && at-s.voteAt[q] <= maxS {
			votes[v]++
			active++
		}
	}
	for v, n := range votes {
		if v != c && n >= votes[c] {
			return 0, false
		}
	}
	if votes[c] < min(p.M, active) {
		return 0, false
	}
	n, since := 0, -1
	for _, q := range s.probes {
		if s.vote[q] != c || at-s.voteAt[q] > maxS || s.streak[q] <= curPos {
			continue // not voting c, or holding c since before the current state (a dissenter)
		}
		n += s.streakN[q]
		if since < 0 || s.streak[q] < since {
			since = s.streak[q]
		}
	}
	return since, n >= p.K
}

// quorum is M capped at the number of the series' probes whose latest measurement (of the
// kind in last) lies within MaxSilence before at: the probes that are taking part.
func (s *scratch) quorum(p Params, at int64, last []int64) int {
	if p.M <= 1 {
		return 1
	}
	n := 0
	for _, q := range s.probes {
		if t := last[q]; t != noTime && at-t <= int64(p.MaxSilence) {
			n++
			if n >= p.M {
				return p.M
			}
		}
	}
	return max(n, 1)
}
