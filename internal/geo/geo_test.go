package geo

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/pantau-dev/pantau/internal/geo/geotest"
)

// asnLayout is the GeoLite2-ASN (and DB-IP ASN Lite) record schema.
func asnLayout() map[string]mmdbtype.Map {
	return map[string]mmdbtype.Map{
		"36.64.0.0/11": {
			"autonomous_system_number":       mmdbtype.Uint32(7713),
			"autonomous_system_organization": mmdbtype.String("PT Telekomunikasi Indonesia"),
		},
		"2404:c0::/29": {
			"autonomous_system_number":       mmdbtype.Uint32(23693),
			"autonomous_system_organization": mmdbtype.String("PT. Telekomunikasi Selular"),
		},
	}
}

// ipinfoLayout is the IPinfo Lite record schema.
func ipinfoLayout() map[string]mmdbtype.Map {
	rec := func(asn, name, domain, cc, country string) mmdbtype.Map {
		m := mmdbtype.Map{"country_code": mmdbtype.String(cc), "country": mmdbtype.String(country),
			"continent_code": mmdbtype.String("AS"), "continent": mmdbtype.String("Asia")}
		if asn != "" {
			m["asn"], m["as_name"], m["as_domain"] = mmdbtype.String(asn), mmdbtype.String(name), mmdbtype.String(domain)
		}
		return m
	}
	return map[string]mmdbtype.Map{
		"36.64.0.0/11": rec("AS7713", "PT Telekomunikasi Indonesia", "telkom.co.id", "ID", "Indonesia"),
		"2404:c0::/29": rec("AS23693", "PT. Telekomunikasi Selular", "telkomsel.com", "ID", "Indonesia"),
		"8.8.8.0/24":   rec("", "", "", "US", "United States"), // country only
	}
}

func TestLookup(t *testing.T) {
	telkom := Info{ASN: 7713, Org: "PT Telekomunikasi Indonesia"}
	tsel := Info{ASN: 23693, Org: "PT. Telekomunikasi Selular"}
	withCountry := func(i Info, cc string) Info { i.Country = cc; return i }
	legacy := ipinfoLayout()
	for _, m := range legacy { // the older IPinfo "country_asn" file: country is the code
		m["country"] = m["country_code"]
		delete(m, "country_code")
	}

	tests := []struct {
		name, dbType string
		records      map[string]mmdbtype.Map
		want         map[string]Info // address -> info
	}{
		{"GeoLite2-ASN", "GeoLite2-ASN", asnLayout(), map[string]Info{
			"36.64.1.2": telkom, "::ffff:36.95.255.255": telkom, "2404:c0:1::1": tsel,
			"8.8.8.8": {}, "2001:4860::8888": {}, "127.0.0.1": {}, "::1": {},
		}},
		{"DB-IP ASN Lite", "DBIP-ASN-Lite (compat=GeoLite2-ASN)", asnLayout(), map[string]Info{
			"36.64.1.2": telkom, "2404:c0:1::1": tsel, "1.1.1.1": {},
		}},
		{"ASN layout, unknown type", "custom", asnLayout(), map[string]Info{"36.64.1.2": telkom}},
		{"IPinfo Lite", "ipinfo ipinfo_lite.mmdb", ipinfoLayout(), map[string]Info{
			"36.64.1.2": withCountry(telkom, "ID"), "::ffff:36.64.1.2": withCountry(telkom, "ID"),
			"2404:c0:1::1": withCountry(tsel, "ID"), "8.8.8.8": {Country: "US"}, "1.1.1.1": {}, "fe80::1%eth0": {},
		}},
		{"IPinfo layout, unknown type", "Lite", ipinfoLayout(), map[string]Info{"2404:c0:1::1": withCountry(tsel, "ID")}},
		{"IPinfo country_asn", "ipinfo country_asn.mmdb", legacy, map[string]Info{"36.64.1.2": withCountry(telkom, "ID")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(geotest.WriteDB(t, tt.dbType, tt.records))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Type() != tt.dbType || db.Built().IsZero() {
				t.Errorf("Type() = %q, Built() = %v", db.Type(), db.Built())
			}
			for addr, want := range tt.want {
				got, err := db.Lookup(netip.MustParseAddr(addr))
				if err != nil || got != want {
					t.Errorf("Lookup(%s) = %+v, %v; want %+v", addr, got, err, want)
				}
			}
		})
	}
}

