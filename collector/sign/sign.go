package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Format is the form of the signed content.
type Format string

// The formats: a JSON object, a CSV file with a header row, or a zip archive whose
// manifest.json is the signed content (SignArchive).
const (
	JSON Format = "json"
	CSV  Format = "csv"
	Zip  Format = "zip"
)

// Version is the signature scheme's version, the manifest's first line.
const Version = 1

// jsonMember introduces the signature, the last member of a signed JSON object;
// csvMarker is the first cell of a signed CSV's last row.
const (
	jsonMember = `,"signature":`
	csvMarker  = "#pantau-signature"
)

// Meta says what signed content is about: Kind is "evidence" or "compliance"; Domain and
// Network (evidence) or Order (compliance); At, the time the content describes;
// GeneratedAt, when the collector made it.
type Meta struct {
	Kind            string
	Domain, Network string
	Order           string
	At, GeneratedAt time.Time
}

// Signature is carried in a signed file. Value is the Ed25519 signature (base64) of the
// manifest that the other fields make (Manifest).
type Signature struct {
	Version          int    `json:"version"`
	Algorithm        string `json:"algorithm"`
	KeyID            string `json:"key_id"`
	Kind             string `json:"kind"`
	Format           Format `json:"format"`
	ContentSHA256    string `json:"content_sha256"`
	Domain           string `json:"domain,omitempty"`
	Network          string `json:"network,omitempty"`
	Order            string `json:"order,omitempty"`
	At               string `json:"at"`
	GeneratedAt      string `json:"generated_at"`
	CollectorVersion string `json:"collector_version"`
	Value            string `json:"value"`
}

// Manifest is the text the signature is over: a first line "pantau-signature-v1", then
// one "name=value" line per field in the order of the JSON object (value and omitted
// fields included as empty), each ending in "\n". No field may hold a control character,
// so the manifest is unambiguous.
func (s Signature) Manifest() ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "pantau-signature-v%d\n", s.Version)
	for _, f := range []struct{ name, v string }{
		{"algorithm", s.Algorithm}, {"key_id", s.KeyID}, {"kind", s.Kind}, {"format", string(s.Format)},
		{"content_sha256", s.ContentSHA256}, {"domain", s.Domain}, {"network", s.Network}, {"order", s.Order},
		{"at", s.At}, {"generated_at", s.GeneratedAt}, {"collector_version", s.CollectorVersion},
	} {
		if strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, fmt.Errorf("signature: %s holds a control character", f.name)
		}
		b.WriteString(f.name + "=" + f.v + "\n")
	}
	return []byte(b.String()), nil
}

// Sign returns content with its signature: for JSON, content (one object, as written
// without the signature) gets a last member "signature"; for CSV, content (rows ending in
// "\n", the first a header) gets a last row of as many cells as the header, the first
// "#pantau-signature" and the second the signature's JSON. A nil Signer returns the
// content unsigned (Unsigned).
func (s *Signer) Sign(content []byte, format Format, m Meta) ([]byte, error) {
	if s == nil {
		return Unsigned(content, format)
	}
	sig, err := s.signature(content, format, m)
	if err != nil {
		return nil, err
	}
	js, err := json.Marshal(sig)
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	switch format {
	case JSON:
		return spliceJSON(content, js)
	case CSV:
		return appendCSV(content, string(js))
	}
	return nil, fmt.Errorf("signature: unknown format %q", format)
}

// signature signs content: its SHA-256 and what m says it is about.
func (s *Signer) signature(content []byte, format Format, m Meta) (Signature, error) {
	sum := sha256.Sum256(content)
	sig := Signature{Version: Version, Algorithm: "ed25519", KeyID: s.id, Kind: m.Kind, Format: format,
		ContentSHA256: hex.EncodeToString(sum[:]), Domain: m.Domain, Network: m.Network, Order: m.Order,
		At: stamp(m.At), GeneratedAt: stamp(m.GeneratedAt), CollectorVersion: s.version}
	man, err := sig.Manifest()
	if err != nil {
		return Signature{}, err
	}
	sig.Value = base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, man))
	return sig, nil
}

// Unsigned returns content marked unsigned: a JSON object gets "signature": null as its
// last member; a CSV is left as it is (without the signature row it is unsigned).
func Unsigned(content []byte, format Format) ([]byte, error) {
	if format == JSON {
		return spliceJSON(content, []byte("null"))
	}
	return content, nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// spliceJSON adds member "signature" with value v at the end of the object content.
func spliceJSON(content, v []byte) ([]byte, error) {
	c := bytes.TrimRight(content, " \t\r\n")
	if len(c) < 2 || c[0] != '{' || c[len(c)-1] != '}' || bytes.Equal(bytes.TrimSpace(c[1:len(c)-1]), nil) {
		return nil, errors.New("signature: content is not a JSON object with members")
	}
	if len(c) != len(content) {
		return nil, errors.New("signature: JSON content must not end in white space")
	}
	out := make([]byte, 0, len(c)+len(jsonMember)+len(v)+1)
	out = append(append(append(out, c[:len(c)-1]...), jsonMember...), v...)
	return append(out, '}'), nil
}

// appendCSV adds the signature row, padded to the header's number of cells.
func appendCSV(content []byte, sig string) ([]byte, error) {
	if len(content) == 0 || content[len(content)-1] != '\n' {
		return nil, errors.New("signature: CSV content must end with a line feed")
	}
	header, err := csv.NewReader(bytes.NewReader(content)).Read()
	if err != nil {
		return nil, fmt.Errorf("signature: CSV header: %w", err)
	}
	row := make([]string, max(2, len(header)))
	row[0], row[1] = csvMarker, sig
	var buf bytes.Buffer
	buf.Write(content)
	w := csv.NewWriter(&buf)
	_ = w.Write(row)
	w.Flush()
	return buf.Bytes(), w.Error()
}
