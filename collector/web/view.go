package web

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// badParam is a bad query parameter: failErr answers it with 400.
type badParam string

func (e badParam) Error() string        { return string(e) }
func (e badParam) Is(target error) bool { return target == store.ErrBadFilter }

// stepNames are the heatmap's steps, finest first: a range with too many cells for the
// step asked for gets the first coarser one that fits.
var stepNames = []string{"1h", "6h", "1d", "7d"}

// heatmap is one heatmap as every view of it shows it: the page, the embed, and the
// CSV, JSON and PNG downloads.
type heatmap struct {
	Domain string
	Step   string
	// Asked is the step the reader asked for, when the range needed a coarser one.
	Asked      string
	step       time.Duration
	Start, End time.Time
	Months     []colHead // one per month (or part of one) in the range
	Days       []colHead // day numbers: each day, or every week on long ranges
	Marks      []markCell
	Rows       []Row
	Orders     []orderMark
	// Wide: too many columns for a phone's width; the heatmap scrolls sideways there.
	Wide bool
	// Query is the heatmap's canonical query (domain, from, to, step, tz), for downloads.
	Query url.Values
}

// colHead is a header cell spanning Span columns.
type colHead struct {
	Label, Title, Key string
	Span              int
	Start             bool // the first column of a month
}

// markCell is a cell of the order-marker row: Span columns, one marker when Label is set.
type markCell struct {
	Span         int
	Class, Label string
}

// orderMark is an order naming the heatmap's domain: when it took effect, when networks
// had to comply, and the summary of its compliance for the domain.
type orderMark struct {
	Order          orders.Order
	Due            time.Time
	EffCol, DueCol int // the column holding each time; -1 outside the range
	Summary        *orderSummary
	At             time.Time // when Summary holds: the end of the range, or now
}

// buildHeatmap reads the heatmap's parameters (docs/dashboard.md, The heatmap) and builds it.
func (h *dash) buildHeatmap(ctx context.Context, q url.Values, l *loc) (*heatmap, error) {
	m := &heatmap{Domain: strings.TrimSpace(q.Get("domain")), Step: q.Get("step")}
	if m.Domain == "" {
		return nil, badParam("domain: required")
	}
	if m.Step == "" {
		m.Step = defaultStep
	}
	var ok bool
	if m.step, ok = steps[m.Step]; !ok {
		return nil, badParam(fmt.Sprintf("step: %q is not one of %s", m.Step, strings.Join(stepNames, ", ")))
	}
	now := h.now().UTC()
	to, err := parseTime("to", q.Get("to"), now.Truncate(m.step).Add(m.step), true, l.Zone)
	if err != nil {
		return nil, badParam(err.Error())
	}
	from, err := parseTime("from", q.Get("from"), to.Add(-defaultSpan), false, l.Zone)
	if err != nil {
		return nil, badParam(err.Error())
	}
	cells, err := h.fitGrid(m, from, to, l.Zone)
	if err != nil {
		return nil, err
	}
	m.Start, m.End, m.Wide = cells[0].from, cells[len(cells)-1].to, len(cells) > 40
	tls, err := h.timelines(ctx, m.Domain, m.Start, m.End)
	if err != nil {
		return nil, err
	}
	m.Rows = rows(tls, cells)
	h.addASNs(ctx, m)
	m.Months, m.Days = axes(cells, m.step, l)
	m.Orders = h.orderMarks(ctx, m, cells)
	m.Marks = markRow(m, cells, l)
	m.Query = url.Values{"domain": {m.Domain}, "from": {fmtTime(m.Start)}, "to": {fmtTime(m.End)}, "step": {m.Step}}
	if l.ZoneName != "UTC" {
		m.Query.Set("tz", l.ZoneName)
	}
	return m, nil
}

// fitGrid lays out the cells, widening the step until the range fits in maxCells.
func (h *dash) fitGrid(m *heatmap, from, to time.Time, z *time.Location) ([]interval, error) {
	i := slices.Index(stepNames, m.Step)
	for {
		cells, err := grid(from, to, m.step, z)
		if err == nil || i+1 >= len(stepNames) || !from.Before(to) {
			if err != nil {
				return nil, badParam(err.Error())
			}
			return cells, nil
		}
		if m.Asked == "" {
			m.Asked = m.Step
		}
		i++
		m.Step, m.step = stepNames[i], steps[stepNames[i]]
	}
}

