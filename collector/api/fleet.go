package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/fleet"
	"github.com/pantau-dev/pantau/collector/store"
)

// maxEnrolBody bounds an enrolment request: a code and four claims.
const maxEnrolBody = 4096

// EnrolStore records used enrolment codes and issued tokens (collector/store's Store).
type EnrolStore interface {
	CodeUsed(ctx context.Context, id string) (time.Time, bool, error)
	UseCode(ctx context.Context, id, probe, tokenID string, at time.Time) error
	RecordToken(ctx context.Context, r store.TokenRecord) error
}

// Enrol configures POST /api/v1/enrol: Secret signs the tokens and codes (the collector's
// secret); Store remembers the codes used.
type Enrol struct {
	Secret []byte
	Store  EnrolStore
	mu     sync.Mutex // one redemption at a time: check-then-record is not atomic in InfluxDB
}

// EnrolRequest is the body of POST /api/v1/enrol: the code and the claims it was issued
// for (the `probe enroll` command line holds both).
type EnrolRequest struct {
	Code    string `json:"code"`
	Probe   string `json:"probe"`
	Network string `json:"network"`
	Country string `json:"country"`
	ASN     uint32 `json:"asn"`
}

// EnrolReply answers a redeemed code: the probe's token and its id.
type EnrolReply struct {
	Token   string `json:"token"`
	TokenID string `json:"token_id"`
	Probe   string `json:"probe"`
	Network string `json:"network"`
	Country string `json:"country"`
	ASN     uint32 `json:"asn"`
}

// routeFleet mounts the fleet endpoints the options ask for.
func (s *Server) routeFleet() {
	if s.o.Fleet != nil {
		s.mux.Handle("GET /api/v1/probes", s.Public(http.HandlerFunc(s.probes)))
	}
	if s.o.Enrol != nil {
		s.mux.Handle("POST /api/v1/enrol", s.Public(http.HandlerFunc(s.enrol)))
	}
}

// probes answers the fleet's list, filtered and sorted by the query (fleet.ParseQuery):
// to the admin, or to anyone when probes.public is set.
func (s *Server) probes(w http.ResponseWriter, r *http.Request) {
	if !s.o.Fleet.Config().Public && !auth.CheckAdmin(r, s.o.AdminToken) {
		s.metrics.unauthorized.Add(1)
		auth.RefuseUnread(w)
		w.Header().Set("WWW-Authenticate", `Bearer realm="pantau"`)
		writeError(w, http.StatusUnauthorized, "the probe list needs the admin token (or probes.public: true)")
		return
	}
	v, err := url.ParseQuery(r.URL.RawQuery)
	var q fleet.Query
	if err == nil {
		q, err = fleet.ParseQuery(v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	l, err := s.o.Fleet.List(r.Context())
	if err != nil {
		s.log.Warn("probe list failed", "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "storage unavailable")
		return
	}
	l.Probes = q.Apply(l.Probes)
	writeJSON(w, http.StatusOK, l)
}

// enrol redeems an enrolment code for a token, once. A code that is malformed, issued for
// other claims, expired, used, or whose token is already revoked is refused (403, 410,
// 409, 403); the body is bounded and decoded strictly.
func (s *Server) enrol(w http.ResponseWriter, r *http.Request) {
	var req EnrolRequest
	if code, err := decodeEnrol(w, r, &req); err != nil {
		writeError(w, code, err.Error())
		return
	}
	now := s.o.Now()
	c := auth.Claims{Probe: req.Probe, Network: req.Network, Country: req.Country, ASN: req.ASN}
	e, err := auth.VerifyCode(s.o.Enrol.Secret, req.Code, c, now)
	switch {
	case errors.Is(err, auth.ErrCodeExpired):
		writeError(w, http.StatusGone, err.Error())
		return
	case err != nil:
		s.metrics.unauthorized.Add(1)
		writeError(w, http.StatusForbidden, err.Error())
		return
	case s.o.Verifier.IsRevoked(e.TokenID(), c.Probe):
		writeError(w, http.StatusForbidden, "enrolment refused: token "+e.TokenID()+" or probe "+c.Probe+" is revoked")
		return
	}
	tok, code, err := s.redeem(r.Context(), e, now)
	if err != nil {
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "5")
		}
		writeError(w, code, err.Error())
		return
	}
	s.log.Info("probe enrolled", "probe", c.Probe, "network", c.Network, "token_id", e.TokenID())
	writeJSON(w, http.StatusOK, EnrolReply{Token: tok, TokenID: e.TokenID(), Probe: c.Probe, Network: c.Network, Country: c.Country, ASN: c.ASN})
}

// decodeEnrol reads the bounded JSON body into req; on failure it returns the status.
func decodeEnrol(w http.ResponseWriter, r *http.Request, req *EnrolRequest) (int, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEnrolBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return http.StatusRequestEntityTooLarge, errors.New("body: over 4096 bytes")
		}
		return http.StatusBadRequest, errors.New("body: " + err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		return http.StatusBadRequest, errors.New("body: want {\"code\", \"probe\", \"network\", \"country\", \"asn\"}: " + err.Error())
	}
	if dec.More() {
		return http.StatusBadRequest, errors.New("body: data after the JSON object")
	}
	if req.Code == "" {
		return http.StatusBadRequest, errors.New("code: required")
	}
	return 0, nil
}

// redeem records the code used and returns the token, unless the code was used before.
func (s *Server) redeem(ctx context.Context, e auth.Enrolment, now time.Time) (string, int, error) {
	en := s.o.Enrol
	en.mu.Lock()
	defer en.mu.Unlock()
	at, used, err := en.Store.CodeUsed(ctx, e.ID)
	if err != nil {
		s.log.Warn("enrolment: storage unavailable", "err", err)
		return "", http.StatusServiceUnavailable, errors.New("storage unavailable: try again shortly")
	}
	if used {
		return "", http.StatusConflict, errors.New("enrolment code already used at " + at.UTC().Format(time.RFC3339) + ": ask the operator for a new one")
	}
	c := e.Claims
	c.ID, c.IssuedAt = e.TokenID(), now
	tok, err := auth.Issue(en.Secret, c)
	if err != nil {
		return "", http.StatusInternalServerError, err
	}
	if err := en.Store.UseCode(ctx, e.ID, c.Probe, c.ID, now); err != nil {
		s.log.Warn("enrolment: storage unavailable", "err", err)
		return "", http.StatusServiceUnavailable, errors.New("storage unavailable: try again shortly")
	}
	rec := store.TokenRecord{ID: c.ID, Issued: now, Via: "enrol",
		Probe: store.Identity{Probe: c.Probe, Network: c.Network, Country: c.Country, ASN: c.ASN}}
	if err := en.Store.RecordToken(ctx, rec); err != nil {
		s.log.Warn("enrolment: token not recorded (collector token list will miss it)", "token_id", c.ID, "err", err)
	}
	return tok, 0, nil
}
