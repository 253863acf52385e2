package report

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/sign"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// The files of an order's bundle (docs/evidence.md, Order bundles) besides the
// measurements and sign.ManifestName and sign.SignatureName.
const (
	BundleJSON  = "compliance.json"
	BundleCSV   = "compliance.csv"
	BundleHTML  = "report.html"
	BundleIndex = "measurements/index.json"
)

// BundleKind is the kind of an order bundle's signature.
const BundleKind = "order-bundle"

// BundleIndexFile is measurements/index.json: for each cell of the report (a domain on
// a network), the evidence behind its state at the report's time, each measurement with
// the file that holds its raw JSON.
type BundleIndexFile struct {
	Order string      `json:"order"`
	At    time.Time   `json:"at"`
	Cells []IndexCell `json:"cells"`
}

// IndexCell is one (domain, network) cell: its confirmed state at At, as in an evidence
// bundle (Service.Evidence), and its measurements.
type IndexCell struct {
	Network      string           `json:"network"`
	Domain       string           `json:"domain"`
	State        string           `json:"state"`
	Since        *time.Time       `json:"since"`
	Period       *timeline.Period `json:"period"`
	Missing      int              `json:"missing"`
	Measurements []IndexItem      `json:"measurements"`
}

// IndexItem is a measurement of a cell: an EvidenceItem whose raw JSON is in File,
// byte for byte as the probe submitted it.
type IndexItem struct {
	File       string         `json:"file"`
	ID         string         `json:"id"`
	Probe      store.Identity `json:"probe"`
	Source     store.Geo      `json:"source"`
	ReceivedAt time.Time      `json:"received_at"`
	StartedAt  time.Time      `json:"started_at"`
	Status     string         `json:"status"`
	Method     string         `json:"method,omitempty"`
	Conflicts  int            `json:"conflicts,omitempty"`
	SHA256     string         `json:"sha256"`
}

// OrderBundle returns the archive of order id's compliance at at (zero: now): the
// signed report as JSON and CSV, a printable HTML page, every measurement behind each
// cell, their index, the manifest of hashes and its signature (sign.SignArchive). name
// is the file name to offer: compliance-ID-20170720T000000Z.zip.
func (s *Service) OrderBundle(ctx context.Context, id string, at time.Time) (name string, archive []byte, err error) {
	rep, err := s.Compliance(ctx, id, at)
	if err != nil {
		return "", nil, err
	}
	generated := s.now().UTC()
	m := sign.Meta{Kind: "compliance", Order: rep.Order.ID, At: rep.At, GeneratedAt: generated}
	body, err := encodeJSON(rep)
	if err != nil {
		return "", nil, err
	}
	cj, err := s.signer.Sign(body, sign.JSON, m)
	if err != nil {
		return "", nil, err
	}
	cc, err := s.signer.Sign(csvBytes(complianceCSV(rep)), sign.CSV, m)
	if err != nil {
		return "", nil, err
	}
	index, raws, err := s.bundleMeasurements(ctx, rep)
	if err != nil {
		return "", nil, err
	}
	idx, err := encodeJSON(index)
	if err != nil {
		return "", nil, err
	}
	page, err := reportHTML(rep, index, generated, s.signer)
	if err != nil {
		return "", nil, err
	}
	files := append([]sign.File{{Name: BundleJSON, Data: append(cj, '\n')}, {Name: BundleCSV, Data: cc},
		{Name: BundleHTML, Data: page}, {Name: BundleIndex, Data: append(idx, '\n')}}, raws...)
	m.Kind = BundleKind
	archive, err = s.signer.SignArchive(files, m)
	if err != nil {
		return "", nil, err
	}
	return "compliance-" + rep.Order.ID + "-" + rep.At.UTC().Format("20060102T150405Z") + ".zip", archive, nil
}

// bundleMeasurements reads the evidence of each cell of rep at rep.At and returns the
// index and one file per measurement, its raw JSON.
func (s *Service) bundleMeasurements(ctx context.Context, rep orders.Report) (BundleIndexFile, []sign.File, error) {
	index := BundleIndexFile{Order: rep.Order.ID, At: rep.At, Cells: []IndexCell{}}
	var files []sign.File
	taken := map[string]bool{}
	for _, n := range rep.Networks {
		for _, d := range n.Domains {
			b, err := s.Evidence(ctx, d.Domain, n.Network, rep.At)
			if err != nil {
				return index, nil, fmt.Errorf("bundle: %s on %s: %w", d.Domain, n.Network, err)
			}
			c := IndexCell{Network: n.Network, Domain: d.Domain, State: b.State, Since: b.Since, Period: b.Period,
				Missing: b.Missing, Measurements: []IndexItem{}}
			for _, it := range b.Items {
				file := measurementFile(n.Network, d.Domain, it, taken)
				files = append(files, sign.File{Name: file, Data: it.Raw})
				c.Measurements = append(c.Measurements, IndexItem{File: file, ID: it.ID, Probe: it.Probe, Source: it.Geo,
					ReceivedAt: it.ReceivedAt, StartedAt: it.StartedAt, Status: it.Status, Method: it.Method,
					Conflicts: it.Conflicts, SHA256: it.SHA256})
			}
			index.Cells = append(index.Cells, c)
		}
	}
	return index, files, nil
}

// measurementFile names a measurement's file, unique in the archive:
// measurements/NETWORK/DOMAIN/STARTED-PROBE-ID.json, each part reduced to safe characters.
func measurementFile(network, domain string, it EvidenceItem, taken map[string]bool) string {
	base := it.StartedAt.UTC().Format("20060102T150405Z") + "-" + fileSafe(it.Probe.Probe) + "-" + fileSafe(it.ID)
	dir := path.Join("measurements", fileSafe(network), fileSafe(domain))
	name := path.Join(dir, base+".json")
	for i := 2; taken[name]; i++ {
		name = path.Join(dir, fmt.Sprintf("%s-%d.json", base, i))
	}
	taken[name] = true
	return name
}

// fileSafe keeps letters, digits, '.', '-' and '_' of s (others become '_'), and never
// gives "", "." or "..".
func fileSafe(s string) string {
	out := strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return r
		}
		return '_'
	}, s)
	if strings.Trim(out, ".") == "" {
		return "_" + out
	}
	return out
}
