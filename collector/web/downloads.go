package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/pantau-dev/pantau/collector/store"
)

// heatmapFor builds the heatmap a download asks for; false when it answered an error.
func (h *dash) heatmapFor(w http.ResponseWriter, r *http.Request) (*heatmap, *loc, bool) {
	l, ok := h.localeOr400(w, r)
	if !ok {
		return nil, nil, false
	}
	m, err := h.buildHeatmap(r.Context(), r.URL.Query(), l)
	if err != nil {
		h.failErr(w, r, "timelines", err)
		return nil, nil, false
	}
	return m, l, true
}

// fileName is a download's name: domain and range, e.g. t.me_2017-07-10_2017-07-20.csv.
func (m *heatmap) fileName(ext string) string {
	return fmt.Sprintf("%s_%s_%s_%s.%s", m.Domain, m.Start.Format("2006-01-02"), m.End.Format("2006-01-02"), m.Step, ext)
}

func attach(w http.ResponseWriter, ctype, name string) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "")+`"`)
	w.Header().Set("Cache-Control", "no-store")
}

// heatmapCSV is the heatmap's cells, one line per network and cell (times in UTC, as
// RFC 3339; seconds of each state).
func (h *dash) heatmapCSV(w http.ResponseWriter, r *http.Request) {
	m, _, ok := h.heatmapFor(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	head := []string{"domain", "network", "asn", "from", "to", "state", "method", "partial"}
	for _, s := range legend {
		head = append(head, s+"_s")
	}
	_ = cw.Write(head)
	for _, row := range m.Rows {
		for _, c := range row.Cells {
			rec := []string{m.Domain, row.Network, asnText(row.ASN), fmtTime(c.From), fmtTime(c.To), c.State, c.Method, strconv.FormatBool(c.Partial)}
			for _, s := range legend {
				var d time.Duration
				for _, p := range c.Parts {
					if p.State == s {
						d = p.D
					}
				}
				rec = append(rec, strconv.FormatInt(int64(d.Round(time.Second)/time.Second), 10))
			}
			_ = cw.Write(rec)
		}
	}
	cw.Flush()
	attach(w, "text/csv; charset=utf-8", m.fileName("csv"))
	_, _ = w.Write(buf.Bytes())
}

func asnText(a uint32) string {
	if a == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(a), 10)
}

type jsonCell struct {
	From    time.Time        `json:"from"`
	To      time.Time        `json:"to"`
	State   string           `json:"state"`
	Method  string           `json:"method,omitempty"`
	Partial bool             `json:"partial"`
	Seconds map[string]int64 `json:"seconds"` // per state (and gap)
}

type jsonRow struct {
	Network string     `json:"network"`
	ASN     uint32     `json:"asn,omitempty"`
	Current string     `json:"current"`
	Cells   []jsonCell `json:"cells"`
}

type jsonOrder struct {
	ID        string    `json:"id"`
	Effective time.Time `json:"effective"`
	Due       time.Time `json:"due"`
}

