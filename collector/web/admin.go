package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/report"
)

// Admin sessions: a cookie holding a random session value, its expiry and an HMAC of both
// keyed by a key derived from the admin token (never the token itself). Changing the token
// ends every session. Forms carry a token derived from the session (CSRF), on top of
// SameSite=Strict.
const (
	sessionCookie = "pantau_admin"
	loginCookie   = "pantau_login" // a nonce that the login form's token is bound to
	sessionTTL    = 12 * time.Hour
	loginTTL      = time.Hour
	maxUpload     = 1 << 20
)

type admin struct {
	tokenSum [32]byte // SHA-256 of the admin token, compared in constant time
	key      []byte   // HMAC key, derived from the token
	now      func() time.Time
}

func newAdmin(token string, now func() time.Time) *admin {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("pantau dashboard session key v1"))
	return &admin{tokenSum: sha256.Sum256([]byte(token)), key: m.Sum(nil), now: now}
}

func (a *admin) mac(parts ...string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenOK compares a submitted token with the admin token in constant time (the hashes
// have equal lengths whatever was submitted).
func (a *admin) tokenOK(given string) bool {
	sum := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(sum[:], a.tokenSum[:]) == 1
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

// session returns the session value of a request's valid admin cookie.
func (a *admin) session(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	return a.verify("session", c.Value)
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
	h.render(w, r, status, "login", page{Title: "Admin login", Nav: "admin", Data: loginData{Form: h.admin.mac("loginform", nonce), Error: msg}})
}

// login checks the posted token and starts a session.
func (h *dash) login(w http.ResponseWriter, r *http.Request) {
	if h.admin == nil {
		h.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(loginCookie)
	nonce, ok := "", false
	if err == nil {
		nonce, ok = h.admin.verify("login", c.Value)
	}
	if !ok || !sameOrigin(r) || !hmac.Equal([]byte(r.PostFormValue("form")), []byte(h.admin.mac("loginform", nonce))) {
		h.showLogin(w, r, http.StatusForbidden, "form: expired or not from this page; try again")
		return
	}
	if !h.admin.tokenOK(r.PostFormValue("token")) {
		h.log.Warn("dashboard: admin login refused", "remote", r.RemoteAddr)
		h.showLogin(w, r, http.StatusUnauthorized, "token: not the admin token")
		return
	}
	setCookie(w, r, loginCookie, "", "/admin/", -1)
	setCookie(w, r, sessionCookie, h.admin.sign("session", randomValue(), h.now().Add(sessionTTL)), "/", int(sessionTTL/time.Second))
	h.log.Info("dashboard: admin logged in", "remote", r.RemoteAddr)
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

// authed returns the session of an admin POST whose form token is right; otherwise it has
// answered (login page or 403) and returns false.
func (h *dash) authed(w http.ResponseWriter, r *http.Request, form string) bool {
	s, ok := h.admin.session(r)
	if !ok {
		h.showLogin(w, r, http.StatusUnauthorized, "session: log in first (or again: sessions last "+humanDur(sessionTTL)+")")
		return false
	}
	if !sameOrigin(r) || !hmac.Equal([]byte(form), []byte(h.admin.csrf(s))) {
		h.fail(w, r, http.StatusForbidden, "csrf: the form's token is missing or wrong; reload the page and try again")
		return false
	}
	return true
}

func (h *dash) logout(w http.ResponseWriter, r *http.Request) {
	if h.admin == nil {
		h.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
		return
	}
	if !h.authed(w, r, r.PostFormValue("csrf")) {
		return
	}
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
	h.render(w, r, http.StatusOK, "admin", page{Title: "Admin", Nav: "admin", Data: adminData{}})
}

// upload stores an order posted as a file or as text, and shows the stored order or the
// validation error (with its line).
func (h *dash) upload(w http.ResponseWriter, r *http.Request) {
	if h.admin == nil {
		h.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+64<<10)
	if err := r.ParseMultipartForm(maxUpload); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		h.fail(w, r, http.StatusBadRequest, "form: "+err.Error())
		return
	}
	if !h.authed(w, r, r.PostFormValue("csrf")) {
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
		h.render(w, r, http.StatusBadRequest, "admin", page{Title: "Admin", Nav: "admin", Data: d})
		return
	}
	o, err := h.data.PutOrder(r.Context(), body)
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
		h.render(w, r, status, "admin", page{Title: "Admin", Nav: "admin", Data: d})
		return
	}
	h.log.Info("dashboard: order stored", "order", o.ID)
	d.Stored, d.YAML = &o, ""
	h.render(w, r, http.StatusOK, "admin", page{Title: "Admin", Nav: "admin", Data: d})
}
