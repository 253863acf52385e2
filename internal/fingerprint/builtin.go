package fingerprint

import (
	"bytes"
	_ "embed"
)

// builtinCSV is the project's own Indonesian fingerprint file; data/SOURCES.md credits
// the sources of its facts.
//
//go:embed data/id_fingerprints.csv
var builtinCSV []byte

// Builtin returns the embedded Indonesian fingerprints. The file is parsed on each call;
// a test guarantees that it parses, so an error here is a build defect and panics.
func Builtin() []Fingerprint {
	fps, err := Load(bytes.NewReader(builtinCSV), "id_fingerprints.csv")
	if err != nil {
		panic("fingerprint: embedded file: " + err.Error())
	}
	return fps
}
