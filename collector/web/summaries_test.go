package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
)

// countingData counts the compliance reports asked of a Data.
type countingData struct {
	Data
	n atomic.Int32
}

func (c *countingData) Compliance(ctx context.Context, id string, at time.Time) (orders.Report, error) {
	c.n.Add(1)
	return c.Data.Compliance(ctx, id, at)
}

// TestHeatmapReusesOrderReports: the views of a heatmap within a minute share the
// compliance report behind its order line, taken at the start of the minute; a minute
// later it is made again, and after an order upload (forget) too.
func TestHeatmapReusesOrderReports(t *testing.T) {
	s := newStack(t)
	d := &countingData{Data: s.svc}
	var now atomic.Int64
	now.Store(testNow.Add(30 * time.Second).UnixNano())
	h := newDash(d, s.st, adminToken, quiet(), func() time.Time { return time.Unix(0, now.Load()).UTC() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	view := func(path string) string {
		t.Helper()
		code, body := get(t, client(t), srv.URL+path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, code)
		}
		return body
	}
	body := view("/?domain=t.me")
	mustContain(t, body, `<p class="summary" data-order="test-block">`, `(as of 20 Jul 2017 00:00 UTC)`)
	orders := d.n.Load() // a report per order naming t.me
	if orders < 1 {
		t.Fatal("no compliance report for the heatmap's order lines")
	}
	view("/?domain=t.me")
	view("/heatmap.json?domain=t.me")
	if n := d.n.Load(); n != orders {
		t.Errorf("%d compliance reports for three views in a minute, want %d (one per order)", n, orders)
	}
	now.Add(int64(time.Minute))
	view("/?domain=t.me")
	if n := d.n.Load(); n != 2*orders {
		t.Errorf("%d compliance reports after a minute, want %d", n, 2*orders)
	}
	c := client(t)
	login(t, c, srv.URL, adminToken)
	if code, body := upload(t, c, srv.URL, csrfOf(t, c, srv.URL), testOrderYAML, nil); code >= 500 {
		t.Fatalf("upload: %d\n%s", code, body)
	}
	view("/?domain=t.me")
	if n := d.n.Load(); n != 3*orders {
		t.Errorf("%d compliance reports after an upload, want %d", n, 3*orders)
	}
}
