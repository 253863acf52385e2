package timeline

import "time"

// methodRank orders blocking methods for ties: the chain DNS → TCP → TLS → HTTP, then any
// other name alphabetically.
func methodLess(a, b string) bool {
	rank := func(m string) int {
		switch m {
		case "dns":
			return 0
		case "tcp":
			return 1
		case "tls":
			return 2
		case "http":
			return 3
		}
		return 4
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	return a < b
}

type methodCount struct {
	method string
	n      int
}

// timeline computes one series' timeline: gaps, periods with their statistics, and the
// transitions between them.
func (s *scratch) timeline(sr *series, from, to time.Time, p Params, tl *Timeline) {
	tl.From, tl.To, tl.Current = from, to, Unknown
	tl.Measurements = len(sr.idx)
	s.gap.max, s.gap.gaps = p.MaxSilence, nil
	marks := s.confirm(sr, from, to, p)
	tl.Probes = len(s.probes)
	tl.Gaps = s.gap.gaps
	if tl.Gaps == nil {
		tl.Gaps = []Gap{}
	}
	tl.Periods = make([]Period, len(marks))
	tl.Transitions = make([]Transition, len(marks))
	if len(marks) == 0 {
		tl.Unconfirmed = len(sr.idx)
		return
	}
	tl.Unconfirmed = marks[0].start
	var methods []methodCount
	for k, m := range marks {
		end := len(sr.idx)
		until := to
		if k+1 < len(marks) {
			end = marks[k+1].start
			until = sr.obs[sr.idx[end]].At
		}
		s.runID++
		pd := Period{
			State:     codeState[m.state],
			Since:     sr.obs[sr.idx[m.start]].At,
			Confirmed: sr.obs[sr.idx[m.confirmed]].At,
			Until:     until,
		}
		methods = methods[:0]
		for _, i := range sr.idx[m.start:end] {
			o := &sr.obs[i]
			switch c := code(o.Status); {
			case c == m.state:
				pd.Measurements++
				pd.LastSeen = o.At
				if q := sr.pid[i]; s.stamp[q] != s.runID {
					s.stamp[q] = s.runID
					pd.Probes++
				}
				if c == cBlocked && o.Method != "" {
					methods = countMethod(methods, o.Method)
				}
			case c == cInconclusive:
				pd.Inconclusive++
			default:
				pd.Disagreeing++
			}
		}
		pd.FirstSeen = pd.Since
		pd.Method = topMethod(methods)
		tl.Periods[k] = pd
		from := Unknown
		if k > 0 {
			from = tl.Periods[k-1].State
		}
		tl.Transitions[k] = Transition{
			Domain: tl.Domain, Network: tl.Network, Probe: tl.Probe,
			From: from, To: pd.State, Method: pd.Method, At: pd.Since, Confirmed: pd.Confirmed,
		}
	}
	tl.Current = tl.Periods[len(tl.Periods)-1].State
}

func countMethod(ms []methodCount, m string) []methodCount {
	for k := range ms {
		if ms[k].method == m {
			ms[k].n++
			return ms
		}
	}
	return append(ms, methodCount{m, 1})
}

// topMethod is the most common method; ties go to the earliest step of the chain.
func topMethod(ms []methodCount) string {
	best := methodCount{}
	for _, m := range ms {
		if m.n > best.n || (m.n == best.n && methodLess(m.method, best.method)) {
			best = m
		}
	}
	return best.method
}
