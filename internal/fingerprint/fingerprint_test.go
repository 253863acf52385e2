package fingerprint

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ooniDir holds OONI's blocking-fingerprints beside the repository (never copied into it).
const ooniDir = "../../../shared/data/ooni-fingerprints/"

// loadOONI loads one of OONI's files; a missing file fails the test, it is always there.
func loadOONI(t testing.TB, file string) []Fingerprint {
	t.Helper()
	fps, err := LoadFile(ooniDir + file)
	if err != nil {
		t.Fatalf("OONI fingerprints must be present beside the repo: %v", err)
	}
	return fps
}

func TestLoadOONI(t *testing.T) {
	tests := []struct {
		file string
		want int
	}{
		{"fingerprints_dns.csv", 226},
		{"fingerprints_http.csv", 1729},
	}
	for _, tc := range tests {
		fps := loadOONI(t, tc.file)
		if len(fps) != tc.want {
			t.Errorf("%s: %d fingerprints, want %d", tc.file, len(fps), tc.want)
		}
		for _, fp := range fps {
			if fp.Name == "" || fp.Pattern == "" {
				t.Errorf("%s: incomplete fingerprint %+v", tc.file, fp)
			}
		}
	}
	// A record with a quoted field over several lines keeps its newline (encoding/csv
	// turns the file's \r\n inside quotes into \n).
	http := loadOONI(t, "fingerprints_http.csv")
	i := slices.IndexFunc(http, func(fp Fingerprint) bool { return fp.Name == "cp.d_corp_multacom_satellite" })
	if i < 0 || http[i].Pattern != "<title>Page Restricted</title>\n" {
		t.Errorf("multi-line pattern of cp.d_corp_multacom_satellite not loaded")
	}
	// Leading spaces are part of a pattern.
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
		{"bad_pattern_type.csv", `bad_pattern_type.csv:4: field "pattern_type": unknown value "fuzzy" (want full, prefix, contains or regexp)`},
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
		if !strings.HasPrefix(fp.Name, "pantau.id_") || fp.Source == "" || fp.Notes == "" || !slices.Equal(fp.Countries, []string{"ID"}) {
			t.Errorf("row %s lacks our name prefix, a source, notes or country ID: %+v", fp.Name, fp)
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
	for _, p := range []string{"http://lamanlabuh.aduankonten.id", "http://internetpositif.uzone.id", "http://mercusuar.uzone.id",
		"http://internetbaik.telkomsel.com/block?", "http://blockpage.xl.co.id", "https://blockpage.xlaxiata.id",
		"http://restricted.tri.co.id", "https://trustpositif.iforte.net.id"} {
		want = append(want, key{"header.location", "prefix", p})
	}
	for _, p := range []string{"Internet Positif", "Internet Sehat"} {
		want = append(want, key{"title", "full", p})
	}
	for _, p := range []string{"aduankonten@kominfo.go.id", "<title>Internet Positif</title>", "UA-36449470-1", "trustpositif.kominfo.go.id"} {
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
	// Every Indonesian DNS fact of the reference subset is covered.
	ref, err := LoadFile("../../../shared/data/indonesia-blockpages/id_fingerprints_dns.csv")
	if err != nil {
		t.Fatalf("reference data must be present beside the repo: %v", err)
	}
	for _, fp := range ref {
		if _, ok := have[key{"dns", "full", fp.Pattern}]; !ok {
			t.Errorf("builtin file lacks the DNS fact %s (%s)", fp.Pattern, fp.Name)
		}
	}
}
