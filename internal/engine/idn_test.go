package engine

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/testdns"
)

// answerer returns the A address for a DNS name (without the final dot), or false for
// NXDOMAIN.
type answerer func(name string) (string, bool)

// dnsServer is a real DNS server on loopback that answers A questions with answer and
// records every question name it was asked.
type dnsServer struct {
	resolver dnsquery.Resolver
	mu       sync.Mutex
	asked    []string
}

func newDNSServer(t *testing.T, answer answerer) *dnsServer {
	t.Helper()
	s := &dnsServer{}
	server := testdns.Start(t, dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		s.mu.Lock()
		s.asked = append(s.asked, q.Name)
		s.mu.Unlock()
		addr, ok := answer(strings.TrimSuffix(q.Name, "."))
		switch {
		case !ok:
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeA:
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(addr)}}
		}
		_ = w.WriteMsg(m)
	}))
	var err error
	if s.resolver, err = dnsquery.ParseResolver(server); err != nil {
		t.Fatal(err)
	}
	s.resolver.System = true
	return s
}

// count returns how many times name (with the final dot) was asked.
func (s *dnsServer) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.asked {
		if q == name {
			n++
		}
	}
	return n
}

// names returns the question names asked so far, without duplicates.
func (s *dnsServer) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.asked)
	slices.Sort(out)
	return slices.Compact(out)
}

// TestMeasureIDN measures an internationalised name given in Unicode (upper case): the
// probe asks its resolver for the A-label form, fetches with that host, and follows a
// redirect to another internationalised host, whatever form its Location takes.
func TestMeasureIDN(t *testing.T) {
	const (
		yandex = "xn--d1acpjx3f.xn--p1ai" // яндекс.рф
		berita = "xn--brita-bsa.example"  // bérita.example
	)
	var port string
	var hostsMu sync.Mutex
	var hosts []string
	locations := map[string]string{
		"/raw":      "http://Bérita.Example:%s/news",
		"/escaped":  "http://b%%C3%%A9rita.example:%s/news",
		"/punycode": "http://" + berita + ":%s/news",
		"/invalid":  "http://aא.example:%s/news", // Bidi rule broken: not followed
	}
	port = itoa(serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hostsMu.Lock()
		hosts = append(hosts, r.Host)
		hostsMu.Unlock()
		if loc, ok := locations[r.URL.Path]; ok {
			redirectTo(w, strings.ReplaceAll(strings.ReplaceAll(loc, "%%", "%"), "%s", port), http.StatusFound)
			return
		}
		page("<title>Berita</title>news")(w, r)
	}), nil))
	srv := newDNSServer(t, func(name string) (string, bool) {
		return "127.0.0.1", name == yandex || name == berita
	})
	eng := New(Config{SystemResolvers: []dnsquery.Resolver{srv.resolver}, LabCIDRs: lab,
		Timeouts: Timeouts{DNS: 2 * time.Second, TCP: 2 * time.Second, HTTP: 5 * time.Second}}, nil)

	tests := []struct {
		path   string
		hops   int
		second string // URL of the second hop
	}{
		{path: "/raw", hops: 2, second: "http://" + berita + ":" + port + "/news"},
		{path: "/escaped", hops: 2, second: "http://" + berita + ":" + port + "/news"},
		{path: "/punycode", hops: 2, second: "http://" + berita + ":" + port + "/news"},
		{path: "/invalid", hops: 1},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			in := "http://ЯНДЕКС.РФ:" + port + tc.path
			tg, err := target.Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			m := eng.Measure(context.Background(), tg, nil)
			if m.Input != in || m.Target != "http://"+yandex+":"+port+tc.path || m.Domain != yandex {
				t.Errorf("input %q target %q domain %q, want %q, the A-label URL and %s", m.Input, m.Target, m.Domain, in, yandex)
			}
			if len(m.DNS) == 0 {
				t.Fatalf("no DNS question:\n%s", dump(m))
			}
			for _, q := range m.DNS {
				if q.Query != yandex || q.Failure != nil && q.QType == "A" {
					t.Errorf("DNS question %s %s failed %s, want %s answered", q.QType, q.Query, deref(q.Failure), yandex)
				}
			}
			if len(m.HTTP) != tc.hops || m.HTTP[0].Status != http.StatusFound {
				t.Fatalf("%d hops, want %d, the first a redirect:\n%s", len(m.HTTP), tc.hops, dump(m))
			}
			if tc.hops == 2 {
				last := m.HTTP[1]
				if last.URL != tc.second || last.Status != http.StatusOK || last.Title != "Berita" {
					t.Errorf("second hop %s %d %q, want %s 200 Berita", last.URL, last.Status, last.Title, tc.second)
				}
			}
			if err := m.Validate(time.Now()); err != nil {
				t.Errorf("measurement does not validate: %v", err)
			}
		})
	}
	// Only A-labels went out, to the resolver and in Host headers.
	if got, want := srv.names(), []string{berita + ".", yandex + "."}; !slices.Equal(got, want) {
		t.Errorf("DNS questions for %q, want %q", got, want)
	}
	hostsMu.Lock()
	defer hostsMu.Unlock()
	for _, h := range hosts {
		if h != yandex+":"+port && h != berita+":"+port {
			t.Errorf("HTTP request with Host %q, want an A-label host", h)
		}
	}
}
