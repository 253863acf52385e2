package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // readers pick any IANA zone; the host may have no zone database

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/pantau-dev/pantau/collector/orders"
)

//go:embed locales/*.json
var localeFS embed.FS

// langs are the dashboard's languages; the first is the default (unknown languages).
var langs = []language.Tag{language.English, language.Indonesian}

// newBundle loads the message catalogues (locales/en.json, locales/id.json). They are
// embedded, so an error is a programming error caught by every test.
func newBundle() *i18n.Bundle {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	files, err := fs.Glob(localeFS, "locales/*.json")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		data, err := localeFS.ReadFile(f)
		if err != nil {
			panic(err)
		}
		b.MustParseMessageFileBytes(data, f)
	}
	return b
}

// loc is one request's language and time zone: what the templates call to write text,
// dates and numbers (as $.L).
type loc struct {
	Lang string // "en" or "id"
	tr   *i18n.Localizer
	num  *message.Printer
	// Zone is where times are written; ZoneName its IANA name ("UTC" by default).
	Zone     *time.Location
	ZoneName string
	// keep are the parameters (lang, tz) that every link carries, when the reader chose them.
	keep url.Values
	path url.URL // the request's URL, for the language switch
}

// locale picks the request's language: ?lang= (en or id), else Accept-Language, else
// English; and its zone: ?tz= (an IANA name), else UTC.
func (h *dash) locale(r *http.Request) (*loc, error) {
	q := r.URL.Query()
	l := &loc{keep: url.Values{}, path: *r.URL, Zone: time.UTC, ZoneName: "UTC"}
	tag := language.English
	switch v := q.Get("lang"); v {
	case "en", "id":
		tag = language.MustParse(v)
		l.keep.Set("lang", v)
	default:
		tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
		_, i, conf := language.NewMatcher(langs).Match(tags...)
		if conf != language.No {
			tag = langs[i]
		}
	}
	base, _ := tag.Base()
	l.Lang = base.String()
	l.tr = i18n.NewLocalizer(h.bundle, l.Lang)
	l.num = message.NewPrinter(tag)
	if tz := q.Get("tz"); tz != "" {
		z, err := loadZone(tz)
		if err != nil {
			return l, err
		}
		l.Zone, l.ZoneName = z, tz
		l.keep.Set("tz", tz)
	}
	return l, nil
}

// loadZone reads a reader's zone: an IANA name such as Asia/Jakarta, or UTC.
func loadZone(name string) (*time.Location, error) {
	if name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, fmt.Errorf("tz: %q is not a time zone name such as Asia/Jakarta", name)
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("tz: %q is not a time zone name such as Asia/Jakarta", name)
	}
	return z, nil
}

// T translates a message; args are name, value pairs for the message's template.
func (l *loc) T(id string, args ...any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		data[fmt.Sprint(args[i])] = args[i+1]
	}
	s, err := l.tr.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id // a missing message shows its ID; TestCataloguesMatch keeps them complete
	}
	return s
}

// State is a state's or status's name in the language (accessible, blocked, compliant…).
func (l *loc) State(s any) string { return l.T("state." + fmt.Sprint(s)) }

// Num writes an integer with the language's grouping (1,234 or 1.234).
func (l *loc) Num(n any) string { return l.num.Sprintf("%d", n) }

// Dec writes a number with one decimal (12.5 or 12,5).
func (l *loc) Dec(f float64) string { return l.num.Sprintf("%.1f", f) }

// Month is a month's name, e.g. "July" or "Juli".
func (l *loc) Month(m time.Month) string { return l.T(fmt.Sprintf("month.%d", int(m))) }

// MonthShort is a month's short name, e.g. "Jul" or "Agu".
func (l *loc) MonthShort(m time.Month) string { return l.T(fmt.Sprintf("mon.%d", int(m))) }

// clock writes hours and minutes: 07:00 in English, 07.00 in Indonesian.
func (l *loc) clock(t time.Time) string {
	if l.Lang == "id" {
		return t.Format("15.04")
	}
	return t.Format("15:04")
}

