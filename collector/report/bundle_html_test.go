package report

import (
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// TestReportHTML: the printable page shows lateness, reasons and the times of an order
// in its IANA zone with UTC beside; text from the order is escaped.
func TestReportHTML(t *testing.T) {
	late := 26.5 * 3600
	effect := time.Date(2017, 7, 16, 19, 30, 0, 0, time.UTC)
	o := orders.Order{ID: "x", Title: "Block <b>", Authority: "A & B", Reference: "R", Expect: timeline.Blocked,
		Effective: time.Date(2017, 7, 14, 0, 0, 0, 0, time.UTC), Grace: 24 * time.Hour, Zone: "Asia/Makassar",
		Domains: []string{"t.me"}, Networks: []string{"N1", "N2"}}
	rep := orders.Report{Order: o, At: time.Date(2017, 7, 20, 0, 0, 0, 0, time.UTC), Status: orders.Unknown, Networks: []orders.NetworkReport{
		{Network: "N1", Status: orders.Compliant, LateByS: &late, Late: orders.LateText(time.Duration(late) * time.Second),
			Domains: []orders.DomainReport{{Domain: "t.me", Status: orders.Compliant, Effect: &effect, LateByS: &late, Late: "1 d 2 h after the grace period ended"}}},
		{Network: "N2", Status: orders.Unknown, Reason: orders.NotMeasured, ReasonText: orders.NotMeasured.Text(),
			Domains: []orders.DomainReport{{Domain: "t.me", Status: orders.Unknown, Reason: orders.NotMeasured, ReasonText: orders.NotMeasured.Text()}}},
	}}
	rep.SetAsOf(rep.At.Add(time.Hour))
	b, err := reportHTML(rep, BundleIndexFile{}, rep.At.Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{
		"Block &lt;b&gt;", "A &amp; B", "<strong>Asia/Makassar</strong>",
		"2017-07-14 08:00:00 WITA (2017-07-14 00:00:00 UTC)", // effective
		"2017-07-17 03:30:00 WITA (2017-07-16 19:30:00 UTC)", // the domain's effect
		"historical: as of 2017-07-20 08:00:00 WITA (2017-07-20 00:00:00 UTC)",
		"Complied 1 d 2 h after the grace period ended.", "Unknown: not measured since the order took effect.",
		"<strong>unsigned</strong>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
