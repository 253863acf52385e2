package web

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// needChromium returns the browser's path. When it is missing, it fails in CI (CI=true)
// and skips elsewhere, saying why; tests never install it: `make test` does, through
// scripts/apt-need.
func needChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return chromiumPath
	}
	msg := chromiumPath + " missing: the dashboard's browser tests need Debian's chromium package (make test installs it through scripts/apt-need)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser starts a headless Chromium with a throwaway profile and returns its context;
// each step of a test runs with its own timeout (run).
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(needChromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
		chromedp.Flag("force-device-scale-factor", "1"), // screenshot pixels are CSS pixels
		chromedp.Flag("disable-gpu", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	// The first call starts the browser; it has no timeout of its own, since the
	// context of the first call is the browser's lifetime.
	start := make(chan error, 1)
	go func() { start <- chromedp.Do(bctx) }()
	select {
	case err := <-start:
		if err != nil {
			t.Fatalf("starting chromium: %v", err)
		}
	case <-time.After(2 * time.Minute):
		cancelBrowser()
		t.Fatal("chromium did not start within 2 minutes")
	}
	return bctx
}

// run runs a step in the browser within a generous time limit.
func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	run(t, ctx, what, chromedp.Steps(steps...))
}

// keepScreenshot writes a screenshot to $PANTAU_SCREENSHOTS, when set, to look at.
func keepScreenshot(t *testing.T, name string, png []byte) {
	if dir := os.Getenv("PANTAU_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// cellBox is a heatmap cell as the browser laid it out, relative to the heatmap table.
type cellBox struct {
	Network, From, Class, State string
	X, Y, W, H                  float64
}

const cellsJS = `(() => {
  const t = document.querySelector('#heatmap').getBoundingClientRect();
  return Array.from(document.querySelectorAll('#heatmap tr[data-network]')).flatMap(tr =>
    Array.from(tr.querySelectorAll('a.cell')).map(a => {
      const r = a.getBoundingClientRect();
      return {Network: tr.dataset.network, From: a.dataset.from, Class: a.className.replace(/^cell /, ''), State: a.dataset.state,
        X: r.left - t.left, Y: r.top - t.top, W: r.width, H: r.height};
    }));
})()`

// State colours as the stylesheet gives them.
var (
	blockedRGB    = color.RGBA{0xD5, 0x5E, 0x00, 0xff}
	accessibleRGB = color.RGBA{0x00, 0x9E, 0x73, 0xff}
	stateRGBs     = map[string]color.RGBA{"blocked": blockedRGB, "accessible": accessibleRGB,
		"down": {0x00, 0x72, 0xB2, 0xff}, "inconclusive": {0xF0, 0xE4, 0x42, 0xff}, "unknown": {0x99, 0x99, 0x99, 0xff}}
)

func near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) bool { v := int(x>>8) - int(y); return v <= tol && v >= -tol }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

func TestBrowserHeatmap(t *testing.T) {
	ctx := browser(t)
	srv, _ := serveStack(t, "")

	do(t, ctx, "heatmap", chromedp.Navigate(heatmapURL(srv.URL)), chromedp.WaitVisible(chromedp.CSS("#heatmap")))
	boxes := run(t, ctx, "cells", chromedp.Evaluate[[]cellBox](cellsJS))
	bg := run(t, ctx, "colour", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('#heatmap a.cell.s-blocked')).backgroundColor`))
	shot := run(t, ctx, "screenshot", chromedp.Screenshot(chromedp.CSS("#heatmap")))
	keepScreenshot(t, "heatmap.png", shot)
	keepScreenshot(t, "page.png", run(t, ctx, "page", chromedp.Screenshot(chromedp.CSS("body"))))

	var got []string
	for _, b := range boxes {
		got = append(got, b.Network+" "+b.From[:10]+": "+b.Class)
	}
	if strings.Join(got, "\n") != strings.Join(wantCells, "\n") {
		t.Errorf("cells in the browser:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantCells, "\n"))
	}
	if bg != "rgb(213, 94, 0)" {
		t.Errorf("a blocked cell's background is %s; want rgb(213, 94, 0)", bg)
	}
	checkScreenshot(t, shot, boxes)

	// A cell leads to the measurements behind it.
	do(t, ctx, "click a cell",
		chromedp.Click(chromedp.CSS(`tr[data-network="Telkomsel"] a.cell[data-from="2017-07-14T00:00:00Z"]`)),
		chromedp.WaitVisible(chromedp.CSS("#measurements")))
	keepScreenshot(t, "cell.png", run(t, ctx, "page", chromedp.Screenshot(chromedp.CSS("body"))))
	heading := run(t, ctx, "heading", chromedp.Text(chromedp.CSS("h1")))
	rows := run(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll('#measurements tbody tr').length`))
	evidence := run(t, ctx, "evidence", chromedp.AttributeValue(chromedp.CSS("#evidence"), "href")).Value
	if heading != "t.me on Telkomsel" || rows != 48 {
		t.Errorf("cell page %q with %d measurements; want t.me on Telkomsel with 48 (a day of two hourly probes)", heading, rows)
	}
	if evidence != "/api/v1/evidence?at=2017-07-14T12%3A00%3A00Z&domain=t.me&network=Telkomsel" {
		t.Errorf("evidence link %q", evidence)
	}
}