func TestLookupErrors(t *testing.T) {
	records := map[string]mmdbtype.Map{
		"36.64.0.0/11": {"asn": mmdbtype.String("7713")},
		"1.1.1.0/24":   {"asn": mmdbtype.String("AS")},
		"9.9.9.0/24":   {"asn": mmdbtype.String("AS4294967296")},
		"8.8.8.0/24":   {"asn": mmdbtype.Uint32(1)},
	}
	path := geotest.WriteDB(t, "ipinfo test", records)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr netip.Addr
		want string
	}{
		{netip.Addr{}, "geo: lookup: invalid address"},
		{netip.MustParseAddr("36.64.0.1"), `geo: lookup 36.64.0.1 in ` + path + `: asn "7713": want AS and a number`},
		{netip.MustParseAddr("1.1.1.1"), `geo: lookup 1.1.1.1 in ` + path + `: asn "AS": want AS and a number`},
		{netip.MustParseAddr("9.9.9.9"), `geo: lookup 9.9.9.9 in ` + path + `: asn "AS4294967296": want AS and a number`},
		{netip.MustParseAddr("8.8.8.8"), `geo: lookup 8.8.8.8 in ` + path +
			`: at offset 8, path /asn: maxminddb: cannot unmarshal 1 (uint64) into type string`},
	}
	for _, tt := range tests {
		got, err := db.Lookup(tt.addr)
		if err == nil || err.Error() != tt.want || got != (Info{}) {
			t.Errorf("Lookup(%v) = %+v, %v; want error %q", tt.addr, got, err, tt.want)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Lookup(netip.MustParseAddr("36.64.0.1")); err == nil {
		t.Error("Lookup after Close: no error")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("not an mmdb file at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mmdb")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.mmdb")
	city := geotest.WriteDB(t, "GeoLite2-City", map[string]mmdbtype.Map{
		"36.64.0.0/11": {"country": mmdbtype.Map{"iso_code": mmdbtype.String("ID")}},
	})
	noRecords := geotest.WriteDB(t, "custom", nil)

	tests := []struct {
		path, want string
	}{
		{garbage, "geo: open " + garbage + ": error opening database: invalid MaxMind DB file"},
		{empty, "geo: open " + empty + ": file is empty"},
		{missing, "geo: open " + missing + ": no such file or directory"},
		{city, "geo: " + city + `: database type "GeoLite2-City": no ASN fields (want GeoLite2-ASN, DB-IP ASN Lite or IPinfo Lite)`},
		{noRecords, "geo: " + noRecords + `: database type "custom": no ASN fields (want GeoLite2-ASN, DB-IP ASN Lite or IPinfo Lite)`},
	}
	for _, tt := range tests {
		db, err := Open(tt.path)
		if err == nil {
			db.Close()
			t.Errorf("Open(%s): no error", tt.path)
			continue
		}
		if msg := err.Error(); msg != tt.want {
			t.Errorf("Open error = %q, want %q", msg, tt.want)
		}
	}
}

func TestParseASN(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		err  bool
	}{
		{"", 0, false}, {"AS7713", 7713, false}, {"AS4294967295", 4294967295, false},
		{"as7713", 0, true}, {"AS+1", 0, true}, {"AS-1", 0, true}, {"AS 1", 0, true}, {"7713", 0, true},
	}
	for _, tt := range tests {
		got, err := parseASN(tt.in)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("parseASN(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}
