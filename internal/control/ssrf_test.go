package control

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/testdns"
)

// dnsZone serves AAAA answers from name → address on a real DNS server on loopback;
// other names get NXDOMAIN, other types no answer.
func dnsZone(t *testing.T, aaaa map[string]string) dnsquery.Resolver {
	t.Helper()
	r, err := dnsquery.ParseResolver(testdns.Start(t, testdns.Names(aaaa)))
	if err != nil {
		t.Fatal(err)
	}
	r.System = true
	return r
}

// TestGuardRefusesNAT64 asks a helper (real engine, real DNS) about the cloud metadata
// address in its NAT64 and other IPv4-embedding forms: as a target, as a probe address
// and as what a name resolves to. Nothing is dialled.
func TestGuardRefusesNAT64(t *testing.T) {
	r := dnsZone(t, map[string]string{"metadata.test": "64:ff9b::a9fe:a9fe", "compat.test": "::a9fe:a9fe"})
	guard := Guard(nil)
	timeouts := engine.Timeouts{DNS: 5 * time.Second, TCP: 5 * time.Second, TLS: 5 * time.Second, HTTP: 5 * time.Second, Target: 20 * time.Second}
	eng := engine.New(engine.Config{SystemResolvers: []dnsquery.Resolver{r}, DialGuard: guard, Timeouts: timeouts}, nil)
	url := serve(t, NewHandler(eng, HandlerOptions{Guard: guard}, nil))

	for _, target := range []string{"64:ff9b::a9fe:a9fe", "64:ff9b::169.254.169.254", "64:ff9b::a00:1", "64:ff9b::7f00:1", "::a9fe:a9fe", "::ffff:a9fe:a9fe", "2002:a9fe:a9fe::1"} {
		res := mustPost(t, url, `{"target":"http://[`+target+`]/"}`)
		want := "target: " + netip.MustParseAddr(target).String() + " is a private or reserved address; not measured"
		if res.status != 403 || res.err != want {
			t.Errorf("target %s: got %d %q, want 403 %q", target, res.status, res.err, want)
		}
	}

	res := mustPost(t, url, `{"target":"http://metadata.test/","addrs":["64:ff9b::a9fe:a9fe","::ffff:169.254.169.254","64:ff9b::10.0.0.1"]}`)
	if res.status != 200 {
		t.Fatalf("metadata.test: %d %q", res.status, res.err)
	}
	wantRefused := []string{
		"addrs[0]: 64:ff9b::a9fe:a9fe is a private or reserved address; not measured",
		"addrs[1]: 169.254.169.254 is a private or reserved address; not measured",
		"addrs[2]: 64:ff9b::a00:1 is a private or reserved address; not measured",
	}
	if strings.Join(res.resp.Refused, "\n") != strings.Join(wantRefused, "\n") {
		t.Errorf("refused %q, want %q", res.resp.Refused, wantRefused)
	}
	for _, name := range []string{"metadata.test", "compat.test"} {
		res := mustPost(t, url, `{"target":"http://`+name+`/"}`)
		if res.status != 200 {
			t.Fatalf("%s: %d %q", name, res.status, res.err)
		}
		if len(res.resp.TCP) == 0 {
			t.Errorf("%s: no connect recorded: %+v", name, res.resp.Observations)
		}
		for _, c := range res.resp.TCP {
			if f := attemptFailure(c.Failure); f != "refused_private_address" {
				t.Errorf("%s: connect to %s: failure %q, want refused_private_address", name, c.IP, f)
			}
		}
		for _, h := range res.resp.HTTP {
			if h.Failure == nil {
				t.Errorf("%s: fetched %+v", name, h)
			}
		}
	}
}

func attemptFailure(f *string) string {
	if f == nil {
		return "none"
	}
	return *f
}
