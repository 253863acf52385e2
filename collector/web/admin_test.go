package web

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
)

const adminToken = "s3cret-admin-token-for-tests"

var (
	formRE = regexp.MustCompile(`name="form" value="([^"]+)"`)
	csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// login logs c in on srv with token and returns the answer to the login POST.
func login(t *testing.T, c *http.Client, base, token string) (*http.Response, string) {
	t.Helper()
	_, page := get(t, c, base+"/admin/login")
	m := formRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("login form without its token:\n%s", page)
	}
	resp, err := c.PostForm(base+"/admin/login", url.Values{"form": {m[1]}, "token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	_, body := readBody(t, resp)
	return resp, body
}

// csrfOf returns the admin page's form token.
func csrfOf(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	code, page := get(t, c, base+"/admin/")
	m := csrfRE.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		t.Fatalf("admin page %d without a form token:\n%s", code, page)
	}
	return m[1]
}

// upload posts an order as a multipart form, the way the admin page's form does.
func upload(t *testing.T, c *http.Client, base, csrf, text string, file []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", csrf)
	_ = mw.WriteField("yaml", text)
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "order.yaml")
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/admin/orders", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return readBody(t, resp)
}

func TestAdminLogin(t *testing.T) {
	srv, _ := serveStack(t, adminToken)
	tests := []struct {
		name, token string
		code        int
		msg         string
	}{
		{"wrong token", "guess", http.StatusUnauthorized, "token: not the admin token"},
		{"empty token", "", http.StatusUnauthorized, "token: not the admin token"},
		{"a prefix of the token", adminToken[:10], http.StatusUnauthorized, "token: not the admin token"},
		{"the token", adminToken, http.StatusSeeOther, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client(t)
			resp, body := login(t, c, srv.URL, tt.token)
			if resp.StatusCode != tt.code || !strings.Contains(body, tt.msg) {
				t.Fatalf("%d, want %d with %q:\n%s", resp.StatusCode, tt.code, tt.msg, body)
			}
			var session *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == sessionCookie {
					session = ck
				}
			}
			if tt.code != http.StatusSeeOther {
				if session != nil {
					t.Errorf("a session cookie after a refused login: %v", session)
				}
				return
			}
			if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" {
				t.Fatalf("session cookie %v: want HttpOnly, SameSite=Strict, Path=/", session)
			}
			if strings.Contains(session.Value, adminToken) || strings.Contains(session.Raw, adminToken) {
				t.Error("the session cookie holds the token")
			}
			if loc := resp.Header.Get("Location"); loc != "/admin/" {
				t.Errorf("redirect to %q", loc)
			}
			_, page := get(t, c, srv.URL+"/admin/")
			mustContain(t, page, `<h2>Upload an order</h2>`, `enctype="multipart/form-data"`, `<button type="submit">Log out</button>`)
		})
	}
}

func TestAdminLoginFormToken(t *testing.T) {
	srv, _ := serveStack(t, adminToken)
	// Without the login page's cookie and form token (a cross-site login), or with a form
	// token of another login page, the token is not even checked.
	other := client(t)
	_, otherPage := get(t, other, srv.URL+"/admin/login")
	tests := []struct {
		name string
		form url.Values
	}{
		{"no form token", url.Values{"token": {adminToken}}},
		{"another page's form token", url.Values{"token": {adminToken}, "form": {formRE.FindStringSubmatch(otherPage)[1]}}},
	}
	for _, tt := range tests {
		c := client(t)
		get(t, c, srv.URL+"/admin/login")
		resp, err := c.PostForm(srv.URL+"/admin/login", tt.form)
		if err != nil {
			t.Fatal(err)
		}
		code, body := readBody(t, resp)
		if code != http.StatusForbidden || !strings.Contains(body, "form: expired or not from this page; try again") {
			t.Errorf("%s: %d\n%s", tt.name, code, body)
		}
	}
}

