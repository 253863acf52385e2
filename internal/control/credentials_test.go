package control

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	collectorToken = "probe-collector-token"
	helperToken    = "helper-token-0123456789"
)

// requireBearer answers 401 unless the request carries "Bearer tok", as the collector
// does in front of its /api/v1/control.
func requireBearer(tok string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+tok {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestClientScopesCollectorToken runs a collector that serves the control API behind
// probe authentication and a helper on another origin (same host, other port): the
// helper sees the helper token and never the collector's; the collector sees its own.
func TestClientScopesCollectorToken(t *testing.T) {
	collector := &recorder{h: requireBearer(collectorToken, NewHandler(&observer{}, HandlerOptions{}, nil))}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/control", collector)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	collectorControl := srv.URL + "/api/v1/control"
	for _, tc := range []struct {
		name       string
		opts       []ClientOption
		helperAuth string
	}{
		{"with a helper token", []ClientOption{WithToken(helperToken), WithCollector(srv.URL, collectorToken)}, "Bearer " + helperToken},
		{"without a helper token", []ClientOption{WithCollector(srv.URL+"/", collectorToken)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other, otherURL := start(t, status(http.StatusInternalServerError))
			c, err := NewClient([]string{otherURL, collectorControl}, nil, 10*time.Second, nil, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			before, _ := collector.requests()
			got := c.Control(context.Background(), mustTarget(t, "example.org"), nil)
			if want := []string{otherURL + " control_http_status_500", collectorControl + " ok"}; !reflect.DeepEqual(attempts(got), want) {
				t.Errorf("attempts %q, want %q", attempts(got), want)
			}
			if auth, _ := other.requests(); !reflect.DeepEqual(auth, []string{tc.helperAuth}) {
				t.Errorf("the other helper got Authorization %q, want %q", auth, tc.helperAuth)
			}
			if auth, _ := collector.requests(); !reflect.DeepEqual(auth[len(before):], []string{"Bearer " + collectorToken}) {
				t.Errorf("the collector got Authorization %q, want the collector token", auth[len(before):])
			}
		})
	}
}

// TestClientCredentialPerHelper is the table of who gets which credential, for hostile
// and look-alike helper URLs.
func TestClientCredentialPerHelper(t *testing.T) {
	const coll, helper = "Bearer " + collectorToken, "Bearer " + helperToken
	tests := []struct {
		url        string
		collector  string // WithCollector base URL; "" for none
		helperTok  bool
		plain      bool
		want       string
		warnWithld bool // a warning says the token was withheld
	}{
		{"https://collector.example.org/api/v1/control", "https://collector.example.org", true, false, coll, false},
		{"https://COLLECTOR.example.org.:443/api/v1/control", "https://collector.example.org/", true, false, coll, false},
		{"https://collector.example.org/api/v1/control", "https://collector.example.org:443/base/", false, false, coll, false},
		{"http://collector.example.org/api/v1/control", "http://collector.example.org", true, false, coll, false},
		{"http://collector.example.org/api/v1/control", "https://collector.example.org", true, false, "", true},
		{"http://collector.example.org/api/v1/control", "https://collector.example.org", true, true, helper, false},
		{"https://collector.example.org:8443/api/v1/control", "https://collector.example.org", true, false, helper, false},
		{"https://collector.example.org:8443/api/v1/control", "https://collector.example.org", false, false, "", false},
		{"https://collector.example.org.evil.example/api/v1/control", "https://collector.example.org", true, false, helper, false},
		{"https://collector.example.org@evil.example/api/v1/control", "https://collector.example.org", true, false, helper, false},
		{"https://evil.example/api/v1/control?collector.example.org", "https://collector.example.org", true, false, helper, false},
		{"https://[::1]/api/v1/control", "https://[0:0::1]:443", true, false, coll, false},
		{"https://127.0.0.1/api/v1/control", "https://[::ffff:127.0.0.1]", true, false, coll, false},
		{"https://helper.example.org/api/v1/control", "", true, false, helper, false},
		{"http://helper.example.org/api/v1/control", "", true, false, "", true},
		{"http://helper.example.org:9090/api/v1/control", "", true, true, helper, false},
		{"http://10.77.0.2:9090/api/v1/control", "", true, false, "", true},
		{"http://127.0.0.1:9090/api/v1/control", "", true, false, helper, false},
		{"http://127.8.9.10:9090/api/v1/control", "", true, false, helper, false},
		{"http://[::1]:9090/api/v1/control", "", true, false, helper, false},
		{"http://LocalHost:9090/api/v1/control", "", true, false, helper, false},
		{"http://localhost.evil.example/api/v1/control", "", true, false, "", true},
		{"http://127.0.0.1.evil.example/api/v1/control", "", true, false, "", true},
		{"https://helper.example.org/api/v1/control", "", false, false, "", false},
	}
	for _, tc := range tests {
		var opts []ClientOption
		if tc.collector != "" {
			opts = append(opts, WithCollector(tc.collector, collectorToken))
		}
		if tc.helperTok {
			opts = append(opts, WithToken(helperToken))
		}
		if tc.plain {
			opts = append(opts, WithPlainHTTPToken())
		}
		var logs bytes.Buffer
		c, err := NewClient([]string{tc.url}, nil, 0, slog.New(slog.NewTextHandler(&logs, nil)), opts...)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if got := c.helpers[0].auth; got != tc.want {
			t.Errorf("%s (collector %q, helper token %v, plain http allowed %v): Authorization %q, want %q", tc.url, tc.collector, tc.helperTok, tc.plain, got, tc.want)
		}
		if w := strings.Contains(logs.String(), "control token not sent to a plain-http helper"); w != tc.warnWithld {
			t.Errorf("%s: warning logged %v, want %v: %s", tc.url, w, tc.warnWithld, logs.String())
		}
	}
	if _, err := NewClient([]string{"https://helper.example.org/"}, nil, 0, nil, WithCollector("collector.example.org", "t")); err == nil ||
		err.Error() != `collector URL "collector.example.org": scheme "": want http or https` {
		t.Errorf("bad collector URL: %v", err)
	}
}

// redirectDial returns a transport that connects every address to addr: the client
// believes it talks to the host of the URL, over a real connection to a local server.
func redirectDial(addr string, tlsConf *tls.Config) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: tlsConf,
	}
}

// TestClientWithholdsTokenOverPlainHTTP posts to a helper at a public name over plain
// http and over https: the helper token crosses the network only encrypted, unless plain
// http is allowed explicitly.
func TestClientWithholdsTokenOverPlainHTTP(t *testing.T) {
	plain := &recorder{h: NewHandler(&observer{}, HandlerOptions{}, nil)}
	psrv := httptest.NewServer(plain)
	t.Cleanup(psrv.Close)
	enc := &recorder{h: NewHandler(&observer{}, HandlerOptions{}, nil)}
	tsrv := httptest.NewTLSServer(enc) // its certificate names example.com
	t.Cleanup(tsrv.Close)
	tlsConf := tsrv.Client().Transport.(*http.Transport).TLSClientConfig
	for _, tc := range []struct {
		name  string
		url   string
		rec   *recorder
		addr  string
		opts  []ClientOption
		wantA string
	}{
		{"plain http", "http://helper.example.org/api/v1/control", plain, psrv.Listener.Addr().String(), []ClientOption{WithToken(helperToken)}, ""},
		{"plain http allowed", "http://helper.example.org/api/v1/control", plain, psrv.Listener.Addr().String(), []ClientOption{WithToken(helperToken), WithPlainHTTPToken()}, "Bearer " + helperToken},
		{"https", "https://example.com/api/v1/control", enc, tsrv.Listener.Addr().String(), []ClientOption{WithToken(helperToken)}, "Bearer " + helperToken},
		{"https, collector elsewhere", "https://example.com/api/v1/control", enc, tsrv.Listener.Addr().String(),
			[]ClientOption{WithToken(helperToken), WithCollector("https://collector.example.org", collectorToken)}, "Bearer " + helperToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := redirectDial(tc.addr, tlsConf)
			t.Cleanup(tr.CloseIdleConnections)
			c, err := NewClient([]string{tc.url}, &http.Client{Transport: tr}, 10*time.Second, nil, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			before, _ := tc.rec.requests()
			got := c.Control(context.Background(), mustTarget(t, "example.org"), nil)
			if got.Failure != nil {
				t.Fatalf("failure %s, attempts %q", *got.Failure, attempts(got))
			}
			auth, _ := tc.rec.requests()
			if !reflect.DeepEqual(auth[len(before):], []string{tc.wantA}) {
				t.Errorf("Authorization %q, want %q", auth[len(before):], tc.wantA)
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://Example.ORG./x":       "https://example.org:443",
		"http://example.org":           "http://example.org:80",
		"http://example.org:8080/":     "http://example.org:8080",
		"https://[0:0::1]/":            "https://[::1]:443",
		"https://[::ffff:10.0.0.1]:8/": "https://10.0.0.1:8",
		"https://u:p@example.org/":     "https://example.org:443",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := origin(u); got != want {
			t.Errorf("origin(%s) = %s, want %s", in, got, want)
		}
	}
}
