// Package geo looks up the autonomous system (and, where the file has it, the country)
// of an address in a local MMDB file: MaxMind GeoLite2-ASN, DB-IP ASN Lite or IPinfo
// Lite. The collector stores a probe's source ASN beside the ASN its token declares, so a
// probe that moved networks shows (docs/auth.md); the probe annotates DNS answers with
// their ASN, so DNS consistency can rest on ASN overlap (docs/verdicts.md).
package geo

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Info is what the database says about an address. The zero Info means not found.
type Info struct {
	ASN     uint32
	Org     string // AS organisation or name
	Country string // ISO 3166-1 alpha-2; only IPinfo files have it
}

// layout is the record schema of a database.
type layout int

const (
	layoutASN    layout = iota + 1 // autonomous_system_number, autonomous_system_organization
	layoutIPinfo                   // asn ("AS7713"), as_name, country_code (or country)
)

// DB is an open MMDB file. It is safe for concurrent use.
type DB struct {
	r      *maxminddb.Reader
	path   string
	layout layout
}

// Open opens the MMDB file at path and tells its layout from the metadata's database
// type or, failing that, from the fields of its first record.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said once
		}
		return nil, fmt.Errorf("geo: open %s: %w", path, err)
	}
	l, err := detect(r)
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("geo: %s: %w", path, err)
	}
	return &DB{r: r, path: path, layout: l}, nil
}

// sniffRecords is how many records detect reads to find the layout of a file whose type
// it does not know.
const sniffRecords = 1000

func detect(r *maxminddb.Reader) (layout, error) {
	t := r.Metadata.DatabaseType
	switch lt := strings.ToLower(t); {
	case strings.Contains(lt, "ipinfo"): // before "asn": IPinfo's older file is "country_asn"
		return layoutIPinfo, nil
	case strings.Contains(lt, "-asn"), strings.HasSuffix(lt, "-isp"): // GeoLite2-ASN, DBIP-ASN-Lite, GeoIP2-ISP
		return layoutASN, nil
	}
	n := 0
	for res := range r.Networks() {
		var rec map[string]any
		if err := res.Decode(&rec); err != nil {
			return 0, fmt.Errorf("database type %q: record for %s: %w", t, res.Prefix(), err)
		}
		switch {
		case rec["autonomous_system_number"] != nil:
			return layoutASN, nil
		case rec["asn"] != nil:
			return layoutIPinfo, nil
		}
		if n++; n == sniffRecords { // some ranges have a country but no AS: look further
			break
		}
	}
	return 0, fmt.Errorf("database type %q: no ASN fields (want GeoLite2-ASN, DB-IP ASN Lite or IPinfo Lite)", t)
}

// Type returns the database type from the file's metadata, e.g. "GeoLite2-ASN".
func (d *DB) Type() string { return d.r.Metadata.DatabaseType }

// Built returns when the file was built, to tell a stale file.
func (d *DB) Built() time.Time { return d.r.Metadata.BuildTime() }

type asnRecord struct {
	ASN uint32 `maxminddb:"autonomous_system_number"`
	Org string `maxminddb:"autonomous_system_organization"`
}

type ipinfoRecord struct {
	ASN         string `maxminddb:"asn"`
	Name        string `maxminddb:"as_name"`
	CountryCode string `maxminddb:"country_code"` // IPinfo Lite
	Country     string `maxminddb:"country"`      // the older "country_asn" file: a code
}

// Lookup returns what the database says about addr (an IPv4-mapped IPv6 address is
// looked up as IPv4). An address the database does not cover gives the zero Info and
// a nil error.
func (d *DB) Lookup(addr netip.Addr) (Info, error) {
	if !addr.IsValid() {
		return Info{}, errors.New("geo: lookup: invalid address")
	}
	addr = addr.Unmap().WithZone("")
	res := d.r.Lookup(addr)
	if err := res.Err(); err != nil {
		return Info{}, fmt.Errorf("geo: lookup %s in %s: %w", addr, d.path, err)
	}
	if !res.Found() {
		return Info{}, nil
	}
	switch d.layout {
	case layoutIPinfo:
		var rec ipinfoRecord
		if err := res.Decode(&rec); err != nil {
			return Info{}, fmt.Errorf("geo: lookup %s in %s: %w", addr, d.path, err)
		}
		asn, err := parseASN(rec.ASN)
		if err != nil {
			return Info{}, fmt.Errorf("geo: lookup %s in %s: %w", addr, d.path, err)
		}
		info := Info{ASN: asn, Org: rec.Name, Country: rec.CountryCode}
		if info.Country == "" && isCode(rec.Country) {
			info.Country = rec.Country
		}
		return info, nil
	default:
		var rec asnRecord
		if err := res.Decode(&rec); err != nil {
			return Info{}, fmt.Errorf("geo: lookup %s in %s: %w", addr, d.path, err)
		}
		return Info{ASN: rec.ASN, Org: rec.Org}, nil
	}
}

// parseASN reads IPinfo's "AS7713"; empty (a range with a country but no AS) is 0.
func parseASN(s string) (uint32, error) {
	if s == "" {
		return 0, nil
	}
	digits, ok := strings.CutPrefix(s, "AS")
	n, err := strconv.ParseUint(digits, 10, 32)
	if !ok || err != nil {
		return 0, fmt.Errorf("asn %q: want AS and a number", s)
	}
	return uint32(n), nil
}

func isCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// Close releases the file. Lookups after Close fail.
func (d *DB) Close() error { return d.r.Close() }
