package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"strconv"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/sign"
)

//go:embed bundle.html.tmpl
var bundleTemplate string

// pageTemplate is the printable report of an order bundle: one self-contained page, no
// external assets (no script, font, image or style sheet from elsewhere).
var pageTemplate = template.Must(template.New("report").Parse(bundleTemplate))

// page is what the printable report shows; its times are in the order's zone with UTC
// beside them (orders.Order.FormatLocal).
type page struct {
	R                             orders.Report
	Zone                          string
	At, AsOf, Effective, Due, Gen string
	Grace                         string
	Signed                        bool
	KeyID, Version                string
	Networks                      []pageNetwork
	Measurements                  int
}

type pageNetwork struct {
	orders.NetworkReport
	TimeToEffect string
	Rows         []pageDomain
}

type pageDomain struct {
	orders.DomainReport
	Effect, TimeToEffect string
	Files                int // measurements of the cell in the bundle
}

// reportHTML renders the printable page of rep, with the bundle's index.
func reportHTML(rep orders.Report, index BundleIndexFile, generated time.Time, s *sign.Signer) ([]byte, error) {
	o, c := rep.Order, rep.Order.Clock()
	p := page{R: rep, Zone: c.Name, At: c.Format(rep.At), Effective: c.Format(o.Effective),
		Due: c.Format(o.Effective.Add(o.Grace)), Gen: c.Format(generated), Grace: o.Grace.String(),
		Signed: s != nil, KeyID: s.KeyID(), Version: s.Version()}
	if rep.AsOf != nil {
		p.AsOf = c.Format(*rep.AsOf)
	}
	type cellKey struct{ network, domain string }
	cells := map[cellKey]IndexCell{}
	for _, cell := range index.Cells {
		cells[cellKey{cell.Network, cell.Domain}] = cell
		p.Measurements += len(cell.Measurements)
	}
	for _, n := range rep.Networks {
		pn := pageNetwork{NetworkReport: n, TimeToEffect: optDuration(n.TimeToEffectS)}
		for _, d := range n.Domains {
			cell := cells[cellKey{n.Network, d.Domain}]
			pd := pageDomain{DomainReport: d, TimeToEffect: optDuration(d.TimeToEffectS), Files: len(cell.Measurements)}
			if d.Effect != nil {
				pd.Effect = c.Format(*d.Effect)
			}
			pn.Rows = append(pn.Rows, pd)
		}
		p.Networks = append(p.Networks, pn)
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("bundle: report page: %w", err)
	}
	return buf.Bytes(), nil
}

// optDuration writes seconds as a duration rounded to the second ("" for nil).
func optDuration(s *float64) string {
	if s == nil {
		return ""
	}
	d := time.Duration(*s * float64(time.Second)).Round(time.Second)
	if d >= 24*time.Hour {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d " + (d % (24 * time.Hour)).String()
	}
	return d.String()
}
