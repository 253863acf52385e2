package fingerprint

import (
	"bytes"
	_ "embed"
)

// builtinCSV is the project's own Indonesian block-page fingerprint file, and
// notBlockCSV its own rows of pages that are not block pages (scope fp: server-side
// challenges, CDN/WAF refusals, parked domains); data/SOURCES.md credits the sources of
// their facts.
var (
	//go:embed data/id_fingerprints.csv
	builtinCSV []byte
	//go:embed data/fp_fingerprints.csv
	notBlockCSV []byte
)

// Builtin returns the embedded fingerprints: the Indonesian block pages, then the
// not-block-page (fp) rows. The files are parsed on each call; a test guarantees that
// they parse, so an error here is a build defect and panics.
func Builtin() []Fingerprint {
	var out []Fingerprint
	for _, f := range []struct {
		name string
		data []byte
	}{{"id_fingerprints.csv", builtinCSV}, {"fp_fingerprints.csv", notBlockCSV}} {
		fps, err := Load(bytes.NewReader(f.data), f.name)
		if err != nil {
			panic("fingerprint: embedded file: " + err.Error())
		}
		out = append(out, fps...)
	}
	return out
}