func TestAdminUpload(t *testing.T) {
	srv, s := serveStack(t, adminToken)
	c := client(t)
	login(t, c, srv.URL, adminToken)
	csrf := csrfOf(t, c, srv.URL)

	code, body := upload(t, c, srv.URL, csrf, badOrderYAML, nil)
	if code != http.StatusBadRequest {
		t.Errorf("invalid order: %d", code)
	}
	// The error names the line and the field; the form keeps the text to correct.
	mustContain(t, body, `<p class="error" role="alert" id="error">upload.yaml:6: expect: &#34;blockd&#34;: want blocked or accessible</p>`,
		`spellcheck="false">id: test-block`, `expect: blockd`)

	code, body = upload(t, c, srv.URL, csrf, "", []byte(strings.Replace(testOrderYAML, "id: test-block", "id: lift-1", 1)))
	if code != http.StatusOK {
		t.Errorf("valid order: %d", code)
	}
	mustContain(t, body, `Stored order <a href="/orders/lift-1">lift-1</a>: Block t.me (1 domains, 2 networks).`)
	if o, ok := s.svc.Order("lift-1"); !ok || o.Title != "Block t.me" {
		t.Errorf("the order was not stored: %+v", o)
	}

	code, body = upload(t, c, srv.URL, csrf, "  \n", nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "yaml: empty: paste an order or choose a file") {
		t.Errorf("empty upload: %d\n%s", code, body)
	}
	if got := s.orderFiles(t); strings.Join(got, " ") != "lift-1.yaml test-block.yaml" {
		t.Errorf("orders folder: %v", got)
	}
}

func TestAdminUploadRefused(t *testing.T) {
	srv, s := serveStack(t, adminToken)
	c := client(t)
	login(t, c, srv.URL, adminToken)
	csrf := csrfOf(t, c, srv.URL)

	code, body := upload(t, c, srv.URL, "", "id: x\n", nil)
	if code != http.StatusForbidden || !strings.Contains(body, "csrf: the form&#39;s token is missing or wrong") {
		t.Errorf("no csrf token: %d\n%s", code, body)
	}
	code, body = upload(t, client(t), srv.URL, csrf, "id: x\n", nil)
	if code != http.StatusUnauthorized || !strings.Contains(body, "session: log in first") {
		t.Errorf("no session: %d\n%s", code, body)
	}
	// A cross-site form post (the browser names its origin).
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/admin/orders", strings.NewReader(url.Values{"csrf": {csrf}, "yaml": {"id: x\n"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := readBody(t, resp); code != http.StatusForbidden {
		t.Errorf("cross-origin post: %d", code)
	}
	// A tampered session cookie.
	u, _ := url.Parse(srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			ck.Value = strings.Replace(ck.Value, ".", "x.", 1)
			c.Jar.SetCookies(u, []*http.Cookie{ck})
		}
	}
	if code, _ := upload(t, c, srv.URL, csrf, "id: x\n", nil); code != http.StatusUnauthorized {
		t.Errorf("tampered session: %d", code)
	}
	if got := s.orderFiles(t); strings.Join(got, " ") != "test-block.yaml" {
		t.Errorf("orders folder: %v", got)
	}
}

func TestAdminUploadWithoutOrdersFolder(t *testing.T) {
	svc, err := report.New(report.Config{Source: newStore(t), Params: testParams, Now: func() time.Time { return testNow }}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, svc, nil, adminToken)
	c := client(t)
	login(t, c, srv.URL, adminToken)
	code, body := upload(t, c, srv.URL, csrfOf(t, c, srv.URL), testOrderYAML, nil)
	if code != http.StatusConflict || !strings.Contains(body, "order uploads are disabled: no orders_dir is configured") {
		t.Errorf("%d\n%s", code, body)
	}
}

