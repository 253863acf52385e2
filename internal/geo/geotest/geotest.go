// Package geotest writes small MMDB files for tests, so that the geolocation of
// internal/geo and its callers is tested on real database files with known records. It is
// for tests only (imported from _test.go files); no address in a record is ever contacted.
package geotest

import (
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// WriteDB writes, in a temporary folder of t, an MMDB file whose metadata gives the
// database type dbType (e.g. "GeoLite2-ASN") holding records, keyed by network in CIDR
// notation, and returns its path. The networks are inserted in sorted order, so the same
// records always give the same file.
func WriteDB(t testing.TB, dbType string, records map[string]mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 28, IPVersion: 6})
	if err != nil {
		t.Fatal(err)
	}
	for _, cidr := range slices.Sorted(maps.Keys(records)) {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(network, records[cidr]); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	path := filepath.Join(t.TempDir(), "test.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
