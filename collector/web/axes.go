package web

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// axes labels the columns in the reader's zone: a row of months (their first column is a
// month boundary) and a row of day numbers, each day under a day's cells, or one label
// per week (days 1, 8, 15, 22, 29) when day cells are too many to number each, or per
// half month (1, 15) beyond half a year of day cells.
func axes(cells []interval, step time.Duration, l *loc) (months, days []colHead) {
	long := len(cells) > 62
	for i, c := range cells {
		t := c.from.In(l.Zone)
		key := t.Format("2006-01")
		if n := len(months); n > 0 && months[n-1].Key == key {
			months[n-1].Span++
		} else {
			label := l.Month(t.Month()) + " " + t.Format("2006")
			if long { // short names; the year at the first month and at each January
				label = l.MonthShort(t.Month())
				if i == 0 || t.Month() == time.January {
					label += " " + t.Format("2006")
				}
			}
			months = append(months, colHead{Key: key, Label: label, Title: l.Month(t.Month()) + " " + t.Format("2006"), Span: 1, Start: i > 0})
		}
		dayKey := t.Format(time.DateOnly)
		newGroup := true
		if n := len(days); n > 0 {
			switch {
			case step < 24*time.Hour:
				newGroup = days[n-1].Key != dayKey
			case step == 24*time.Hour && len(cells) > 180:
				newGroup = t.Day() == 1 || t.Day() == 15 // half months: a week is a few pixels
			case step == 24*time.Hour && long:
				newGroup = slices.Contains([]int{1, 8, 15, 22, 29}, t.Day())
			}
		}
		if !newGroup {
			days[len(days)-1].Span++
			continue
		}
		days = append(days, colHead{Key: dayKey, Label: fmt.Sprint(t.Day()), Title: l.Date(c.from), Span: 1, Start: t.Day() == 1 && i > 0})
	}
	return months, days
}

// orderMarks are the orders naming the heatmap's domain, with the columns of their
// effective and due times, and a summary of the networks' compliance for the domain at
// the end of the range (or now, at the start of its minute: summaries.go).
func (h *dash) orderMarks(ctx context.Context, m *heatmap, cells []interval) []orderMark {
	var out []orderMark
	now := h.now()
	at := m.End
	if !at.Before(now) {
		at = now.Truncate(time.Minute)
	}
	for _, o := range h.data.Orders() {
		if !slices.Contains(o.Domains, m.Domain) {
			continue
		}
		om := orderMark{Order: o, Due: o.Effective.Add(o.Grace), EffCol: colOf(cells, o.Effective)}
		om.DueCol = colOf(cells, om.Due)
		if !at.Before(o.Effective) {
			rep, err := h.compliance(ctx, o.ID, at, now)
			if err != nil {
				h.log.Warn("dashboard: compliance for the heatmap failed", "order", o.ID, "err", err)
			} else {
				s := summarize(rep, m.Domain)
				om.Summary, om.At = &s, at
			}
		}
		if om.EffCol < 0 && om.DueCol < 0 && om.Summary == nil {
			continue
		}
		out = append(out, om)
	}
	for _, om := range out {
		for _, r := range m.Rows {
			if om.DueCol >= 0 {
				r.Cells[om.DueCol].Mark = "due"
			}
			if om.EffCol >= 0 {
				r.Cells[om.EffCol].Mark = "eff"
			}
		}
	}
	return out
}

// markRow is the header row above the cells marking each order's effective time (▼) and
// due time (▽); nil without orders in the range.
func markRow(m *heatmap, cells []interval, l *loc) []markCell {
	type mk struct{ class, label string }
	at := map[int][]mk{}
	for _, om := range m.Orders {
		if om.EffCol >= 0 {
			at[om.EffCol] = append(at[om.EffCol], mk{"eff", l.T("mark.effective", "ID", om.Order.ID, "Time", l.Order(om.Order).Time(om.Order.Effective))})
		}
		if om.DueCol >= 0 {
			at[om.DueCol] = append(at[om.DueCol], mk{"due", l.T("mark.due", "ID", om.Order.ID, "Time", l.Order(om.Order).Time(om.Due))})
		}
	}
	if len(at) == 0 {
		return nil
	}
	var out []markCell
	for i := range cells {
		ms, ok := at[i]
		if !ok {
			if n := len(out); n > 0 && out[n-1].Label == "" {
				out[n-1].Span++
			} else {
				out = append(out, markCell{Span: 1})
			}
			continue
		}
		var labels []string
		for _, x := range ms {
			labels = append(labels, x.label)
		}
		out = append(out, markCell{Span: 1, Class: ms[0].class, Label: strings.Join(labels, "; ")})
	}
	return out
}

