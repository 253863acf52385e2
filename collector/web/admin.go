package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
)

// Admin sessions: a cookie holding a random session value, its expiry and an HMAC of both
// keyed by a key derived from the admin token (never the token itself), and the session
// value in the collector's memory until it expires or is logged out: a copied cookie
// stops working at logout. Changing the token, or a restart, ends every session. Forms
// carry a token derived from the session (CSRF), on top of SameSite=Strict.
const (
	sessionCookie = "pantau_admin"
	loginCookie   = "pantau_login" // a nonce that the login form's token is bound to
	sessionTTL    = 12 * time.Hour
	loginTTL      = time.Hour
	maxUpload     = 1 << 20
	// maxSessions bounds the live sessions; a login beyond it ends the session that
	// would expire first.
	maxSessions = 100
)

type admin struct {
	token string // compared with auth.AdminTokenEqual
	key   []byte // HMAC key, derived from the token
	now   func() time.Time

	mu       sync.Mutex
	sessions map[string]time.Time // live session values and their expiry
}

func newAdmin(token string, now func() time.Time) *admin {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("pantau dashboard session key v1"))
	return &admin{token: token, key: m.Sum(nil), now: now, sessions: map[string]time.Time{}}
}

func (a *admin) mac(parts ...string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenOK compares a submitted token with the admin token as SHA-256 digests, in
// constant time: neither its content nor its length leaks.
func (a *admin) tokenOK(given string) bool { return auth.AdminTokenEqual(given, a.token) }

// start records a new session and returns its signed cookie value. Expired sessions are
// forgotten first; at maxSessions, the one that would expire first ends.
func (a *admin) start() string {
	now := a.now()
	value, exp := randomValue(), now.Add(sessionTTL)
	a.mu.Lock()
	defer a.mu.Unlock()
	oldest, oldestExp := "", time.Time{}
	for v, e := range a.sessions {
		if !now.Before(e) {
			delete(a.sessions, v)
		} else if oldest == "" || e.Before(oldestExp) {
			oldest, oldestExp = v, e
		}
	}
	if len(a.sessions) >= maxSessions {
		delete(a.sessions, oldest)
	}
	a.sessions[value] = exp
	return a.sign("session", value, exp)
}

// end forgets a session: its cookie no longer works, even copied elsewhere.
func (a *admin) end(session string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, session)
}

// sign returns "value.expiry.mac".
func (a *admin) sign(kind, value string, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return value + "." + e + "." + a.mac(kind, value, e)
}

