package orders

import (
	"fmt"
	"strings"
	"time"
)

// Zones: an order's times are shown in its zone, with UTC beside them (an order effective
// 14 July 00:00 WIB reads as such, not as 13 July 17:00). The zone is the order's `zone`
// key, an IANA name (Asia/Jakarta); without one, the fixed offset its effective time is
// written with, named by indonesianZones or as "UTC+07:00".

// indonesianZones names Indonesia's three offsets (WIB, WITA, WIT): the orders Pantau was
// built for are Indonesian, and an offset alone names no zone anywhere else. An order
// from elsewhere that wants a zone's name gives `zone`.
var indonesianZones = map[int]string{7 * 3600: "WIB", 8 * 3600: "WITA", 9 * 3600: "WIT"}

// checkZone validates a zone key: an IANA time zone name that the collector knows.
func checkZone(z string) error {
	switch {
	case z == "":
		return nil
	case z != strings.TrimSpace(z):
		return fmt.Errorf("%q: white space around the name", z)
	case strings.EqualFold(z, "local"):
		return fmt.Errorf("%q: the collector's own zone is not an order's zone; want an IANA name such as Asia/Jakarta", z)
	}
	if _, err := time.LoadLocation(z); err != nil {
		return fmt.Errorf("%q: not an IANA time zone name (want e.g. Asia/Jakarta, Asia/Makassar, Asia/Jayapura, UTC)", z)
	}
	return nil
}

// Location returns the order's zone: its `zone` (IANA) or, without one, the fixed offset
// of its effective time (named WIB/WITA/WIT for +07/+08/+09, UTC for +00:00, else
// "UTC+07:00").
func (o Order) Location() *time.Location {
	if o.Zone != "" {
		if loc, err := time.LoadLocation(o.Zone); err == nil {
			return loc
		}
	}
	_, off := o.Effective.Zone()
	return time.FixedZone(offsetName(off), off)
}

// offsetName names a fixed offset of seconds east of UTC.
func offsetName(off int) string {
	if n, ok := indonesianZones[off]; ok {
		return n
	}
	if off == 0 {
		return "UTC"
	}
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return fmt.Sprintf("UTC%s%02d:%02d", sign, off/3600, off%3600/60)
}

// ZoneName is the name of the order's zone for people: its `zone` (Asia/Jakarta) or the
// default's name (WIB, UTC+05:30).
func (o Order) ZoneName() string { return o.Clock().Name }

// InZone returns t in the order's zone.
func (o Order) InZone(t time.Time) time.Time { return t.In(o.Location()) }

// FormatLocal writes t in the order's zone with UTC beside it (Clock.Format).
func (o Order) FormatLocal(t time.Time) string { return o.Clock().Format(t) }

// Clock returns the order's zone, loaded once for writing many times.
func (o Order) Clock() Clock {
	c := Clock{Name: o.Zone, Loc: o.Location()}
	if c.Name == "" {
		c.Name = c.Loc.String()
	}
	return c
}

// Clock is an order's zone: its name for people (Order.ZoneName) and its location.
type Clock struct {
	Name string
	Loc  *time.Location
}

// LocalLayout formats a time in an order's zone for people: the zone's abbreviation for
// that instant (WIB, or +07 for a zone without one) ends it.
const LocalLayout = "2006-01-02 15:04:05 MST"

// Format writes t in the zone with its abbreviation and the UTC time beside it:
// "2017-07-14 00:00:00 WIB (2017-07-13 17:00:00 UTC)". In UTC it is written once.
func (c Clock) Format(t time.Time) string {
	local := t.In(c.Loc).Format(LocalLayout)
	utc := t.UTC().Format(LocalLayout)
	if local == utc {
		return utc
	}
	return local + " (" + utc + ")"
}

// RFC3339 writes t in the zone as RFC 3339 with the zone's offset (fractions of a second
// kept, as in the API's UTC times).
func (c Clock) RFC3339(t time.Time) string { return t.In(c.Loc).Format(time.RFC3339Nano) }

// LocalTimes are a report's times in its order's zone (RFC 3339 with the zone's offset),
// beside the UTC ones of Report.
type LocalTimes struct {
	Zone      string `json:"zone"`   // Order.ZoneName
	Abbrev    string `json:"abbrev"` // the zone's abbreviation at the report's time: WIB
	At        string `json:"at"`
	AsOf      string `json:"as_of,omitempty"`
	Effective string `json:"effective"`
	Due       string `json:"due"` // effective + grace: when networks must comply
}

// setLocal fills r.Local and each domain's EffectLocal from r's times.
func (r *Report) setLocal() {
	o, c := r.Order, r.Order.Clock()
	abbrev, _ := r.At.In(c.Loc).Zone()
	r.Local = &LocalTimes{Zone: c.Name, Abbrev: abbrev, At: c.RFC3339(r.At), Effective: c.RFC3339(o.Effective),
		Due: c.RFC3339(o.Effective.Add(o.Grace))}
	if r.AsOf != nil {
		r.Local.AsOf = c.RFC3339(*r.AsOf)
	}
	for i := range r.Networks {
		for j := range r.Networks[i].Domains {
			if d := &r.Networks[i].Domains[j]; d.Effect != nil {
				d.EffectLocal = c.RFC3339(*d.Effect)
			}
		}
	}
}