// heatmapJSON is the heatmap as JSON: its range and step, each network's cells, and the
// orders marked on it.
func (h *dash) heatmapJSON(w http.ResponseWriter, r *http.Request) {
	m, _, ok := h.heatmapFor(w, r)
	if !ok {
		return
	}
	out := struct {
		Domain string      `json:"domain"`
		From   time.Time   `json:"from"`
		To     time.Time   `json:"to"`
		Step   string      `json:"step"`
		Rows   []jsonRow   `json:"rows"`
		Orders []jsonOrder `json:"orders"`
	}{Domain: m.Domain, From: m.Start, To: m.End, Step: m.Step, Rows: []jsonRow{}, Orders: []jsonOrder{}}
	for _, row := range m.Rows {
		jr := jsonRow{Network: row.Network, ASN: row.ASN, Current: string(row.Current)}
		for _, c := range row.Cells {
			jc := jsonCell{From: c.From, To: c.To, State: c.State, Method: c.Method, Partial: c.Partial, Seconds: map[string]int64{}}
			for _, p := range c.Parts {
				jc.Seconds[p.State] = int64(p.D.Round(time.Second) / time.Second)
			}
			jr.Cells = append(jr.Cells, jc)
		}
		out.Rows = append(out.Rows, jr)
	}
	for _, om := range m.Orders {
		out.Orders = append(out.Orders, jsonOrder{ID: om.Order.ID, Effective: om.Order.Effective.UTC(), Due: om.Due.UTC()})
	}
	attach(w, "application/json", m.fileName("json"))
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

// PNG layout: a column of network names, then the cells; a line of months above.
const (
	pngLeft  = 200 // network names
	pngTop   = 20  // months
	pngRow   = 20  // row height
	pngWidth = 1200
)

// pngCellWidth is each cell's width in the PNG: the cells fill about pngWidth-pngLeft.
func pngCellWidth(n int) int { return max(1, min(24, (pngWidth-pngLeft)/max(n, 1))) }

// pngSize is the PNG's size for rows × cols cells.
func pngSize(rows, cols int) (int, int) {
	return pngLeft + cols*pngCellWidth(cols) + 1, pngTop + max(rows, 1)*pngRow + 1
}

var pngColours = map[string]color.RGBA{
	"accessible": {0x00, 0x9E, 0x73, 0xff}, "blocked": {0xD5, 0x5E, 0x00, 0xff}, "down": {0x00, 0x72, 0xB2, 0xff},
	"inconclusive": {0xF0, 0xE4, 0x42, 0xff}, "unknown": {0x99, 0x99, 0x99, 0xff}, gapClass: {0xff, 0xff, 0xff, 0xff},
}

// heatmapPNG draws the heatmap server-side from the same cells: the colours of the
// stylesheet, gaps white with grey hatching, month boundaries and order markers as lines.
func (h *dash) heatmapPNG(w http.ResponseWriter, r *http.Request) {
	m, _, ok := h.heatmapFor(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, drawHeatmap(m)); err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	attach(w, "image/png", m.fileName("png"))
	_, _ = w.Write(buf.Bytes())
}

func drawHeatmap(m *heatmap) *image.RGBA {
	cols := 0
	if len(m.Rows) > 0 {
		cols = len(m.Rows[0].Cells)
	} else {
		for _, mo := range m.Months {
			cols += mo.Span
		}
	}
	cw := pngCellWidth(cols)
	wd, ht := pngSize(len(m.Rows), cols)
	img := image.NewRGBA(image.Rect(0, 0, wd, ht))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	ink := color.RGBA{0x1a, 0x1a, 0x1a, 0xff}
	hatch := color.RGBA{0xd9, 0xd9, 0xd9, 0xff}
	for i, row := range m.Rows {
		y := pngTop + i*pngRow
		name := row.Network
		if row.ASN != 0 {
			name += " AS" + asnText(row.ASN)
		}
		text(img, 4, y+14, name, ink)
		for j, c := range row.Cells {
			rect := image.Rect(pngLeft+j*cw, y+1, pngLeft+(j+1)*cw, y+pngRow-1)
			draw.Draw(img, rect, image.NewUniform(pngColours[c.State]), image.Point{}, draw.Src)
			if c.State == gapClass {
				for py := rect.Min.Y; py < rect.Max.Y; py++ {
					for px := rect.Min.X; px < rect.Max.X; px++ {
						if (px+py)%4 == 0 {
							img.Set(px, py, hatch)
						}
					}
				}
			}
		}
	}
	x := pngLeft
	for _, mo := range m.Months {
		if mo.Start {
			vline(img, x, 0, ht, ink)
		}
		text(img, x+3, 14, mo.Label, ink)
		x += mo.Span * cw
	}
	for _, om := range m.Orders {
		for _, col := range []int{om.EffCol, om.DueCol} {
			if col >= 0 {
				vline(img, pngLeft+col*cw, pngTop-6, ht, color.RGBA{0, 0, 0, 0xff})
			}
		}
	}
	return img
}

func vline(img *image.RGBA, x, y0, y1 int, c color.Color) {
	for y := y0; y < y1; y++ {
		img.Set(x, y, c)
	}
}

// text writes ASCII text with the 7×13 basic font (non-ASCII letters become '?').
func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// writeMeasurements writes a cell's measurements as CSV or JSON.
func writeMeasurements(w http.ResponseWriter, format, name string, items []store.StoredMeasurement) {
	name = strings.NewReplacer("/", "_", " ", "_").Replace(name)
	if format == "json" {
		out := make([]json.RawMessage, 0, len(items))
		for _, it := range items {
			b, err := rawJSON(it)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			out = append(out, b)
		}
		attach(w, "application/json", name+".json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"id", "started_at", "probe", "network", "asn", "source", "status", "method", "reason"})
	for _, it := range items {
		v, src := it.Measurement.Verdict, it.Measurement.Source
		if src == "" {
			src = sourceOf(it.Probe.Probe)
		}
		_ = cw.Write([]string{it.Measurement.ID, fmtTime(it.Measurement.StartedAt), it.Probe.Probe, it.Probe.Network, asnText(it.Probe.ASN), src, v.Status, v.Method, v.Reason})
	}
	cw.Flush()
	attach(w, "text/csv; charset=utf-8", name+".csv")
	_, _ = w.Write(buf.Bytes())
}

// sourceOf says where a probe's measurements come from: "ooni" for those imported from
// OONI (probe IDs "ooni/…"), "pantau" otherwise.
func sourceOf(probe string) string {
	if strings.HasPrefix(probe, "ooni/") {
		return "ooni"
	}
	return "pantau"
}

// embed is the heatmap alone, for articles (framed by the configured origins only).
func (h *dash) embed(w http.ResponseWriter, r *http.Request) {
	m, l, ok := h.heatmapFor(w, r)
	if !ok {
		return
	}
	d := homeData{Domain: m.Domain, Step: m.Step, Map: m, Legend: legend, Embedded: true}
	h.render(w, r, http.StatusOK, "embed", page{Title: m.Domain, Data: &d, L: l, Zoned: true})
}