// Date writes a day, e.g. "14 July 2017" or "14 Juli 2017", in the reader's zone.
func (l *loc) Date(t time.Time) string {
	t = t.In(l.Zone)
	return fmt.Sprintf("%d %s %d", t.Day(), l.Month(t.Month()), t.Year())
}

// zoneAbbr is how a zone is written after a time: WIB, UTC, or +0530.
func zoneAbbr(t time.Time) string {
	a := t.Format("MST")
	if a == "" || a[0] == '+' || a[0] == '-' {
		return "UTC" + t.Format("-07:00")
	}
	return a
}

// Time writes a time to the minute in the reader's zone, with UTC beside it when the zone
// is another: "14 Jul 2017 07:00 WIB (00:00 UTC)".
func (l *loc) Time(t time.Time) string { return l.timeIn(t, l.Zone, false) }

// TimeSec is Time to the second.
func (l *loc) TimeSec(t time.Time) string { return l.timeIn(t, l.Zone, true) }

// OptTime is Time of an optional time; nil is "—".
func (l *loc) OptTime(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return l.Time(*t)
}

func (l *loc) timeIn(t time.Time, z *time.Location, sec bool) string {
	lt := t.In(z)
	hm := l.clock(lt)
	if sec {
		hm += hm[2:3] + lt.Format("05") // the clock's separator
	}
	s := fmt.Sprintf("%d %s %d %s %s", lt.Day(), l.MonthShort(lt.Month()), lt.Year(), hm, zoneAbbr(lt))
	if _, off := lt.Zone(); off != 0 {
		u := t.UTC()
		day := ""
		if u.Day() != lt.Day() {
			day = fmt.Sprintf("%d %s ", u.Day(), l.MonthShort(u.Month()))
		}
		s += " (" + day + l.clock(u) + " UTC)"
	}
	return s
}

// In returns l writing times in zone z (an order's own zone).
func (l *loc) In(z *time.Location) *loc {
	c := *l
	c.Zone, c.ZoneName = z, z.String()
	return &c
}

// Order returns l writing times in the order's zone (its zone key, or the offset its
// effective time was written with).
func (l *loc) Order(o orders.Order) *loc { return l.In(o.Location()) }

// Href adds the reader's chosen language and zone to a dashboard link.
func (l *loc) Href(href string) string {
	if len(l.keep) == 0 {
		return href
	}
	u, err := url.Parse(href)
	if err != nil {
		return href
	}
	q := u.Query()
	for k, v := range l.keep {
		if q.Get(k) == "" {
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Switch is this page's URL in another language.
func (l *loc) Switch(lang string) string {
	u := l.path
	q := u.Query()
	q.Set("lang", lang)
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// Keep lists the chosen parameters, for hidden fields of GET forms.
func (l *loc) Keep() map[string]string {
	out := map[string]string{}
	for k := range l.keep {
		out[k] = l.keep.Get(k)
	}
	return out
}

// Dur writes a duration as "3d 4h" / "3 hari 4 jam"; negative durations get a minus.
func (l *loc) Dur(d time.Duration) string {
	if d < 0 {
		return "−" + l.Dur(-d)
	}
	days, h, m := int(d/(24*time.Hour)), int((d%(24*time.Hour))/time.Hour), int((d%time.Hour)/time.Minute)
	var parts []string
	add := func(n int, unit string) { parts = append(parts, l.T("unit."+unit, "N", n)) }
	switch {
	case days > 0:
		add(days, "d")
		if h > 0 {
			add(h, "h")
		}
	case h > 0:
		add(h, "h")
		if m > 0 {
			add(m, "m")
		}
	case m > 0:
		add(m, "m")
	default:
		add(int(d/time.Second), "s")
	}
	return strings.Join(parts, " ")
}

// Seconds writes a time in seconds (a time to effect) as Dur; nil is "—".
func (l *loc) Seconds(s *float64) string {
	if s == nil {
		return "—"
	}
	return l.Dur(time.Duration(math.Round(*s)) * time.Second)
}

// Percent writes a share (0..1) of n measurements; no measurements is "—".
func (l *loc) Percent(share float64, n int) string {
	if n == 0 {
		return "—"
	}
	return l.Dec(100*share) + "%"
}