// timelines asks for the domain's timelines over [from, to) in pieces of at most
// report.MaxRange, each starting a day early so states confirmed before a piece carry
// over, and joins each network's pieces.
func (h *dash) timelines(ctx context.Context, domain string, from, to time.Time) ([]timeline.Timeline, error) {
	const lead = 24 * time.Hour
	if to.Sub(from) <= report.MaxRange {
		return h.data.Timelines(ctx, report.Query{Domain: domain, From: from, To: to})
	}
	byNet := map[string]*timeline.Timeline{}
	var order []string
	for a := from; a.Before(to); a = a.Add(report.MaxRange - lead) {
		b := minTime(a.Add(report.MaxRange-lead), to)
		qFrom := a
		if a.After(from) {
			qFrom = a.Add(-lead)
		}
		tls, err := h.data.Timelines(ctx, report.Query{Domain: domain, From: qFrom, To: b})
		if err != nil {
			return nil, err
		}
		for _, tl := range tls {
			piece := interval{a, b}
			j, ok := byNet[tl.Network]
			if !ok {
				j = &timeline.Timeline{Domain: tl.Domain, Network: tl.Network, From: from, To: from}
				byNet[tl.Network] = j
				order = append(order, tl.Network)
			}
			joinPiece(j, tl, piece)
		}
	}
	out := make([]timeline.Timeline, 0, len(order))
	for _, n := range order {
		out = append(out, *byNet[n])
	}
	return out, nil
}

// joinPiece appends the part of tl inside piece to j; pieces where the network was not
// seen are gaps.
func joinPiece(j *timeline.Timeline, tl timeline.Timeline, piece interval) {
	if j.To.Before(piece.from) {
		j.Gaps = append(j.Gaps, timeline.Gap{From: j.To, To: piece.from})
	}
	j.To, j.Current = piece.to, tl.Current
	j.Measurements += tl.Measurements
	for _, p := range tl.Periods {
		if o, ok := piece.clip(interval{p.Since, p.Until}); ok {
			p.Since, p.Until = o.from, o.to
			j.Periods = append(j.Periods, p)
		}
	}
	for _, g := range tl.Gaps {
		if o, ok := piece.clip(interval{g.From, g.To}); ok {
			g.From, g.To = o.from, o.to
			j.Gaps = append(j.Gaps, g)
		}
	}
}

// addASNs gives each row its network's ASN: from the fleet when the dashboard has it,
// else from one of the network's measurements in the range.
func (h *dash) addASNs(ctx context.Context, m *heatmap) {
	asn := map[string]uint32{}
	if h.probes != nil {
		if l, err := h.probes.List(ctx); err == nil {
			for _, p := range l.Probes {
				if p.ASN != 0 {
					asn[p.Network] = p.ASN
				}
			}
		}
	}
	for i, r := range m.Rows {
		if a, ok := asn[r.Network]; ok {
			m.Rows[i].ASN = a
			continue
		}
		if a, ok := h.asnCache(r.Network); ok {
			m.Rows[i].ASN = a
			continue
		}
		items, _, err := h.ms.Measurements(ctx, store.Filter{Domain: m.Domain, Network: r.Network, From: m.Start, To: m.End, Limit: 1})
		if err != nil || len(items) == 0 {
			continue
		}
		a := items[0].Probe.ASN
		if a == 0 {
			a = items[0].Geo.ASN
		}
		m.Rows[i].ASN = a
		h.rememberASN(r.Network, a)
	}
}

func (h *dash) asnCache(network string) (uint32, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.asns[network]
	return a, ok
}

func (h *dash) rememberASN(network string, a uint32) {
	if a == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.asns) > 10000 {
		clear(h.asns) // bounded: network names come from stored data
	}
	h.asns[network] = a
}

// colOf is the index of the cell holding t, -1 outside the cells.
func colOf(cells []interval, t time.Time) int {
	i, _ := slices.BinarySearchFunc(cells, t, func(c interval, t time.Time) int {
		switch {
		case !c.to.After(t):
			return -1
		case c.from.After(t):
			return 1
		}
		return 0
	})
	if i >= len(cells) || t.Before(cells[i].from) || !t.Before(cells[i].to) {
		return -1
	}
	return i
}