func TestAdminSessionExpiresAndLogsOut(t *testing.T) {
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	s := newStack(t)
	srv := httptest.NewServer(newDash(s.svc, s.st, adminToken, quiet(), func() time.Time { return time.Unix(0, now.Load()) }))
	t.Cleanup(srv.Close)
	c := client(t)
	login(t, c, srv.URL, adminToken)
	csrf := csrfOf(t, c, srv.URL)

	// Logging out ends the session in the browser.
	resp, err := c.PostForm(srv.URL+"/admin/logout", url.Values{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := readBody(t, resp); code != http.StatusSeeOther {
		t.Errorf("logout: %d", code)
	}
	if code, _ := get(t, c, srv.URL+"/admin/"); code != http.StatusSeeOther {
		t.Errorf("admin page after logout: %d; want a redirect to the login", code)
	}

	login(t, c, srv.URL, adminToken)
	csrfOf(t, c, srv.URL)
	now.Add(int64(sessionTTL))
	if code, _ := get(t, c, srv.URL+"/admin/"); code != http.StatusSeeOther {
		t.Errorf("admin page after %s: %d; want a redirect to the login", sessionTTL, code)
	}
}

// TestAdminLogoutEndsSessionOnServer: after logout, a copy of the session cookie (taken
// by someone who read it, or kept by the browser) no longer opens the admin pages.
func TestAdminLogoutEndsSessionOnServer(t *testing.T) {
	srv, _ := serveStack(t, adminToken)
	c := client(t)
	login(t, c, srv.URL, adminToken)
	csrf := csrfOf(t, c, srv.URL)
	u, _ := url.Parse(srv.URL)
	var copied *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			copied = ck
		}
	}
	if copied == nil {
		t.Fatal("no session cookie after login")
	}
	thief := client(t)
	thief.Jar.SetCookies(u, []*http.Cookie{copied})
	if code, _ := get(t, thief, srv.URL+"/admin/"); code != http.StatusOK {
		t.Fatalf("the copied cookie before logout: %d", code)
	}
	resp, err := c.PostForm(srv.URL+"/admin/logout", url.Values{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := readBody(t, resp); code != http.StatusSeeOther {
		t.Fatalf("logout: %d", code)
	}
	if code, _ := get(t, thief, srv.URL+"/admin/"); code != http.StatusSeeOther {
		t.Errorf("admin page with the copied cookie after logout: %d; want a redirect to the login", code)
	}
	if code, body := upload(t, thief, srv.URL, csrf, testOrderYAML, nil); code != http.StatusUnauthorized || !strings.Contains(body, "session: log in first") {
		t.Errorf("upload with the copied cookie after logout: %d\n%s", code, body)
	}
	// Another login gives a new session; the old one stays ended.
	login(t, c, srv.URL, adminToken)
	if code, _ := get(t, thief, srv.URL+"/admin/"); code != http.StatusSeeOther {
		t.Errorf("the copied cookie after a new login: %d", code)
	}
}

// readCounter counts the bytes read from a request body.
type readCounter struct {
	r io.Reader
	n int
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestAdminPostRefusedBeforeBody: an admin POST without a session (or a login POST
// without the login page's cookie) is answered without reading a byte of its body, and
// the connection is closed rather than drained.
func TestAdminPostRefusedBeforeBody(t *testing.T) {
	h := newDash(nil, nil, adminToken, quiet(), time.Now) // refused before any data is needed
	for _, tc := range []struct {
		path, contentType string
		code              int
	}{
		{"/admin/orders", "multipart/form-data; boundary=x", http.StatusUnauthorized},
		{"/admin/orders", "application/x-www-form-urlencoded", http.StatusUnauthorized},
		{"/admin/logout", "application/x-www-form-urlencoded", http.StatusUnauthorized},
		{"/admin/login", "application/x-www-form-urlencoded", http.StatusForbidden},
	} {
		body := &readCounter{r: strings.NewReader(strings.Repeat("csrf=x&yaml=", 100000))}
		req := httptest.NewRequest(http.MethodPost, tc.path, body)
		req.Header.Set("Content-Type", tc.contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.code || body.n != 0 || rec.Header().Get("Connection") != "close" {
			t.Errorf("POST %s (%s): %d, %d bytes of the body read, Connection %q; want %d, 0, close",
				tc.path, tc.contentType, rec.Code, body.n, rec.Header().Get("Connection"), tc.code)
		}
	}
}

func TestAdminDisabledWithoutToken(t *testing.T) {
	srv, _ := serveStack(t, "")
	c := client(t)
	for _, p := range []string{"/admin/login", "/admin/orders", "/admin/logout"} {
		resp, err := c.PostForm(srv.URL+p, url.Values{"token": {""}})
		if err != nil {
			t.Fatal(err)
		}
		if code, _ := readBody(t, resp); code != http.StatusNotFound {
			t.Errorf("POST %s: %d; want 404", p, code)
		}
	}
	_, body := get(t, c, srv.URL+"/")
	if strings.Contains(body, `href="/admin/"`) {
		t.Error("the menu links to disabled admin pages")
	}
}
