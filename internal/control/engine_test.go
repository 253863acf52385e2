package control

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// TestEngineThroughHelper runs the real engine behind the handler: a probe's client asks
// the helper about a local web server; the lab range lets the helper measure loopback.
func TestEngineThroughHelper(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "<html><title>Local site</title>hello</html>")
	}))
	t.Cleanup(web.Close)
	host, portStr, _ := net.SplitHostPort(web.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)

	lab := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	timeouts := engine.Timeouts{DNS: 5 * time.Second, TCP: 10 * time.Second, TLS: 10 * time.Second, HTTP: 15 * time.Second, Target: 30 * time.Second}
	helperURL := func(lab []netip.Prefix) string {
		guard := Guard(lab)
		eng := engine.New(engine.Config{LabCIDRs: lab, DialGuard: guard, Timeouts: timeouts}, nil)
		return serve(t, NewHandler(eng, HandlerOptions{Guard: guard}, nil))
	}
	c, err := NewClient([]string{helperURL(lab)}, nil, 60*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	tg := mustTarget(t, web.URL)
	got := c.Control(context.Background(), tg, []string{"127.0.0.2"})
	if got.Failure != nil {
		t.Fatalf("failure %s, attempts %q", *got.Failure, attempts(got))
	}
	byIP := map[string]measurement.TCPConnect{}
	for _, c := range got.TCP {
		byIP[c.IP] = c
	}
	if c := byIP[host]; c.Port != port || c.Origin != measurement.OriginTarget || c.Failure != nil {
		t.Errorf("tcp to the target: %+v", c)
	}
	if c := byIP["127.0.0.2"]; c.Origin != measurement.OriginProbe || c.Failure == nil || *c.Failure != "connection_refused" {
		t.Errorf("tcp to the probe's address: %+v (all %+v)", c, got.TCP)
	}
	if len(got.HTTP) == 0 || got.HTTP[0].Status != 200 || got.HTTP[0].Title != "Local site" || got.HTTP[0].Failure != nil {
		t.Errorf("http: %+v", got.HTTP)
	}

	// Without the lab range, the handler refuses the loopback target outright.
	c, err = NewClient([]string{helperURL(nil)}, nil, 60*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	got = c.Control(context.Background(), tg, nil)
	if want := []string{c.helpers[0].name + " control_http_status_403"}; fmt.Sprint(attempts(got)) != fmt.Sprint(want) {
		t.Errorf("attempts %q, want %q", attempts(got), want)
	}
}

// TestEngineDialGuard checks the second line of defence: a handler without a Guard in
// front of an engine whose DialGuard refuses loopback records the refusal, no connect.
func TestEngineDialGuard(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	eng := engine.New(engine.Config{DialGuard: Guard(nil)}, nil)
	url := serve(t, NewHandler(eng, HandlerOptions{}, nil))
	c, err := NewClient([]string{url}, nil, 60*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Control(context.Background(), mustTarget(t, "tcp://"+ln.Addr().String()), nil)
	if got.Failure != nil || len(got.TCP) != 1 || got.TCP[0].Failure == nil || *got.TCP[0].Failure != "refused_private_address" {
		t.Errorf("failure %v tcp %+v", got.Failure, got.TCP)
	}
}
