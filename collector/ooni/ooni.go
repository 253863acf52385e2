// Package ooni imports OONI Web Connectivity measurements (OONI's open data, one JSON
// object a line) as Pantau measurements: it maps OONI's observations (queries,
// tcp_connect, tls_handshakes, requests, control) to Pantau's wire format, derives
// Pantau's verdict from them with package verdict, keeps OONI's own verdict and
// identifiers beside it (measurement.Provenance), and names the probe's network through
// an ASN map (Networks). docs/ooni.md describes the mapping.
package ooni

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/fingerprint"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/verdict"
)

// TestName is the OONI test the import reads; measurements of other tests are skipped.
const TestName = "web_connectivity"

// ProbePrefix starts the probe name of imported measurements: "ooni/AS7713". Probe
// tokens cannot hold '/', so no Pantau probe can take such a name.
const ProbePrefix = "ooni/"

// ErrSkipped marks a line that is a measurement of another OONI test: not an error.
var ErrSkipped = errors.New("not a web_connectivity measurement")

// Mapper turns OONI measurement lines into store items. It is safe for concurrent use.
type Mapper struct {
	nets Networks
	fps  *fingerprint.Set
}

// NewMapper returns a Mapper naming networks with nets and matching block pages with
// fps (nil: none; the import uses fingerprint.Builtin, like the probe).
func NewMapper(nets Networks, fps *fingerprint.Set) *Mapper {
	return &Mapper{nets: nets, fps: fps}
}

// Map decodes one OONI measurement and returns it as a store item received at now.
// A measurement of another test returns ErrSkipped; anything malformed, or that does not
// make a valid Pantau measurement, an error naming the key.
func (mp *Mapper) Map(line []byte, now time.Time) (store.Item, error) {
	var h header
	if err := json.Unmarshal(line, &h); err != nil {
		return store.Item{}, jsonError(err)
	}
	if h.TestName != TestName {
		return store.Item{}, fmt.Errorf("%w: test_name %q", ErrSkipped, h.TestName)
	}
	var tk testKeys
	if len(h.TestKeys) == 0 || string(h.TestKeys) == "null" {
		return store.Item{}, errors.New("test_keys: missing")
	}
	if err := json.Unmarshal(h.TestKeys, &tk); err != nil {
		return store.Item{}, fmt.Errorf("test_keys: %w", jsonError(err))
	}
	m, err := mp.measurement(&h, &tk)
	if err != nil {
		return store.Item{}, err
	}
	if err := m.Validate(now); err != nil {
		return store.Item{}, fmt.Errorf("does not make a valid measurement: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	asn, _ := ParseASN(h.ProbeASN) // measurement checked it
	return store.Item{
		M: m,
		Probe: store.Identity{
			Probe: ProbePrefix + "AS" + fmt.Sprint(asn), Network: mp.nets.Name(asn),
			Country: strings.ToUpper(h.ProbeCC), ASN: asn,
		},
		ReceivedAt: now,
	}, nil
}

// measurement builds the Pantau measurement of h and its test keys.
func (mp *Mapper) measurement(h *header, tk *testKeys) (*measurement.Measurement, error) {
	if h.Input == nil || *h.Input == "" {
		return nil, errors.New("input: missing: web_connectivity measures a URL")
	}
	t, err := target.Parse(*h.Input)
	switch {
	case err != nil:
		return nil, fmt.Errorf("input: %w", err)
	case t.Kind != measurement.KindWeb || !strings.Contains(*h.Input, "://"):
		return nil, fmt.Errorf("input: %q is not an http(s) URL", *h.Input)
	}
	start, err := time.Parse("2006-01-02 15:04:05", h.MeasurementStartTime)
	if err != nil {
		// OONI's API lists the time as RFC 3339; its measurements as written above.
		if start, err = time.Parse(time.RFC3339, h.MeasurementStartTime); err != nil {
			return nil, fmt.Errorf("measurement_start_time: %q: want YYYY-MM-DD hh:mm:ss (UTC)", h.MeasurementStartTime)
		}
	}
	prov, err := provenance(h, tk)
	if err != nil {
		return nil, err
	}
	m := &measurement.Measurement{
		ID:            measurementID(h, start),
		SchemaVersion: measurement.SchemaVersion,
		Target:        t.String(),
		Input:         t.Input(),
		Kind:          t.Kind,
		Domain:        t.Domain,
		Port:          t.Port,
		StartedAt:     start.UTC(),
		RuntimeMS:     max(h.TestRuntime*1000, 0),
		Software:      measurement.Software{Name: noSpaces(h.SoftwareName), Version: noSpaces(h.SoftwareVersion)},
		Source:        measurement.SourceOONI,
		Provenance:    prov,
	}
	egress := tk.ClientResolver
	if egress == "" {
		egress = h.ResolverIP
	}
	probeAddrs, byName := mp.dns(m, tk.Queries, egress)
	mp.tcp(m, tk.TCPConnect, probeAddrs, controlAddrs(tk.Control))
	if err := mp.tls(m, tk.TLSHandshakes); err != nil {
		return nil, err
	}
	mp.http(m, tk.Requests)
	unfinishedHop(m, tk)
	hopAddresses(m, byName)
	m.Control = mp.control(m, h, tk, probeAddrs)
	m.Normalise()
	m.Verdict = verdict.Of(m)
	return m, nil
}

// provenance keeps OONI's identifiers of the measurement and OONI's verdict.
func provenance(h *header, tk *testKeys) (*measurement.Provenance, error) {
	if h.ReportID == "" {
		return nil, errors.New("report_id: missing")
	}
	if _, err := ParseASN(h.ProbeASN); err != nil || !strings.HasPrefix(h.ProbeASN, "AS") {
		return nil, fmt.Errorf("probe_asn: %q: want AS followed by a number", h.ProbeASN)
	}
	if len(h.ProbeCC) != 2 {
		return nil, fmt.Errorf("probe_cc: %q: want a two-letter country code", h.ProbeCC)
	}
	b, err := blocking(tk.Blocking)
	if err != nil {
		return nil, err
	}
	return &measurement.Provenance{
		ReportID: h.ReportID, MeasurementUID: h.MeasurementUID,
		ProbeASN: h.ProbeASN, ProbeNetworkName: h.ProbeNetworkName, ProbeCC: strings.ToUpper(h.ProbeCC),
		SoftwareName: h.SoftwareName, SoftwareVersion: h.SoftwareVersion,
		OONIBlocking: b, OONIAccessible: tk.Accessible,
	}, nil
}

// measurementID derives the measurement's ID from what identifies it in OONI's data
// whatever the dump it comes from: its report, its input and its start time (a report
// measures an input once; OONI's measurement_uid is not in every dump, and the time is
// taken in one form whichever OONI wrote). Importing the same measurement again gives
// the same ID, which the store then skips.
func measurementID(h *header, start time.Time) string {
	sum := sha256.Sum256([]byte("ooni\x00" + h.ReportID + "\x00" + *h.Input + "\x00" + start.UTC().Format("2006-01-02 15:04:05")))
	return hex.EncodeToString(sum[:16])
}

// jsonError describes a JSON decoding error by the key it is about, without Go type
// names.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: want %s, found a JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("not valid JSON at byte %d: %w", se.Offset, err)
	}
	return err
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "slice":
		return "a list"
	case k == "struct", k == "map", k == "ptr":
		return "an object"
	}
	return "a " + k
}

// trimBOM drops a UTF-8 byte order mark, which some tools write before the first line.
func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }
