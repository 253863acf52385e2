package fingerprint

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/internal/testref"
)

// The OONI-format fixtures are the project's own rows, written in the format of OONI's
// blocking-fingerprints files (CRLF line endings, quoted fields over several lines) with
// facts about Indonesian block pages; OONI's files themselves are never copied in.
const (
	fixtureDNS  = "testdata/ooni_dns.csv"
	fixtureHTTP = "testdata/ooni_http.csv"
)

func TestLoadOONIFormat(t *testing.T) {
	tests := []struct {
		file string
		want int
	}{
		{fixtureDNS, 6},
		{fixtureHTTP, 15},
	}
	for _, tc := range tests {
		fps := mustLoad(t, tc.file)
		if len(fps) != tc.want {
			t.Errorf("%s: %d fingerprints, want %d", tc.file, len(fps), tc.want)
		}
		for _, fp := range fps {
			if fp.Name == "" || fp.Pattern == "" || fp.Source != "fixture" {
				t.Errorf("%s: incomplete fingerprint %+v", tc.file, fp)
			}
		}
	}
	byName := map[string]Fingerprint{}
	for _, fp := range append(mustLoad(t, fixtureDNS), mustLoad(t, fixtureHTTP)...) {
		byName[fp.Name] = fp
	}
	patterns := []struct{ name, pattern, why string }{
		// encoding/csv turns the file's \r\n inside quotes into \n.
		{"fx.xx_multi_line", "<title>Access Restricted</title>\n", "a quoted field over several lines keeps its newline"},
		{"fx.xx_leading_space", " <title>Blocked by Policy</title>", "leading spaces are part of a body pattern"},
		{"fx.id_uzone_replace", `window.location.replace("http://internetpositif.uzone.id/`, "doubled quotes in a quoted field are one quote"},
		{"fx.id_dns_uzone_2", "36.86.63.185", "spaces around a DNS pattern are dropped"},
		{"fx.id_dns_trustpositif", "TrustPositif.KOMINFO.go.id.", "a DNS name is kept as written"},
	}
	for _, tc := range patterns {
		if fp, ok := byName[tc.name]; !ok || fp.Pattern != tc.pattern {
			t.Errorf("%s: pattern %q, want %q (%s)", tc.name, fp.Pattern, tc.pattern, tc.why)
		}
	}
	if fp := byName["fx.xx_server"]; fp.header != "Server" || !slices.Equal(fp.Countries, []string{"XX", "YY"}) || fp.Scope != "nat" {
		t.Errorf("fx.xx_server parsed as %+v", fp)
	}
	if fp := byName["fx.id_dns_trustpositif"]; fp.dnsKey != "trustpositif.kominfo.go.id" {
		t.Errorf("fx.id_dns_trustpositif: DNS key %q, want the name in lower case without the dot", fp.dnsKey)
	}
	if fp := byName["fx.xx_dns_mapped"]; fp.dnsKey != "192.0.2.7" {
		t.Errorf("fx.xx_dns_mapped: DNS key %q, want the IPv4 address", fp.dnsKey)
	}
}

// TestLoadOONIFiles reads OONI's own current files (optional: see package testref): the
// reader must take every record of both, multi-line and space-led patterns included.
func TestLoadOONIFiles(t *testing.T) {
	dnsPath := testref.File(t, "ooni-fingerprints/fingerprints_dns.csv")
	httpPath := testref.File(t, "ooni-fingerprints/fingerprints_http.csv")
	tests := []struct {
		path string
		want int
	}{
		{dnsPath, 226},
		{httpPath, 1729},
	}
	for _, tc := range tests {
		fps := mustLoad(t, tc.path)
		if len(fps) != tc.want {
			t.Errorf("%s: %d fingerprints, want %d", tc.path, len(fps), tc.want)
		}
		for _, fp := range fps {
			if fp.Name == "" || fp.Pattern == "" {
				t.Errorf("%s: incomplete fingerprint %+v", tc.path, fp)
			}
		}
	}
	http := mustLoad(t, httpPath)
	i := slices.IndexFunc(http, func(fp Fingerprint) bool { return fp.Name == "cp.d_corp_multacom_satellite" })
	if i < 0 || http[i].Pattern != "<title>Page Restricted</title>\n" {
		t.Errorf("multi-line pattern of cp.d_corp_multacom_satellite not loaded")
	}
	i = slices.IndexFunc(http, func(fp Fingerprint) bool { return fp.Name == "ooni.ca_0" })
	if i < 0 || !strings.HasPrefix(http[i].Pattern, " <title>") {
		t.Errorf("leading space of ooni.ca_0's pattern lost")
	}
}

func TestLoadGood(t *testing.T) {
	fps, err := LoadFile("testdata/good.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(fps) != 2 {
		t.Fatalf("got %d fingerprints, want 2", len(fps))
	}
	srv := fps[0]
	if srv.Location != "header.server" || srv.header != "Server" || srv.Confidence != 5 ||
		!slices.Equal(srv.Countries, []string{"ID", "MY"}) || srv.Scope != "prod" || srv.Source != "test" {
		t.Errorf("header fingerprint parsed as %+v", srv)
	}
	if fps[1].re == nil || fps[1].dnsKey != "" {
		t.Errorf("regexp fingerprint parsed as %+v", fps[1])
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ file, err string }{
		{"bad_pattern_type.csv", `bad_pattern_type.csv:4: field "pattern_type": unknown value "fuzzy" (want full, prefix, contains, regexp or host)`},
		{"bad_regexp.csv", "bad_regexp.csv:3: field \"pattern\": error parsing regexp: missing closing ): `blocked (by`"},
		{"bad_confidence.csv", `bad_confidence.csv:2: field "confidence_no_fp": bad value "high" (want an integer from 0 to 10)`},
		{"bad_field_count.csv", `bad_field_count.csv:3: wrong number of fields: got 9, want 11`},
		{"bad_location.csv", `bad_location.csv:2: field "location_found": unknown value "footer" (want dns, body, title or header.<name>)`},
		{"bad_header_name.csv", `bad_header_name.csv:2: field "location_found": unknown value "header." (want dns, body, title or header.<name>)`},
		{"bad_scope.csv", `bad_scope.csv:2: field "scope": unknown value "national" (want nat, isp, prod, inst, vbw, fp, injb or prov)`},
		{"empty_pattern.csv", `empty_pattern.csv:2: field "pattern": empty`},
		{"bare_quote.csv", `bare_quote.csv:2:30: bare " in non-quoted-field`},
		{"bad_header.csv", `bad_header.csv:1: header is "name,scope,location_found,pattern_type,pattern,confidence_no_fp,expected_countries,source,exp_url,notes,other_names", want "name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,expected_countries,source,exp_url,notes"`},
		{"empty.csv", `empty.csv: empty file (want the header line name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,expected_countries,source,exp_url,notes)`},
	}
	for _, tc := range tests {
		fps, err := LoadFile(filepath.Join("testdata", tc.file))
		if err == nil || err.Error() != tc.err {
			t.Errorf("%s: error = %v\nwant %s", tc.file, err, tc.err)
		}
		if fps != nil {
			t.Errorf("%s: returned %d fingerprints with the error", tc.file, len(fps))
		}
	}
	if _, err := LoadFile("testdata/missing.csv"); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error = %v, want a not-exist error", err)
	}
}

func TestBuiltin(t *testing.T) {
	fps := Builtin()
	type key struct{ loc, typ, pat string }
	have := map[key]Fingerprint{}
	names := map[string]bool{}
	for _, fp := range fps {
		if names[fp.Name] {
			t.Errorf("duplicate name %s", fp.Name)
		}
		names[fp.Name] = true
		indonesian := strings.HasPrefix(fp.Name, "pantau.id_") && fp.Scope != ScopeFalsePositive && slices.Equal(fp.Countries, []string{"ID"})
		notBlock := strings.HasPrefix(fp.Name, "pantau.fp_") && fp.Scope == ScopeFalsePositive && fp.Countries == nil
		if !indonesian && !notBlock || fp.Source == "" || fp.Notes == "" {
			t.Errorf("row %s lacks our name prefix, a source, notes, or country ID (pantau.id_) or scope fp (pantau.fp_): %+v", fp.Name, fp)
		}
		have[key{fp.Location, fp.PatternType, fp.Pattern}] = fp
	}
	var want []key
	for _, p := range []string{"36.86.63.185", "36.86.63.182", "118.97.116.27", "27.54.116.70", "202.3.219.209",
		"114.121.254.4", "180.131.146.7", "116.206.10.31", "114.6.128.8", "139.255.196.196", "103.154.123.132",
		"103.88.170.170", "internet-positif.org", "mypage.blocked.bltsel", "restricted.tri.co.id", "blockpage.xl.co.id",
		"netsafe.indosatm2.com", "internetpositif3.firstmedia.com", "trustpositif.iforte.net.id",
		"trustpositif.kominfo.go.id", "trustpositif.komdigi.go.id", "internetsehataman.cbn.net.id"} {
		want = append(want, key{"dns", "full", p})
	}
	for _, p := range []string{"lamanlabuh.aduankonten.id", "internetpositif.uzone.id", "mercusuar.uzone.id",
		"internetbaik.telkomsel.com/block", "blockpage.xl.co.id", "blockpage.xlaxiata.id",
		"restricted.tri.co.id", "trustpositif.iforte.net.id"} {
		want = append(want, key{"header.location", "host", p})
	}
	for _, p := range []string{"Internet Positif", "Internet Sehat"} {
		want = append(want, key{"title", "full", p})
	}
	for _, p := range []string{"aduankonten@kominfo.go.id", "<title>Internet Positif</title>", "UA-36449470-1", "blocked by <a href=http://trustpositif.kominfo.go.id"} {
		want = append(want, key{"body", "contains", p})
	}
	for _, k := range want {
		if _, ok := have[k]; !ok {
			t.Errorf("builtin file lacks %s %s %q", k.loc, k.typ, k.pat)
		}
	}
	if fp := have[key{"dns", "full", "36.86.63.185"}]; fp.Name != "pantau.id_dns_telkom_uzone" || fp.Scope != "isp" || fp.Confidence != 10 {
		t.Errorf("36.86.63.185 row = %+v", fp)
	}
	// Every DNS fact of OONI's Indonesian fingerprints is covered.
	for _, p := range referenceDNS {
		if _, ok := have[key{"dns", "full", p}]; !ok {
			t.Errorf("builtin file lacks the DNS fact %s", p)
		}
	}
}

// referenceDNS are the DNS answers (addresses and CNAME targets) of the Indonesian rows of
// OONI's blocking-fingerprints (commit 171641e), restated as facts, normalised and sorted.
var referenceDNS = []string{
	"10.10.30.76", "101.255.0.226", "101.255.1.226", "103.10.120.3", "103.108.159.238", "103.126.10.252",
	"103.14.16.18", "103.142.60.250", "103.154.123.132", "103.170.115.114", "103.189.63.245", "103.19.56.2",
	"103.195.19.54", "103.47.132.195", "103.70.68.68", "103.83.96.242", "103.88.170.170", "103.94.168.168",
	"110.50.83.31", "112.215.37.181", "113.197.108.236", "114.121.254.4", "114.129.22.33", "114.129.23.9",
	"114.4.66.127", "114.6.128.8", "115.178.182.58", "116.206.10.31", "118.97.116.27", "118.98.96.151",
	"119.18.152.218", "139.255.196.196", "150.107.140.200", "150.107.151.151", "158.140.186.3", "180.131.146.7",
	"180.214.232.61", "202.137.1.74", "202.152.4.67", "202.162.209.133", "202.165.36.253", "202.169.44.80",
	"202.3.218.137", "202.3.219.209", "202.50.202.50", "202.52.141.98", "202.56.160.131", "202.56.160.132",
	"202.57.25.3", "202.62.29.1", "202.62.8.232", "202.62.8.233", "202.65.113.54", "202.73.99.3",
	"202.89.117.64", "203.119.13.75", "203.119.13.76", "203.160.56.38", "203.99.130.131", "210.210.178.70",
	"220.247.168.195", "27.123.220.197", "27.54.116.70", "36.86.63.182", "36.86.63.185", "43.225.64.187",
	"49.128.177.13", "58.147.184.141", "58.147.185.131", "75.2.41.216", "99.83.188.13", "block.centrin.net.id",
	"blockpage.xl.co.id", "dnssehat.telkomuniversity.ac.id", "filter.melsa.net.id", "internet-positif.org",
	"internetpositif.mncplaymedia.com", "internetpositif3.firstmedia.com", "internetsehat.smartfren.com",
	"internetsehataman.cbn.net.id", "mypage.blocked.bltsel", "netsafe.indosatm2.com", "restricted.tri.co.id",
	"trustpositif.iforte.net.id", "trustpositif.kominfo.go.id", "xblock.gmedia.net.id",
}

// TestBuiltinCoversReference checks the builtin file against the reference subset itself
// (optional: see package testref): every Indonesian DNS row of OONI's file is covered, and
// referenceDNS restates that file's facts.
func TestBuiltinCoversReference(t *testing.T) {
	ref := mustLoad(t, testref.File(t, "indonesia-blockpages/id_fingerprints_dns.csv"))
	have := map[string]bool{}
	for _, fp := range Builtin() {
		if fp.Location == LocDNS {
			have[fp.dnsKey] = true
		}
	}
	var keys []string
	for _, fp := range ref {
		if !have[fp.dnsKey] {
			t.Errorf("builtin file lacks the DNS fact %s (%s)", fp.Pattern, fp.Name)
		}
		keys = append(keys, fp.dnsKey)
	}
	slices.Sort(keys)
	if keys = slices.Compact(keys); !slices.Equal(keys, referenceDNS) {
		t.Errorf("the reference file's DNS facts changed:\n got %q\nwant %q", keys, referenceDNS)
	}
}
