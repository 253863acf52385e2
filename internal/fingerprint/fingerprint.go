// Package fingerprint recognises block pages. It reads fingerprints in the CSV format of
// OONI's blocking-fingerprints repository (a DNS answer address or CNAME target, a body
// string, a header value, and our extension: the page title), ships the project's own
// Indonesian fingerprints, and matches DNS answers and HTTP replies against a Set.
package fingerprint

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Columns of the CSV format, in order.
var columns = []string{"name", "scope", "other_names", "location_found", "pattern_type", "pattern",
	"confidence_no_fp", "expected_countries", "source", "exp_url", "notes"}

const (
	colName = iota
	colScope
	colOtherNames
	colLocation
	colType
	colPattern
	colConfidence
	colCountries
	colSource
	colExpURL
	colNotes
)

// Locations and pattern types.
const (
	LocDNS    = "dns"
	LocBody   = "body"
	LocTitle  = "title"   // Pantau's extension: the page's <title>
	LocHeader = "header." // followed by the header name, lower case

	TypeFull     = "full"
	TypePrefix   = "prefix"
	TypeContains = "contains"
	TypeRegexp   = "regexp"
	// TypeHost is Pantau's extension for header.location: the pattern is a host name,
	// optionally followed by a path prefix ("internetbaik.telkomsel.com/block"). It
	// matches a redirect to that host whatever the scheme (http, https or none), the
	// case, a "www." prefix, a port or a trailing dot; see locationHost.
	TypeHost = "host"
)

// Scopes. ScopeFalsePositive ("fp") marks pages known NOT to be block pages: server-side
// challenges, CDN/WAF refusals and parked domains. A match with it is evidence that the
// reply is not the site's content, never evidence of censorship.
const (
	ScopeNational      = "nat"
	ScopeISP           = "isp"
	ScopeProduct       = "prod"
	ScopeInstitution   = "inst"
	ScopeVendor        = "vbw"
	ScopeFalsePositive = "fp"
)

// scopes are the scopes OONI's validate_csv.py accepts.
var scopes = []string{ScopeNational, ScopeISP, ScopeProduct, ScopeInstitution, ScopeVendor, ScopeFalsePositive, "injb", "prov"}

// Fingerprint is one block-page pattern.
type Fingerprint struct {
	Name        string
	Scope       string   // nat, isp, prod, inst, vbw, fp, injb or prov
	Location    string   // dns, body, title or header.<name> (lower case)
	PatternType string   // full, prefix, contains, regexp or host
	Pattern     string   // as written; matching is case-sensitive except for DNS names
	Confidence  int      // confidence_no_fp: 0..10, higher means fewer false positives
	Countries   []string // expected_countries, upper case
	Source      string
	Notes       string

	re     *regexp.Regexp // compiled Pattern of a regexp fingerprint
	header string         // canonical header key of a header.<name> location
	dnsKey string         // normalised Pattern of a dns fingerprint (not a regexp)
	host   string         // host of a host fingerprint, normalised like locationHost's
	path   string         // path prefix of a host fingerprint ("" for any)
}

// LoadFile reads the fingerprints in the CSV file at path; errors name the file's base name.
func LoadFile(path string) ([]Fingerprint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fingerprints: %w", err)
	}
	defer f.Close()
	return Load(f, filepath.Base(path))
}

// Load reads fingerprints in the CSV format from r. name is used in errors, which have
// the form "NAME:LINE: what is wrong". Nothing is returned if anything is wrong.
func Load(r io.Reader, name string) ([]Fingerprint, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(columns)
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file (want the header line %s)", name, strings.Join(columns, ","))
	}
	if err != nil {
		return nil, csvError(name, head, err)
	}
	head[0] = strings.TrimPrefix(head[0], "\ufeff")
	if got, want := strings.Join(head, ","), strings.Join(columns, ","); got != want {
		return nil, fmt.Errorf("%s:1: header is %q, want %q", name, got, want)
	}
	var out []Fingerprint
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, csvError(name, rec, err)
		}
		fp, col, err := parse(rec)
		if err != nil {
			line, _ := cr.FieldPos(col)
			return nil, fmt.Errorf("%s:%d: field %q: %w", name, line, columns[col], err)
		}
		out = append(out, fp)
	}
}

