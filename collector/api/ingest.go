package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/collector/ingest"
	"github.com/pantau-dev/pantau/collector/store"
)

// ItemResult reports one item of a batch.
type ItemResult struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Status string `json:"status"` // accepted or rejected
	Error  string `json:"error,omitempty"`
}

// IngestResponse answers POST /api/v1/measurements.
type IngestResponse struct {
	Accepted int          `json:"accepted"`
	Rejected int          `json:"rejected"`
	Items    []ItemResult `json:"items"`
}

// ingest stores a batch. A measurement is acknowledged only after storage accepted it;
// when storage is unavailable nothing is acknowledged (503 with Retry-After).
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	claims, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	now := s.o.Now()
	s.metrics.seen(claims.Probe, now)
	raw, code, err := s.readBody(w, r)
	if err != nil {
		s.metrics.rejectedRequests.Add(1)
		writeError(w, code, err.Error())
		return
	}
	ms, errs, err := ingest.DecodeBatch(raw, s.o.BatchItems, now)
	if err != nil {
		s.metrics.rejectedRequests.Add(1)
		code = http.StatusBadRequest
		if errors.As(err, new(ingest.TooManyError)) {
			code = http.StatusRequestEntityTooLarge
		}
		writeError(w, code, err.Error())
		return
	}
	resp := IngestResponse{Items: make([]ItemResult, len(ms))}
	ident := identity(claims)
	src := s.sourceGeo(r)
	var good []store.Item
	var goodIdx []int
	for i, m := range ms {
		err := errs[i]
		resp.Items[i] = ItemResult{Index: i, Status: "rejected"}
		if err != nil {
			resp.Items[i].Error = fmt.Sprintf("measurements[%d]: %v", i, strings.ReplaceAll(err.Error(), "\n", fmt.Sprintf("; measurements[%d]: ", i)))
			continue
		}
		resp.Items[i].ID = m.ID
		good = append(good, store.Item{M: m, Probe: ident, Geo: src, ReceivedAt: now})
		goodIdx = append(goodIdx, i)
	}
	if len(good) > 0 {
		if err := s.write(r.Context(), good, goodIdx, &resp); err != nil {
			s.metrics.influxErrors.Add(1)
			s.log.Warn("storage unavailable; batch not acknowledged", "probe", claims.Probe, "items", len(good), "err", err)
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "storage unavailable; no measurement was acknowledged, retry later")
			return
		}
	}
	for _, it := range resp.Items {
		if it.Status == "accepted" {
			resp.Accepted++
		} else {
			resp.Rejected++
		}
	}
	s.metrics.accepted.Add(int64(resp.Accepted))
	s.metrics.rejected.Add(int64(resp.Rejected))
	code = http.StatusOK
	if resp.Accepted == 0 && resp.Rejected > 0 {
		code = http.StatusUnprocessableEntity
	}
	writeJSON(w, code, resp)
}

// write stores the good items. If storage refuses the batch for a reason other than
// unavailability (e.g. a field type conflict), items are retried one by one so that one
// bad item cannot block the others; each refused one is rejected with the reason. An
// unavailable storage returns the error: nothing is acknowledged.
func (s *Server) write(ctx context.Context, good []store.Item, idx []int, resp *IngestResponse) error {
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return ctx.Err()
	}
	start := time.Now()
	err := s.o.Store.Write(ctx, good)
	s.metrics.observeWrite(time.Since(start))
	if err == nil {
		for _, i := range idx {
			resp.Items[i].Status = "accepted"
		}
		return nil
	}
	if errors.Is(err, store.ErrUnavailable) || ctx.Err() != nil {
		return err
	}
	for k, it := range good {
		if err := s.o.Store.Write(ctx, []store.Item{it}); err != nil {
			if errors.Is(err, store.ErrUnavailable) || ctx.Err() != nil {
				return err
			}
			resp.Items[idx[k]].Error = fmt.Sprintf("measurements[%d]: storage refused it: %v", idx[k], err)
			continue
		}
		resp.Items[idx[k]].Status = "accepted"
	}
	return nil
}

// readBody reads the request body, gunzipping it when Content-Encoding says so; both the
// wire size and the decompressed size are capped. A gzip body is read whole first, so that
// the decompressed size in its trailer sizes the buffer (a hint only, capped).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	limit := s.o.BodyBytes
	wire := http.MaxBytesReader(w, r.Body, limit)
	var body io.Reader = wire
	size := min(max(r.ContentLength, 0), limit) + 1
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zipped, code, err := readAll(wire, limit, size)
		if err != nil {
			return nil, code, err
		}
		zr, err := getGzipReader(bytes.NewReader(zipped))
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("body: bad gzip: %w", err)
		}
		defer gzipReaders.Put(zr) // read to the end below, or abandoned: Reset makes it new
		// The trailer's size is the client's word: trust it up to 64 times the wire size.
		hint := int64(binary.LittleEndian.Uint32(zipped[len(zipped)-4:]))
		body, size = zr, min(hint, 64*int64(len(zipped)), limit)+1
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Encoding %q is not supported (want gzip or none)", enc)
	}
	b, code, err := readAll(body, limit, size)
	return b, code, err
}

// gzipReaders holds gzip readers for reuse: a new one allocates its decompressor's state
// (tens of kilobytes) for every request.
var gzipReaders sync.Pool

// getGzipReader is gzip.NewReader(r) from the pool.
func getGzipReader(r io.Reader) (*gzip.Reader, error) {
	if zr, ok := gzipReaders.Get().(*gzip.Reader); ok {
		if err := zr.Reset(r); err != nil {
			gzipReaders.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(r)
}

// readAll reads r into a buffer of size bytes to start with, up to limit bytes.
func readAll(r io.Reader, limit, size int64) ([]byte, int, error) {
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || int64(buf.Len()) > limit:
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body: larger than %d bytes", limit)
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("body: %w", err)
	}
	return buf.Bytes(), 0, nil
}

// sourceGeo looks up the ASN of the request's source address (clientAddr).
func (s *Server) sourceGeo(r *http.Request) store.Geo {
	if s.o.Geo == nil {
		return store.Geo{}
	}
	addr := s.clientAddr(r)
	if !addr.IsValid() {
		return store.Geo{}
	}
	info, err := s.o.Geo.Lookup(addr)
	if err != nil {
		s.log.Warn("geolocation lookup failed", "addr", addr, "err", err)
		return store.Geo{}
	}
	return store.Geo{ASN: info.ASN, Org: info.Org}
}
