package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/ingest"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// ItemResult reports one item of a batch.
type ItemResult struct {
	Index int    `json:"index"`
	ID    string `json:"id,omitempty"`
	// Status is accepted, rejected, or conflict: the probe's measurement with this ID is
	// stored with other content, which never changes (final, like rejected).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// IngestResponse answers POST /api/v1/measurements.
type IngestResponse struct {
	Accepted  int          `json:"accepted"`
	Rejected  int          `json:"rejected"`            // conflicts included
	Conflicts int          `json:"conflicts,omitempty"` // items refused as conflicts
	Items     []ItemResult `json:"items"`
	// Error names the conflicts when every item was one (409).
	Error string `json:"error,omitempty"`
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
	ms, raws, errs, err := ingest.DecodeBatchRaw(raw, s.o.BatchItems, now)
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
		if msg := s.checkItem(i, m, raws[i], claims); msg != "" {
			resp.Items[i].Error = msg
			continue
		}
		if err := s.o.SeriesCap.Admit(claims.Probe, auth.FieldDomain, []string{m.Domain}, now); err != nil {
			resp.Items[i].Error = fmt.Sprintf("measurements[%d]: %v", i, err)
			continue
		}
		good = append(good, store.Item{M: m, Raw: raws[i], Probe: ident, Geo: src, ReceivedAt: now})
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
	writeJSON(w, s.tally(&resp), resp)
}

// tally counts the results of resp and returns the answer's status: 200 when an item was
// accepted (or none was sent), 409 when every item was a conflict (resp.Error names
// them), else 422.
func (s *Server) tally(resp *IngestResponse) int {
	var firstConflict string
	for _, it := range resp.Items {
		switch it.Status {
		case "accepted":
			resp.Accepted++
		case "conflict":
			resp.Rejected++
			if resp.Conflicts++; resp.Conflicts == 1 {
				firstConflict = it.Error
			}
		default:
			resp.Rejected++
		}
	}
	s.metrics.accepted.Add(int64(resp.Accepted))
	s.metrics.rejected.Add(int64(resp.Rejected))
	s.metrics.conflicts.Add(int64(resp.Conflicts))
	switch {
	case resp.Accepted > 0 || resp.Rejected == 0:
		return http.StatusOK
	case resp.Conflicts == resp.Rejected:
		resp.Error = firstConflict
		if n := resp.Conflicts - 1; n > 0 {
			resp.Error += fmt.Sprintf(" (and %d more)", n)
		}
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}

// checkItem returns why item i, m decoded from raw, cannot be stored for the probe of
// claims, or "": JSON that is not valid UTF-8 (it would not read back as submitted), a
// measurement claiming a source (an import's, e.g. OONI), or a measurement that started
// before the token was issued, less Options.BackdateSlack.
func (s *Server) checkItem(i int, m *measurement.Measurement, raw []byte, claims auth.Claims) string {
	if !utf8.Valid(raw) {
		return fmt.Sprintf("measurements[%d]: not valid UTF-8: a stored measurement must read back as submitted", i)
	}
	if m.Source != "" || m.Provenance != nil {
		// Imports (collector import ooni) are written to the store directly; a probe
		// submits only its own measurements and cannot pass one off as OONI's.
		return fmt.Sprintf("measurements[%d]: source, provenance: only imported measurements carry them, not a probe's", i)
	}
	if oldest := claims.IssuedAt.Add(-s.o.BackdateSlack); m.StartedAt.Before(oldest) {
		s.metrics.backdated.Add(1)
		return fmt.Sprintf("measurements[%d]: started_at: %s is before %s, when this probe's token was issued less %s (limits.backdate_slack)",
			i, m.StartedAt.UTC().Format(time.RFC3339), oldest.UTC().Format(time.RFC3339), s.o.BackdateSlack)
	}
	return ""
}

// conflictError is the error of item i refused by storage as a conflict.
func conflictError(i int, c store.Conflict) string {
	return fmt.Sprintf("measurements[%d]: id %s: already stored with other content (sha256 %s; this is %s): a stored measurement never changes",
		i, c.ID, c.Stored, c.Submitted)
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
	if err == nil || errors.Is(err, store.ErrConflict) {
		for _, i := range idx {
			resp.Items[i].Status = "accepted"
		}
		markConflicts(err, idx, resp)
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
			if errors.Is(err, store.ErrConflict) {
				markConflicts(err, idx[k:k+1], resp)
				continue
			}
			resp.Items[idx[k]].Error = fmt.Sprintf("measurements[%d]: storage refused it: %v", idx[k], err)
			continue
		}
		resp.Items[idx[k]].Status = "accepted"
	}
	return nil
}

// markConflicts marks the items a *store.ConflictError in err refused, idx mapping the
// indexes of the write to those of the batch.
func markConflicts(err error, idx []int, resp *IngestResponse) {
	var ce *store.ConflictError
	if !errors.As(err, &ce) {
		return
	}
	for _, c := range ce.Conflicts {
		i := idx[c.Index]
		resp.Items[i].Status, resp.Items[i].Error = "conflict", conflictError(i, c)
	}
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
// (tens of kilobytes) for every request. They are klauspost/compress's, which inflate a
// batch about 30% faster than compress/gzip's (docs/scaling.md).
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
	var netErr net.Error
	switch {
	case errors.As(err, &tooBig) || int64(buf.Len()) > limit:
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body: larger than %d bytes", limit)
	case errors.As(err, &netErr) && netErr.Timeout():
		// The server's read deadline (config http.read_timeout) passed.
		return nil, http.StatusRequestTimeout, errors.New("body: not received within the server's read timeout")
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