// checkScreenshot checks the heatmap as drawn: blocked and accessible cells show their
// colours, and gap cells show no state's colour but a hatch.
func checkScreenshot(t *testing.T, shot []byte, boxes []cellBox) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	count := func(r image.Rectangle, ok func(color.Color) bool) (n int) {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if ok(img.At(x, y)) {
					n++
				}
			}
		}
		return n
	}
	b := img.Bounds()
	if n := count(b, func(c color.Color) bool { return near(c, blockedRGB, 2) }); n == 0 {
		t.Error("no pixel of the blocked colour in the heatmap")
	}
	if n := count(b, func(c color.Color) bool { return near(c, accessibleRGB, 2) }); n == 0 {
		t.Error("no pixel of the accessible colour in the heatmap")
	}
	gaps := 0
	for _, c := range boxes {
		// The cell's inside, a pixel away from its edges.
		r := image.Rect(int(c.X)+1, int(c.Y)+1, int(c.X+c.W)-1, int(c.Y+c.H)-1).Intersect(b)
		if r.Empty() {
			t.Fatalf("cell %s %s at %v is outside the %v screenshot", c.Network, c.From, r, b)
		}
		switch c.State {
		case "gap":
			gaps++
			for s, rgb := range stateRGBs {
				if n := count(r, func(px color.Color) bool { return near(px, rgb, 40) }); n > 0 {
					t.Errorf("gap cell %s %s has %d pixels of the %s colour", c.Network, c.From, n, s)
				}
			}
			white := count(r, func(px color.Color) bool { return near(px, color.RGBA{255, 255, 255, 255}, 3) })
			hatch := count(r, func(px color.Color) bool { return near(px, color.RGBA{0xd9, 0xd9, 0xd9, 255}, 12) })
			if white == 0 || hatch == 0 {
				t.Errorf("gap cell %s %s: %d white and %d hatch pixels; want both", c.Network, c.From, white, hatch)
			}
		case "blocked", "accessible":
			mid := img.At(int(c.X+c.W/2), int(c.Y+c.H/3))
			if !near(mid, stateRGBs[c.State], 2) {
				t.Errorf("%s cell %s %s is drawn %v", c.State, c.Network, c.From, mid)
			}
		}
	}
	if gaps != 2 {
		t.Errorf("%d gap cells; want 2", gaps)
	}
}

func TestBrowserOrdersAndAdmin(t *testing.T) {
	ctx := browser(t)
	srv, _ := serveStack(t, adminToken)

	do(t, ctx, "orders", chromedp.Navigate(srv.URL+"/orders"),
		chromedp.WaitVisible(chromedp.CSS("#orders")),
		chromedp.Click(chromedp.CSS(`a[href="/orders/test-block"]`)),
		chromedp.WaitVisible(chromedp.CSS("#compliance")))
	keepScreenshot(t, "order.png", run(t, ctx, "page", chromedp.Screenshot(chromedp.CSS("body"))))
	overall := run(t, ctx, "overall", chromedp.Text(chromedp.CSS("#overall")))
	networks := run(t, ctx, "networks", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#compliance tbody')).map(b =>
		b.dataset.network + ': ' + b.querySelector('.net-row .badge').textContent)`))
	if overall != "non-compliant" || strings.Join(networks, "; ") != "Indosat Ooredoo: non-compliant; Telkomsel: compliant" {
		t.Errorf("compliance: overall %q, networks %q", overall, networks)
	}

	// Log in and upload an order through the forms (the cookie is SameSite=Strict, the
	// upload carries the session's form token).
	do(t, ctx, "log in", chromedp.Navigate(srv.URL+"/admin/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), adminToken),
		chromedp.Submit(chromedp.CSS(`input[name="token"]`)),
		chromedp.WaitVisible(chromedp.CSS(`textarea[name="yaml"]`)),
		chromedp.SetValue(chromedp.CSS(`textarea[name="yaml"]`), badOrderYAML),
		chromedp.Submit(chromedp.CSS(`textarea[name="yaml"]`)),
		chromedp.WaitVisible(chromedp.CSS("#error")))
	refused := run(t, ctx, "error", chromedp.Text(chromedp.CSS("#error")))
	do(t, ctx, "upload", chromedp.SetValue(chromedp.CSS(`textarea[name="yaml"]`), strings.Replace(testOrderYAML, "id: test-block", "id: lift-2", 1)),
		chromedp.Submit(chromedp.CSS(`textarea[name="yaml"]`)),
		chromedp.WaitVisible(chromedp.CSS("#stored")))
	stored := run(t, ctx, "stored", chromedp.Text(chromedp.CSS("#stored")))
	if refused != `upload.yaml:6: expect: "blockd": want blocked or accessible` || !strings.HasPrefix(stored, "Stored order lift-2") {
		t.Errorf("upload: refused %q, stored %q", refused, stored)
	}
}