// csvError turns an encoding/csv error into "NAME:LINE: ...".
func csvError(name string, rec []string, err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", name, err)
	}
	if errors.Is(pe.Err, csv.ErrFieldCount) {
		return fmt.Errorf("%s:%d: wrong number of fields: got %d, want %d", name, pe.StartLine, len(rec), len(columns))
	}
	return fmt.Errorf("%s:%d:%d: %w", name, pe.Line, pe.Column, pe.Err)
}

// parse validates one record; on error it returns the index of the bad column.
func parse(rec []string) (Fingerprint, int, error) {
	fp := Fingerprint{
		Name:        strings.TrimSpace(rec[colName]),
		Scope:       strings.TrimSpace(rec[colScope]),
		Location:    strings.ToLower(strings.TrimSpace(rec[colLocation])),
		PatternType: strings.TrimSpace(rec[colType]),
		Pattern:     rec[colPattern], // leading and trailing spaces are part of some patterns
		Source:      strings.TrimSpace(rec[colSource]),
		Notes:       strings.TrimSpace(rec[colNotes]),
	}
	if fp.Name == "" {
		return fp, colName, errors.New("empty")
	}
	if !slices.Contains(scopes, fp.Scope) {
		return fp, colScope, fmt.Errorf("unknown value %q (want nat, isp, prod, inst, vbw, fp, injb or prov)", rec[colScope])
	}
	switch {
	case fp.Location == LocDNS || fp.Location == LocBody || fp.Location == LocTitle:
	case strings.HasPrefix(fp.Location, LocHeader) && validToken(fp.Location[len(LocHeader):]):
		fp.header = textproto.CanonicalMIMEHeaderKey(fp.Location[len(LocHeader):])
	default:
		return fp, colLocation, fmt.Errorf("unknown value %q (want dns, body, title or header.<name>)", rec[colLocation])
	}
	if !slices.Contains([]string{TypeFull, TypePrefix, TypeContains, TypeRegexp, TypeHost}, fp.PatternType) {
		return fp, colType, fmt.Errorf("unknown value %q (want full, prefix, contains, regexp or host)", rec[colType])
	}
	if fp.PatternType == TypeHost && fp.Location != LocHeader+"location" {
		return fp, colType, fmt.Errorf("type host is for header.location only, not %q", fp.Location)
	}
	if fp.Location == LocDNS {
		fp.Pattern = strings.TrimSpace(fp.Pattern)
		if fp.PatternType != TypeRegexp {
			fp.dnsKey = dnsKey(fp.Pattern)
		}
	}
	if fp.Pattern == "" {
		return fp, colPattern, errors.New("empty")
	}
	if fp.PatternType == TypeHost {
		if err := fp.parseHost(); err != nil {
			return fp, colPattern, err
		}
	}
	fp.redirectURLPrefix()
	if fp.PatternType == TypeRegexp {
		re, err := regexp.Compile(fp.Pattern)
		if err != nil {
			return fp, colPattern, err
		}
		fp.re = re
	}
	c, err := strconv.Atoi(strings.TrimSpace(rec[colConfidence]))
	if err != nil || c < 0 || c > 10 {
		return fp, colConfidence, fmt.Errorf("bad value %q (want an integer from 0 to 10)", rec[colConfidence])
	}
	fp.Confidence = c
	for _, cc := range strings.Split(rec[colCountries], ",") {
		if cc = strings.ToUpper(strings.TrimSpace(cc)); cc != "" {
			fp.Countries = append(fp.Countries, cc)
		}
	}
	return fp, 0, nil
}

// dnsKey normalises a DNS answer or pattern: an address in canonical form, a name in
// lower case without the trailing dot.
func dnsKey(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

// validToken reports whether s is a non-empty HTTP header field name (RFC 9110 token).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}