// orderSummary counts the networks of an order by compliance.
type orderSummary struct {
	Networks, Complied, Pending, Unknown int
	Failed                               []string // the non-compliant networks
}

// statusRank orders compliance statuses worst first, for the order's detail.
var statusRank = map[orders.Status]int{orders.NonCompliant: 0, orders.Unknown: 1, orders.Pending: 2, orders.Compliant: 3}

// summarize counts rep's networks by their status, or by their status for one domain.
func summarize(rep orders.Report, domain string) orderSummary {
	var s orderSummary
	for _, n := range rep.Networks {
		st, ok := n.Status, domain == ""
		for _, d := range n.Domains {
			if d.Domain == domain {
				st, ok = d.Status, true
			}
		}
		if !ok {
			continue
		}
		s.Networks++
		switch st {
		case orders.Compliant:
			s.Complied++
		case orders.NonCompliant:
			s.Failed = append(s.Failed, n.Network)
		case orders.Pending:
			s.Pending++
		default:
			s.Unknown++
		}
	}
	return s
}

// Summary writes a summary line: "7 of 9 networks complied; 2 did not: A, B."
func (l *loc) Summary(s orderSummary) string {
	text := l.T("summary.complied", "C", l.Num(s.Complied), "N", l.Num(s.Networks))
	if len(s.Failed) > 0 {
		text = l.T("summary.failed", "C", l.Num(s.Complied), "N", l.Num(s.Networks), "X", l.Num(len(s.Failed)), "List", strings.Join(s.Failed, ", "))
	}
	if s.Pending > 0 {
		text += " " + l.T("summary.pending", "P", l.Num(s.Pending))
	}
	if s.Unknown > 0 {
		text += " " + l.T("summary.unknown", "U", l.Num(s.Unknown))
	}
	return text
}

// sortReport puts the worst networks first (non-compliant, unknown, pending, compliant),
// and within each network its worst domains first; ties keep their order.
func sortReport(rep *orders.Report) {
	nets := slices.Clone(rep.Networks)
	for i := range nets {
		nets[i].Domains = slices.Clone(nets[i].Domains)
		slices.SortStableFunc(nets[i].Domains, func(a, b orders.DomainReport) int { return statusRank[a.Status] - statusRank[b.Status] })
	}
	slices.SortStableFunc(nets, func(a, b orders.NetworkReport) int { return statusRank[a.Status] - statusRank[b.Status] })
	rep.Networks = nets
}

// CellLabel is a cell's text for title and aria-label: network, time range in the
// reader's zone, and the states with their durations, longest first, e.g.
// "Telkomsel 14 Jul 2017 00:00–24:00 UTC: blocked (dns) 1d".
func (l *loc) CellLabel(c Cell, network string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", network, l.rangeText(c.From, c.To))
	n := 0
	for _, p := range c.Parts {
		d := p.D.Round(time.Minute)
		if d == 0 {
			continue // slivers (measurement times carry sub-millisecond offsets)
		}
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		name := l.State(p.State)
		if p.State == string(timeline.Blocked) && c.Method != "" {
			name += " (" + c.Method + ")"
		}
		fmt.Fprintf(&b, "%s %s", name, l.Dur(d))
	}
	if n == 0 {
		b.WriteString(l.State(c.State))
	}
	return b.String()
}

// rangeText writes a time range in the reader's zone compactly: the end's date is left
// out when it is the same day (or the next midnight).
func (l *loc) rangeText(from, to time.Time) string {
	f, t := from.In(l.Zone), to.In(l.Zone)
	day := func(x time.Time) string { return fmt.Sprintf("%d %s %d", x.Day(), l.MonthShort(x.Month()), x.Year()) }
	end := day(t) + " " + l.clock(t)
	if y, m, d := f.Date(); to.Sub(from) <= 25*time.Hour {
		if ty, tm, td := t.Date(); ty == y && tm == m && td == d {
			end = l.clock(t)
		} else if t.Equal(time.Date(y, m, d+1, 0, 0, 0, 0, l.Zone)) {
			end = "24" + l.clock(t)[2:]
		}
	}
	return day(f) + " " + l.clock(f) + "–" + end + " " + zoneAbbr(f)
}
