package fingerprint

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// fullSet is the builtin file plus two files in OONI's format, as an operator would
// configure it.
func fullSet(t testing.TB) *Set {
	t.Helper()
	return NewSet(Builtin(), mustLoad(t, fixtureDNS), mustLoad(t, fixtureHTTP))
}

// summary renders matches as "name@where" for comparison.
func summary(ms []measurement.FingerprintMatch) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name+"@"+m.Where)
	}
	return out
}

func TestMatchDNS(t *testing.T) {
	s := fullSet(t)
	extra := NewSet([]Fingerprint{mustOne(t, "x.v6,nat,,dns,full,2001:DB8:0::1,5,,test,,")},
		mustLoad(t, "testdata/good.csv"))
	tests := []struct {
		name string
		set  *Set
		q    measurement.DNSQuery
		want []string
	}{
		{
			name: "A answer",
			set:  s,
			q: measurement.DNSQuery{Resolver: "udp://10.0.0.1:53", QType: "A", Answers: []measurement.DNSAnswer{
				{Name: "reddit.com.", Type: "A", Data: "36.86.63.185"}}},
			want: []string{
				"pantau.id_dns_telkom_uzone@dns udp://10.0.0.1:53 A answer 36.86.63.185",
				"fx.id_dns_uzone@dns udp://10.0.0.1:53 A answer 36.86.63.185",
				"fx.id_dns_uzone_2@dns udp://10.0.0.1:53 A answer 36.86.63.185",
			},
		},
		{
			name: "CNAME target, case and trailing dot ignored",
			set:  s,
			q: measurement.DNSQuery{Resolver: "udp://10.0.0.1:53", QType: "A", Answers: []measurement.DNSAnswer{
				{Name: "binance.com.", Type: "CNAME", Data: "TrustPositif.Kominfo.go.id."},
				{Name: "trustpositif.kominfo.go.id.", Type: "A", Data: "27.54.116.70"}}},
			want: []string{
				"pantau.id_dns_kominfo_trustpositif_cname@dns udp://10.0.0.1:53 A answer TrustPositif.Kominfo.go.id.",
				"fx.id_dns_trustpositif@dns udp://10.0.0.1:53 A answer TrustPositif.Kominfo.go.id.",
				"pantau.id_dns_kominfo_trustpositif_ip@dns udp://10.0.0.1:53 A answer 27.54.116.70",
				"fx.id_dns_trustpositif_ip@dns udp://10.0.0.1:53 A answer 27.54.116.70",
			},
		},
		{
			name: "late reply of an injector",
			set:  s,
			q: measurement.DNSQuery{Resolver: "udp://10.0.0.1:53", QType: "A",
				Answers: []measurement.DNSAnswer{{Type: "A", Data: "93.184.216.34"}},
				LateReplies: []measurement.DNSReply{
					{Rcode: "NOERROR", Answers: []measurement.DNSAnswer{{Type: "A", Data: "93.184.216.34"}}},
					{Rcode: "NOERROR", Answers: []measurement.DNSAnswer{{Type: "A", Data: "103.88.170.170"}}}}},
			want: []string{
				"pantau.id_dns_govt_103_88_170_170@dns udp://10.0.0.1:53 A late[2] answer 103.88.170.170",
				"fx.id_dns_govt@dns udp://10.0.0.1:53 A late[2] answer 103.88.170.170",
			},
		},
		{
			name: "IPv4-mapped pattern, plain answer",
			set:  s,
			q: measurement.DNSQuery{Resolver: "udp://10.0.0.1:53", QType: "A", Answers: []measurement.DNSAnswer{
				{Type: "A", Data: "192.0.2.7"}}},
			want: []string{"fx.xx_dns_mapped@dns udp://10.0.0.1:53 A answer 192.0.2.7"},
		},
		{
			name: "other record types and clean answers do not match",
			set:  s,
			q: measurement.DNSQuery{Resolver: "udp://10.0.0.1:53", QType: "A", Answers: []measurement.DNSAnswer{
				{Type: "TXT", Data: "36.86.63.185"}, {Type: "A", Data: "1.1.1.1"}}},
		},
		{
			name: "IPv6 in another spelling",
			set:  extra,
			q: measurement.DNSQuery{Resolver: "https://dns.example/dns-query", QType: "AAAA", Answers: []measurement.DNSAnswer{
				{Type: "AAAA", Data: "2001:db8::1"}}},
			want: []string{"x.v6@dns https://dns.example/dns-query AAAA answer 2001:db8::1"},
		},
		{
			name: "regexp on the normalised name",
			set:  extra,
			q: measurement.DNSQuery{Resolver: "udp://10.0.0.1:53", QType: "A", Answers: []measurement.DNSAnswer{
				{Type: "CNAME", Data: "Blocked.ISP.example."}}},
			want: []string{"x.re@dns udp://10.0.0.1:53 A answer Blocked.ISP.example."},
		},
		{
			name: "nil set",
			q: measurement.DNSQuery{Resolver: "udp://10.0.0.1:53", QType: "A", Answers: []measurement.DNSAnswer{
				{Type: "A", Data: "36.86.63.185"}}},
		},
	}
	for _, tc := range tests {
		got := summary(tc.set.MatchDNS(tc.q))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestMatchHTTP(t *testing.T) {
	s := fullSet(t)
	tests := []struct {
		name   string
		header http.Header
		title  string
		body   string
		want   []string
	}{
		{
			name:   "Location prefix",
			header: http.Header{"Location": {"http://lamanlabuh.aduankonten.id/"}},
			want: []string{
				`pantau.id_loc_kominfo_lamanlabuh@http[0] header.location "http://lamanlabuh.aduankonten.id/"`,
				`fx.id_lamanlabuh@http[0] header.location "http://lamanlabuh.aduankonten.id/"`,
			},
		},
		{
			name: "body string",
			body: "<html><body>Laporkan ke aduankonten@kominfo.go.id</body></html>",
			want: []string{"pantau.id_body_kominfo_aduankonten@http[0] body", "fx.id_kominfo_mail@http[0] body"},
		},
		{
			name:  "title",
			title: "Internet Positif",
			want:  []string{`pantau.id_title_internet_positif@http[0] title "Internet Positif"`},
		},
		{
			name:   "header.server prefix, any header spelling",
			header: http.Header{"Server": {"Protected by BlockWall 8000 (x86)"}},
			want:   []string{`fx.xx_server@http[0] header.server "Protected by BlockWall 8000 (x86)"`},
		},
		{
			name:   "several locations in one reply, in set order",
			header: http.Header{"Location": {"http://internetpositif.uzone.id/?u=x"}},
			title:  "Internet Positif",
			body:   `<title>Internet Positif</title><script>window.location.replace("http://internetpositif.uzone.id/page")</script>`,
			want: []string{
				`pantau.id_loc_telkom_uzone@http[0] header.location "http://internetpositif.uzone.id/?u=x"`,
				`pantau.id_title_internet_positif@http[0] title "Internet Positif"`,
				"pantau.id_body_internet_positif_title@http[0] body",
				"pantau.id_body_telkom_uzone@http[0] body",
				"fx.id_uzone_loc@http[0] header.location \"http://internetpositif.uzone.id/?u=x\"",
				"fx.id_uzone_body@http[0] body",
				"fx.id_uzone_loc_contains@http[0] header.location \"http://internetpositif.uzone.id/?u=x\"",
				"fx.id_uzone_replace@http[0] body",
				"fx.id_positif_title@http[0] body",
			},
		},
		{
			name:   "full header value, several headers",
			header: http.Header{"Via": {"1.1 filter.example (BlockWall)"}, "Location": {"http://block.example.net/", "http://block.example.net/x"}},
			want: []string{
				`fx.xx_via@http[0] header.via "1.1 filter.example (BlockWall)"`,
				`fx.xx_location_full@http[0] header.location "http://block.example.net/"`,
			},
		},
		{
			name: "pattern ending in a line break, pattern led by a space",
			body: "<html><head><title>Access Restricted</title>\n</head><body> <title>Blocked by Policy</title></body></html>",
			want: []string{"fx.xx_multi_line@http[0] body", "fx.xx_leading_space@http[0] body"},
		},
		{
			name: "pattern without its line break or its space",
			body: "<title>Access Restricted</title></head><title>Blocked by Policy</title>",
		},
		{
			name:   "matching is case-sensitive, except the host of a redirect",
			header: http.Header{"Location": {"HTTP://LAMANLABUH.ADUANKONTEN.ID/"}},
			title:  "internet positif",
			body:   "ADUANKONTEN@KOMINFO.GO.ID",
			want: []string{
				`pantau.id_loc_kominfo_lamanlabuh@http[0] header.location "HTTP://LAMANLABUH.ADUANKONTEN.ID/"`,
				`fx.id_lamanlabuh@http[0] header.location "HTTP://LAMANLABUH.ADUANKONTEN.ID/"`,
			},
		},
		{
			name:   "an OONI URL prefix matches the host over https and with www., not a look-alike",
			header: http.Header{"Location": {"https://www.internetpositif.uzone.id/", "http://lamanlabuh.aduankonten.id.example/"}},
			want: []string{
				`pantau.id_loc_telkom_uzone@http[0] header.location "https://www.internetpositif.uzone.id/"`,
				`fx.id_uzone_loc@http[0] header.location "https://www.internetpositif.uzone.id/"`,
				`fx.id_uzone_loc_contains@http[0] header.location "https://www.internetpositif.uzone.id/"`,
			},
		},
		{
			name:   "ordinary page",
			header: http.Header{"Server": {"nginx"}, "Content-Type": {"text/html"}},
			title:  "Example Domain",
			body:   "<html><head><title>Example Domain</title></head><body><p>This domain is for use in examples.</p></body></html>",
		},
	}
	for _, tc := range tests {
		got := summary(s.MatchHTTP("http[0]", 200, tc.header, tc.title, []byte(tc.body)))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	var nilSet *Set
	if got := nilSet.MatchHTTP("http[0]", 200, http.Header{"Location": {"http://lamanlabuh.aduankonten.id/"}}, "", nil); got != nil {
		t.Errorf("nil set matched %v", got)
	}
}

func TestMatchHTTPOrderAndFields(t *testing.T) {
	s := NewSet(mustLoad(t, "testdata/good.csv"), Builtin(), Builtin())
	if got, want := s.Len(), 2+len(Builtin()); got != want {
		t.Errorf("Len() = %d, want %d (duplicates kept once)", got, want)
	}
	ms := s.MatchHTTP("", 302, http.Header{"Server": {"BlockBox/2"}, "Location": {"http://restricted.tri.co.id/x"}}, "", []byte("see restricted.tri.co.id/"))
	got := summary(ms)
	want := []string{`x.srv@header.server "BlockBox/2"`, `pantau.id_loc_tri@header.location "http://restricted.tri.co.id/x"`, "pantau.id_body_tri@body"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	m := ms[1]
	if m.Scope != "isp" || m.Location != "header.location" || m.PatternType != "host" || m.Pattern != "restricted.tri.co.id" || m.Confidence != 10 {
		t.Errorf("match fields = %+v", m)
	}
	if (*Set)(nil).Len() != 0 || NewSet().MatchHTTP("", 200, nil, "t", []byte("b")) != nil {
		t.Errorf("empty sets must match nothing")
	}
}

func mustLoad(t testing.TB, path string) []Fingerprint {
	t.Helper()
	fps, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fps
}

func mustOne(t testing.TB, row string) Fingerprint {
	t.Helper()
	fps, err := Load(strings.NewReader(strings.Join(columns, ",")+"\n"+row+"\n"), "row")
	if err != nil || len(fps) != 1 {
		t.Fatalf("row %q: %v", row, err)
	}
	return fps[0]
}

func TestRequiredLiterals(t *testing.T) {
	tests := []struct {
		re   string
		want []string
		bad  bool
	}{
		{re: `URL .* Sp.*er Gate`, want: []string{"URL ", " Sp", "er Gate"}},
		{re: `You don.t have permission`, want: []string{"You don", "t have permission"}},
		{re: `U\.S\..*Command`, want: []string{"U.S.", "Command"}},
		{re: "\uFFFD.*\uFFFD", bad: true},
		{re: `(?i)blocked.*page`},
		{re: `a|bc`},
		{re: `(blocked) by (the firewall)`, want: []string{"blocked", " by ", "the firewall"}},
	}
	for _, tc := range tests {
		lits, bad := requiredLiterals(regexp.MustCompile(tc.re))
		if !slices.Equal(lits, tc.want) || bad != tc.bad {
			t.Errorf("%q: got %q %v, want %q %v", tc.re, lits, bad, tc.want, tc.bad)
		}
	}
}

func TestMatchHTTPRegexp(t *testing.T) {
	s := NewSet(mustLoad(t, fixtureHTTP))
	tests := []struct {
		body string
		want []string
	}{
		{body: "<p>Request http://x/ denied by FilterGate</p>", want: []string{"fx.xx_gate_re@body"}},
		{body: "<p>Request http://x/ denied by Filter</p>"},
		{body: "caf\uFFFD and cr\uFFFDme", want: []string{"fx.fp_replacement_re@body"}},
		{body: "caf\xe9 and cr\xe8me", want: []string{"fx.fp_replacement_re@body"}}, // Latin-1 bytes are not UTF-8
		{body: "café and crème"},
		{body: "<meta name=\"twitter:card\" content=\"summary\">", want: []string{"fx.fp_twitter_re@body"}},
		{body: "<meta name=\"description\">\n<meta property=\"twitter:card\">"}, // . does not match \n
	}
	for _, tc := range tests {
		if got := summary(s.MatchHTTP("", 200, nil, "", []byte(tc.body))); !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestSetConcurrent(t *testing.T) {
	s := fullSet(t)
	body := page(32 << 10)
	body = append(body, "aduankonten@kominfo.go.id"...)
	q := measurement.DNSQuery{Resolver: "udp://10.0.0.1:53", QType: "A", Answers: []measurement.DNSAnswer{{Type: "A", Data: "36.86.63.185"}}}
	errs := make(chan string, 8)
	for range 8 {
		go func() {
			for range 20 {
				if got := s.MatchHTTP("", 200, nil, "", body); len(got) != 2 {
					errs <- fmt.Sprintf("MatchHTTP: %q", summary(got))
					return
				}
				if got := s.MatchDNS(q); len(got) != 3 {
					errs <- fmt.Sprintf("MatchDNS: %q", summary(got))
					return
				}
			}
			errs <- ""
		}()
	}
	for range 8 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
