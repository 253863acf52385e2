package orders

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones without the system's database, as the collector's binary has them

	"github.com/pantau-dev/pantau/collector/timeline"
)

// TestParseZone: a zone key is an IANA name; a bad one is an error naming `zone` and the
// line; without one the effective time's offset names the zone.
func TestParseZone(t *testing.T) {
	base := "id: x\nauthority: A\nreference: R\nexpect: blocked\nnetworks: [Telkomsel]\ndomains: [t.me]\n"
	for _, tc := range []struct {
		name, effective, zone string
		wantZone, wantErr     string
	}{
		{"iana", "2017-07-14T00:00:00+07:00", "zone: Asia/Jakarta\n", "Asia/Jakarta", ""},
		{"iana other than offset", "2017-07-13T17:00:00Z", "zone: Asia/Makassar\n", "Asia/Makassar", ""},
		{"default WIB", "2017-07-14T00:00:00+07:00", "", "WIB", ""},
		{"default WITA", "2017-07-14T00:00:00+08:00", "", "WITA", ""},
		{"default WIT", "2017-07-14T00:00:00+09:00", "", "WIT", ""},
		{"default UTC", "2017-07-13T17:00:00Z", "", "UTC", ""},
		{"default other offset", "2017-07-14T00:00:00+05:30", "", "UTC+05:30", ""},
		{"default negative offset", "2017-07-14T00:00:00-03:00", "", "UTC-03:00", ""},
		{"unknown name", "2017-07-14T00:00:00+07:00", "zone: Asia/Jakartaa\n", "", `x.yaml:8: zone: "Asia/Jakartaa": not an IANA time zone name`},
		{"abbreviation", "2017-07-14T00:00:00+07:00", "zone: WIB\n", "", `x.yaml:8: zone: "WIB": not an IANA time zone name`},
		{"local", "2017-07-14T00:00:00+07:00", "zone: Local\n", "", `x.yaml:8: zone: "Local": the collector's own zone`},
		{"not a string", "2017-07-14T00:00:00+07:00", "zone: [Asia/Jakarta]\n", "", "x.yaml:8"},
	} {
		o, err := Parse("x.yaml", []byte(base+"effective: "+tc.effective+"\n"+tc.zone))
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case o.ZoneName() != tc.wantZone:
			t.Errorf("%s: zone %q, want %q", tc.name, o.ZoneName(), tc.wantZone)
		}
	}
}

// TestFormatLocal: times are written in the order's zone with UTC beside them, once in UTC.
func TestFormatLocal(t *testing.T) {
	wib := time.FixedZone("", 7*3600)
	at := time.Date(2017, 7, 14, 0, 0, 0, 0, wib)
	for _, tc := range []struct {
		o    Order
		want string
	}{
		{Order{Effective: at}, "2017-07-14 00:00:00 WIB (2017-07-13 17:00:00 UTC)"},
		{Order{Effective: at, Zone: "Asia/Jakarta"}, "2017-07-14 00:00:00 WIB (2017-07-13 17:00:00 UTC)"},
		{Order{Effective: at, Zone: "Asia/Jayapura"}, "2017-07-14 02:00:00 WIT (2017-07-13 17:00:00 UTC)"},
		{Order{Effective: at.UTC()}, "2017-07-13 17:00:00 UTC"},
		{Order{Effective: at.In(time.FixedZone("", 5*3600+1800))}, "2017-07-13 22:30:00 UTC+05:30 (2017-07-13 17:00:00 UTC)"},
	} {
		if got := tc.o.FormatLocal(at); got != tc.want {
			t.Errorf("zone %q, effective %s: %q, want %q", tc.o.Zone, tc.o.Effective, got, tc.want)
		}
	}
}

// TestReportLocal: a report carries its times in the order's zone beside the UTC ones.
func TestReportLocal(t *testing.T) {
	o := Order{ID: "x", Domains: []string{"t.me"}, Networks: []string{"Telkomsel"}, Expect: timeline.Blocked,
		Effective: time.Date(2017, 7, 14, 0, 0, 0, 0, time.FixedZone("", 7*3600)), Grace: 48 * time.Hour, Zone: "Asia/Jakarta"}
	at := time.Date(2017, 7, 20, 0, 0, 0, 0, time.UTC)
	r := Comply(o, nil, nil, at)
	r.SetAsOf(at.Add(time.Hour))
	want := LocalTimes{Zone: "Asia/Jakarta", Abbrev: "WIB", At: "2017-07-20T07:00:00+07:00", AsOf: "2017-07-20T07:00:00+07:00",
		Effective: "2017-07-14T00:00:00+07:00", Due: "2017-07-16T00:00:00+07:00"}
	if r.Local == nil || *r.Local != want {
		t.Errorf("local = %+v, want %+v", r.Local, want)
	}
}
