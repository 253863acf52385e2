package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserProbes uses the Probes page's form in Chromium: filtering by state keeps the
// silent probe only, whose badge has the blocked colour.
func TestBrowserProbes(t *testing.T) {
	ctx := browser(t)
	base := serveProbes(t, probesFleet(true))
	do(t, ctx, "probes", chromedp.Navigate(base+"/probes"), chromedp.WaitVisible(chromedp.CSS("#probes")))
	if n := run(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll('#probes tbody tr').length`)); n != 3 {
		t.Fatalf("%d rows, want 3", n)
	}
	do(t, ctx, "filter", chromedp.SetValue(chromedp.CSS(`select[name="state"]`), "silent"),
		chromedp.Submit(chromedp.CSS(`select[name="state"]`)), chromedp.WaitVisible(chromedp.CSS(`#probes tr[data-state="silent"]`)))
	rows := run(t, ctx, "rows", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#probes tbody tr')).map(r => r.cells[0].textContent)`))
	if strings.Join(rows, ",") != "sby-02" {
		t.Fatalf("rows after filtering: %q", rows)
	}
	badge := run(t, ctx, "badge", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.badge.p-silent')).backgroundColor`))
	blocked := run(t, ctx, "blocked", chromedp.Evaluate[string](`getComputedStyle(document.documentElement).getPropertyValue('--blocked')`))
	if badge == "" || badge == "rgba(0, 0, 0, 0)" || strings.TrimSpace(blocked) == "" {
		t.Fatalf("silent badge background %q (--blocked %q)", badge, blocked)
	}
	keepScreenshot(t, "probes.png", run(t, ctx, "page", chromedp.Screenshot(chromedp.CSS("body"))))
}
