package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/ingest"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/schedules"
)

// HeartbeatReply answers POST /api/v1/heartbeats: the collector's clock, from which the
// probe estimates its offset.
type HeartbeatReply struct {
	ServerTime time.Time `json:"server_time"`
}

// ScheduleSet answers GET /api/v1/schedules: the files of the collector's schedule set
// (schedules.Files) and the set's hash, which is also the ETag.
type ScheduleSet struct {
	Hash  string            `json:"hash"`
	Files map[string]string `json:"files"`
}

// heartbeat stores a probe's heartbeat under its token's identity.
func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	claims, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	now := s.o.Now()
	s.metrics.seen(claims.Probe, now)
	raw, code, err := s.readBody(w, r)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	raw = bytes.TrimSpace(raw)
	var hb measurement.Heartbeat
	if err := ingest.Unmarshal(raw, &hb); err != nil {
		writeError(w, http.StatusBadRequest, "heartbeat: "+err.Error())
		return
	}
	if err := hb.Validate(now); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "heartbeat: "+err.Error())
		return
	}
	if err := s.o.SeriesCap.Admit(claims.Probe, auth.FieldSchedule, scheduleNames(&hb), now); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "heartbeat: "+err.Error())
		return
	}
	it := store.HeartbeatItem{H: &hb, Probe: identity(claims), Geo: s.sourceGeo(r), ReceivedAt: now}
	if err := s.o.Store.WriteHeartbeat(r.Context(), it); err != nil {
		if errors.Is(err, store.ErrUnavailable) || r.Context().Err() != nil {
			s.metrics.influxErrors.Add(1)
			s.log.Warn("storage unavailable; heartbeat not stored", "probe", claims.Probe, "err", err)
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "storage unavailable; heartbeat not stored, retry later")
			return
		}
		writeError(w, http.StatusUnprocessableEntity, "heartbeat: storage refused it: "+err.Error())
		return
	}
	s.metrics.heartbeats.Add(1)
	writeJSON(w, http.StatusOK, HeartbeatReply{ServerTime: now.UTC()})
}

// schedules serves the schedule set of SchedulesDir, read on each request (so an edited
// set is served at once), with its hash as ETag. A set that does not load is not served.
func (s *Server) schedules(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authenticate(w, r); !ok {
		return
	}
	if s.o.SchedulesDir == "" {
		writeError(w, http.StatusNotFound, "this collector serves no schedules")
		return
	}
	files, err := schedules.Files(os.DirFS(s.o.SchedulesDir))
	var set *schedules.Set
	if err == nil {
		// The hash a probe computes when it loads the files it was sent.
		set, err = schedules.Load(schedules.FromFiles(files))
	}
	if err != nil {
		s.log.Error("schedule set does not load; not serving it", "dir", s.o.SchedulesDir, "err", err)
		writeError(w, http.StatusInternalServerError, "the collector's schedule set does not load")
		return
	}
	etag := fmt.Sprintf("%q", set.Hash)
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	out := ScheduleSet{Hash: set.Hash, Files: make(map[string]string, len(files))}
	for name, b := range files {
		out.Files[name] = string(b)
	}
	writeJSON(w, http.StatusOK, out)
}
