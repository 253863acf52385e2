package timeline

import "time"

// methodLess orders blocking methods for ties: the chain DNS → TCP → TLS → HTTP, then any
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

// timeline computes one series' timeline: gaps, periods with their statistics, and the
// transitions between them.
func (s *scratch) timeline(sr *series, from, to time.Time, p Params, tl *Timeline) {
	tl.From, tl.To, tl.Current = from, to, Unknown
	tl.Measurements = len(sr.rows)
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
		tl.Unconfirmed = len(sr.rows)
		return
	}
	tl.Unconfirmed = marks[0].start
	methods := make([]int, len(sr.methods))
	for k, m := range marks {
		end := len(sr.rows)
		until := to
		if k+1 < len(marks) {
			end = marks[k+1].start
			until = sr.at(end)
		}
		s.runID++
		pd := Period{
			State:     codeState[m.state],
			Since:     sr.at(m.start),
			Confirmed: sr.at(m.confirmed),
			Until:     until,
		}
		clear(methods)
		last := m.start
		for pos := m.start; pos < end; pos++ {
			r := &sr.rows[pos]
			switch c := int(r.code); {
			case c == m.state:
				pd.Measurements++
				last = pos
				if s.stamp[r.pid] != s.runID {
					s.stamp[r.pid] = s.runID
					pd.Probes++
				}
				if r.method >= 0 {
					methods[r.method]++
				}
			case c == cInconclusive:
				pd.Inconclusive++
			default:
				pd.Disagreeing++
			}
		}
		pd.LastSeen = sr.at(last)
		pd.Method = topMethod(sr.methods, methods)
		pd.FirstSeen = pd.Since
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

// topMethod is the most common method; ties go to the earliest step of the chain.
func topMethod(names []string, counts []int) string {
	best, n := "", 0
	for k, c := range counts {
		if c > n || (c == n && c > 0 && methodLess(names[k], best)) {
			best, n = names[k], c
		}
	}
	return best
}