// verify checks a signed value of kind and returns the value when its MAC holds and it
// has not expired.
func (a *admin) verify(kind, signed string) (string, bool) {
	parts := strings.Split(signed, ".")
	if len(parts) != 3 {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !hmac.Equal([]byte(a.mac(kind, parts[0], parts[1])), []byte(parts[2])) {
		return "", false
	}
	if a.now().Unix() >= exp {
		return "", false
	}
	return parts[0], true
}

// session returns the session value of a request's admin cookie when its MAC holds, it
// has not expired and the session has not ended (logout, restart).
func (a *admin) session(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	s, ok := a.verify("session", c.Value)
	if !ok {
		return "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, live := a.sessions[s]
	return s, live && a.now().Before(exp)
}

// csrf is the form token of a session.
func (a *admin) csrf(session string) string { return a.mac("csrf", session) }

func randomValue() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// sameOrigin rejects a cross-site POST by its Origin header (when the browser sent one).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

type loginData struct {
	Form  string // the login form's token
	Error string
}

// loginForm shows the login form and sets the nonce its token is bound to.
func (h *dash) loginForm(w http.ResponseWriter, r *http.Request) {
	if h.admin == nil {
		h.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
		return
	}
	h.showLogin(w, r, http.StatusOK, "")
}

func (h *dash) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	nonce := randomValue()
	setCookie(w, r, loginCookie, h.admin.sign("login", nonce, h.now().Add(loginTTL)), "/admin/", int(loginTTL/time.Second))
	h.render(w, r, status, "login", page{Title: h.tr(r, "login.title"), Nav: "admin", Data: loginData{Form: h.admin.mac("loginform", nonce), Error: msg}})
}

// login checks the posted token and starts a session. The login cookie and the origin
// are checked before the body is read.
func (h *dash) login(w http.ResponseWriter, r *http.Request) {
	if h.admin == nil {
		h.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
		return
	}
	c, err := r.Cookie(loginCookie)
	nonce, ok := "", false
	if err == nil {
		nonce, ok = h.admin.verify("login", c.Value)
	}
	if !ok || !sameOrigin(r) {
		auth.RefuseUnread(w)
		h.showLogin(w, r, http.StatusForbidden, "form: expired or not from this page; try again")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !hmac.Equal([]byte(r.PostFormValue("form")), []byte(h.admin.mac("loginform", nonce))) {
		h.showLogin(w, r, http.StatusForbidden, "form: expired or not from this page; try again")
		return
	}
	if !h.admin.tokenOK(r.PostFormValue("token")) {
		h.log.Warn("dashboard: admin login refused", "remote", r.RemoteAddr)
		h.showLogin(w, r, http.StatusUnauthorized, "token: not the admin token")
		return
	}
	setCookie(w, r, loginCookie, "", "/admin/", -1)
	setCookie(w, r, sessionCookie, h.admin.start(), "/", int(sessionTTL/time.Second))
	h.log.Info("dashboard: admin logged in", "remote", r.RemoteAddr)
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

// authed returns the session of an admin POST, checked before its body is read: the
// session cookie and the origin. Otherwise it has answered (login page or 403), closing
// the connection rather than reading the body, and returns false.
func (h *dash) authed(w http.ResponseWriter, r *http.Request) (string, bool) {
	s, ok := h.admin.session(r)
	if !ok {
		auth.RefuseUnread(w)
		h.showLogin(w, r, http.StatusUnauthorized, "session: log in first (or again: sessions last "+sessionTTL.String()+")")
		return "", false
	}
	if !sameOrigin(r) {
		auth.RefuseUnread(w)
		h.fail(w, r, http.StatusForbidden, "csrf: the form is not from this site; reload the page and try again")
		return "", false
	}
	return s, true
}

// csrfOK checks the form token of session s, once the form is parsed; otherwise it has
// answered 403.
func (h *dash) csrfOK(w http.ResponseWriter, r *http.Request, s string) bool {
	if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(h.admin.csrf(s))) {
		h.fail(w, r, http.StatusForbidden, "csrf: the form's token is missing or wrong; reload the page and try again")
		return false
	}
	return true
}

// logout ends the session on the collector (a copy of its cookie stops working too) and
// deletes the cookie.
func (h *dash) logout(w http.ResponseWriter, r *http.Request) {
	if h.admin == nil {
		h.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
		return
	}
	s, ok := h.authed(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !h.csrfOK(w, r, s) {
		return
	}
	h.admin.end(s)
	setCookie(w, r, sessionCookie, "", "/", -1)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

type adminData struct {
	YAML   string
	Error  string
	Stored *orders.Order
}

// adminPage is the upload form, for a logged-in admin.
func (h *dash) adminPage(w http.ResponseWriter, r *http.Request) {
	if h.admin == nil {
		h.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
		return
	}
	if _, ok := h.admin.session(r); !ok {
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "admin", page{Title: h.tr(r, "nav.admin"), Nav: "admin", Data: adminData{}})
}

// upload stores an order posted as a file or as text, and shows the stored order or the
// validation error (with its line).
func (h *dash) upload(w http.ResponseWriter, r *http.Request) {
	if h.admin == nil {
		h.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
		return
	}
	s, ok := h.authed(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+64<<10)
	if err := r.ParseMultipartForm(maxUpload); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		h.fail(w, r, http.StatusBadRequest, "form: "+err.Error())
		return
	}
	if !h.csrfOK(w, r, s) {
		return
	}
	body := []byte(r.PostFormValue("yaml"))
	if f, _, err := r.FormFile("file"); err == nil {
		b, err := io.ReadAll(io.LimitReader(f, maxUpload+1))
		_ = f.Close()
		if err != nil || len(b) > maxUpload {
			h.fail(w, r, http.StatusBadRequest, "file: unreadable or larger than 1 MiB")
			return
		}
		if len(b) > 0 {
			body = b
		}
	}
	d := adminData{YAML: string(body)}
	if strings.TrimSpace(d.YAML) == "" {
		d.Error = "yaml: empty: paste an order or choose a file"
		h.render(w, r, http.StatusBadRequest, "admin", page{Title: h.tr(r, "nav.admin"), Nav: "admin", Data: d})
		return
	}
	o, err := h.data.PutOrder(r.Context(), body)
	h.summaries.forget() // whatever came of it: a failed write may have replaced the order
	if err != nil {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, report.ErrBadOrder):
			h.log.Info("dashboard: order upload refused", "err", err)
		case errors.Is(err, report.ErrUploadsDisabled):
			status = http.StatusConflict
		default:
			status = http.StatusInternalServerError
			h.log.Error("dashboard: order upload failed", "err", err)
		}
		d.Error = err.Error()
		h.render(w, r, status, "admin", page{Title: h.tr(r, "nav.admin"), Nav: "admin", Data: d})
		return
	}
	h.log.Info("dashboard: order stored", "order", o.ID)
	d.Stored, d.YAML = &o, ""
	h.render(w, r, http.StatusOK, "admin", page{Title: h.tr(r, "nav.admin"), Nav: "admin", Data: d})
}
