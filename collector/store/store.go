// Package store keeps measurements in InfluxDB (2.x, 3, Cloud, or OSS 1.8) and reads them
// back: writes through the v2 write API, reads in InfluxQL through the v1 query API, which
// all of them serve. Write returns only when InfluxDB accepted every
// point, so the collector acknowledges nothing that was not stored; rewriting a measurement
// is idempotent. The schema is in docs/storage.md.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/pantau-dev/pantau/internal/influxql"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// ErrUnavailable marks errors after which the caller should answer 503 and let the probe
// retry: InfluxDB unreachable, timing out, overloaded (5xx, 429) or misconfigured (401,
// 403, 404: wrong token or bucket). Other write errors mean InfluxDB refused the data.
var ErrUnavailable = errors.New("storage unavailable")

// DefaultTimeout bounds each HTTP request to InfluxDB when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Limits on one write request; a larger batch is split (each part is idempotent, so a
// batch that fails half-way is simply written again by the probe's retry).
const (
	maxRequestPoints = 5000
	maxRequestBytes  = 8 << 20
)

// Config says where measurements go. InfluxDB 2.x/3/Cloud: URL, Org, Bucket, Token.
// InfluxDB 1.8: Org "", Bucket "db/rp", Token "user:password" (or "" without auth).
type Config struct {
	URL, Org, Bucket, Token string
	Timeout                 time.Duration // per HTTP request; DefaultTimeout when zero
	// Writes bounds the concurrent write requests to InfluxDB, which concurrent Write
	// calls share (group commit, commit.go); DefaultWrites when zero.
	Writes int
	// Linger is how long a small shared write waits for more points while other writes
	// are in flight (never when none is); DefaultLinger when zero, none when negative.
	Linger time.Duration
	// Recent is how many acknowledged (probe, id) the store remembers, to refuse other
	// content for them or skip an identical resubmission without asking InfluxDB
	// (immutable.go); DefaultRecent when zero.
	Recent int
	// Known is how long the store decides a probe's items from what one look-up in
	// InfluxDB and its own writes since told it, without asking again (known.go);
	// DefaultKnown when zero, never when negative. Another replica's write for the
	// probe in that time is not seen.
	Known time.Duration
}

// Identity is who submitted a measurement, from the probe's verified token (never from
// the body).
type Identity struct {
	Probe   string `json:"probe"`
	Network string `json:"network"`
	Country string `json:"country"`
	ASN     uint32 `json:"asn"`
}

// Geo is what the collector's MMDB says about the submitting address; zero is unknown.
type Geo struct {
	ASN uint32 `json:"asn"`
	Org string `json:"org"`
}

// Item is one measurement to store.
type Item struct {
	M *measurement.Measurement
	// Raw is M's JSON as the probe submitted it (valid JSON that decodes to M), stored
	// byte for byte; nil: the store stores M encoded (encoding/json, HTML not escaped).
	Raw        []byte
	Probe      Identity
	Geo        Geo
	ReceivedAt time.Time
}

// Store writes to and queries one bucket.
type Store struct {
	cfg    Config
	log    *slog.Logger
	hc     *http.Client
	client influxdb2.Client
	ql     *influxql.Client
	// writeURL is the write endpoint, as the client library's write API builds it.
	writeURL string
	commit   *committer
	guard    *guard
	lookups  lookups
	// Write requests sent and the points in them (see WriteStats), look-up requests.
	requests, requestPoints, lookupRequests atomic.Int64
}

// New returns a Store for cfg. It does not contact InfluxDB; use Ready for that.
func New(cfg Config, log *slog.Logger) (*Store, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("influxdb url: %q is not an http(s) URL", cfg.URL)
	}
	if cfg.Bucket == "" {
		return nil, errors.New(`influxdb bucket: required (InfluxDB 1.8: "db/rp")`)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Writes <= 0 {
		cfg.Writes = DefaultWrites
	}
	if cfg.Linger == 0 {
		cfg.Linger = DefaultLinger
	}
	if cfg.Recent <= 0 {
		cfg.Recent = DefaultRecent
	}
	if cfg.Known == 0 {
		cfg.Known = DefaultKnown
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64 // as many as concurrent ingest writes
	hc := &http.Client{Timeout: cfg.Timeout, Transport: tr}
	opts := influxdb2.DefaultOptions().
		SetHTTPClient(hc).
		SetPrecision(time.Nanosecond). // point times carry a sub-millisecond tiebreak (points.go)
		SetLogLevel(0).                // errors only: every error is returned to us anyway
		SetApplicationName("pantau-collector")
	client := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	db, rp := dbRP(cfg.Bucket)
	s := &Store{
		cfg: cfg, log: log, hc: hc, client: client,
		ql: &influxql.Client{URL: cfg.URL, DB: db, RP: rp, Authorization: authorization(cfg.Org, cfg.Token), HTTP: hc},
	}
	wu, err := url.Parse(client.HTTPService().ServerAPIURL())
	if err == nil {
		wu, err = wu.Parse("write")
	}
	if err != nil {
		return nil, fmt.Errorf("influxdb url: %w", err)
	}
	wu.RawQuery = url.Values{"org": {cfg.Org}, "bucket": {cfg.Bucket}, "precision": {"ns"}}.Encode()
	s.writeURL = wu.String()
	s.commit = newCommitter(s.writeBody, cfg.Writes, cfg.Linger)
	s.guard = newGuard(cfg.Recent)
	return s, nil
}

// Write stores items and returns nil only when InfluxDB accepted every point. An item
// that cannot be stored (see Points) fails the whole call before anything is sent.
// A stored measurement never changes (immutable.go): an item whose (probe, id) is stored
// with the same content is not written again; one stored with other content is refused,
// and Write then returns a *ConflictError after storing the others. Errors wrap
// ErrUnavailable when the caller should retry later. Concurrent calls share write
// requests (group commit, commit.go); a shared request that fails fails each call with
// points in it, and one InfluxDB refuses is retried call by call.
func (s *Store) Write(ctx context.Context, items []Item) error {
	_, err := s.WriteNew(ctx, items)
	return err
}

// WriteNew is Write that also says, when it stored the items (a nil error or a
// *ConflictError), which of them it wrote: false for one stored already with the same
// content, or given earlier in items, and for one refused.
func (s *Store) WriteNew(ctx context.Context, items []Item) ([]bool, error) {
	l := lineSink{buf: getLineBuf()}
	var sc scratch
	checks := make([]itemCheck, len(items))
	ends := make([]lineEnd, len(items))
	for i, it := range items {
		c, err := contentOf(it, &sc.json)
		if err == nil {
			err = mapItem(it, c, &l, &sc)
		}
		if err != nil {
			putLineBuf(l.buf)
			return nil, err
		}
		l.end()
		if i == 0 && len(items) > 1 {
			// Size the buffer once, from the first item, rather than doubling it (a no-op
			// for a pooled buffer big enough).
			l.buf = slices.Grow(l.buf, len(l.buf)*(len(items)-1)*5/4)
		}
		checks[i], ends[i] = newCheck(it, c), lineEnd{len(l.buf), l.points}
	}
	a := s.guard.admit(checks)
	if len(a.ask) > 0 {
		stored, err := s.ask(ctx, a.askChecks())
		if err != nil {
			s.guard.finish(a, false)
			putLineBuf(l.buf)
			return nil, err
		}
		maps.Copy(a.stored, stored)
	}
	s.guard.settle(&a)
	err := s.send(ctx, l.buf, a.parts(l.buf, ends))
	s.guard.finish(a, err == nil)
	if err != nil {
		return nil, err
	}
	written := make([]bool, len(items))
	for i, v := range a.verdict {
		written[i] = v == vWrite
	}
	return written, a.conflicts()
}

// lineEnd is where an item's line protocol ends in the buffer, and the points up to it.
type lineEnd struct{ bytes, points int }

// parts keeps in buf the line protocol of the items a writes (moving it over that of the
// others) and splits it into write requests of at most maxRequestPoints points and
// maxRequestBytes bytes (an item is never split).
func (a admission) parts(buf []byte, ends []lineEnd) []*part {
	var parts []*part
	w, start, startPoints, points, from, fromPoints := 0, 0, 0, 0, 0, 0
	for i, e := range ends {
		n, np := e.bytes-from, e.points-fromPoints
		from, fromPoints = e.bytes, e.points
		if a.verdict[i] != vWrite {
			continue
		}
		if w > start && (points+np-startPoints > maxRequestPoints || w+n-start > maxRequestBytes) {
			parts = append(parts, newPart(buf[start:w:w], points-startPoints))
			start, startPoints = w, points
		}
		w += copy(buf[w:], buf[e.bytes-n:e.bytes])
		points += np
	}
	if w > start {
		parts = append(parts, newPart(buf[start:w], points-startPoints))
	}
	return parts
}

// send writes parts, slices of the pooled line protocol buffer buf, through the group
// commit, and returns buf to the pool once nothing can read it any more. Measurements
// and heartbeats alike are written this way.
func (s *Store) send(ctx context.Context, buf []byte, parts []*part) error {
	if len(parts) == 0 {
		putLineBuf(buf)
		return nil
	}
	err := s.commit.commit(ctx, parts)
	if err == nil && !slices.ContainsFunc(parts, func(p *part) bool { return p.failed }) {
		// Every request holding these bytes was answered 2xx, so InfluxDB had read them
		// all: nothing reads the buffer any more. After an error (a timeout, a reset, a
		// refusal retried part by part), the HTTP transport may still be reading it: it is
		// left to the GC.
		putLineBuf(buf)
	}
	return err
}

// linePool holds line protocol buffers for Write: a batch of 100 measurements takes
// about half a megabyte, which would otherwise be allocated and zeroed per request.
var linePool sync.Pool

func getLineBuf() []byte {
	if b, ok := linePool.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return nil
}

func putLineBuf(b []byte) {
	if cap(b) > 0 && cap(b) <= 4*maxRequestBytes {
		linePool.Put(&b)
	}
}

// WriteStats returns how many write requests Write and WriteHeartbeat have sent to
// InfluxDB and how many points they held: with concurrent writers, group commit makes
// requests bigger.
func (s *Store) WriteStats() (requests, points int64) {
	return s.requests.Load(), s.requestPoints.Load()
}

// writeBody sends one write request made of the line protocol in body, holding points
// points: the one function that writes to InfluxDB. It posts through the client library's
// HTTP service (authorization, user agent, and its errors, which classify reads), without
// first copying body into one string.
func (s *Store) writeBody(ctx context.Context, body [][]byte, points int) error {
	s.requests.Add(1)
	s.requestPoints.Add(int64(points))
	n := 0
	for _, b := range body {
		n += len(b)
	}
	r := net.Buffers(body)
	perr := s.client.HTTPService().DoPostRequest(ctx, s.writeURL, &r, func(req *http.Request) {
		req.ContentLength = int64(n)
	}, func(resp *http.Response) error {
		return resp.Body.Close()
	})
	if perr != nil {
		return s.classify(ctx, fmt.Sprintf("writing %d points to %s", points, s.cfg.Bucket), perr)
	}
	return nil
}

// classify wraps err, adding ErrUnavailable when retrying later may succeed.
func (s *Store) classify(ctx context.Context, what string, err error) error {
	if unavailable(ctx, err) {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// unavailable says whether retrying a write or query that failed with err may succeed:
// ctx ended, no complete answer came, or the status says retry or misconfigured.
func unavailable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var he *ihttp.Error
	var qe *influxql.Error
	var c int
	switch {
	case errors.As(err, &he):
		if overLimit(he.Code + " " + he.Message) {
			return true
		}
		c = he.StatusCode
	case errors.As(err, &qe):
		if qe.Err != nil { // the query's answer never came, or broke off
			return true
		}
		c = qe.StatusCode
	default:
		return false // not about InfluxDB's answer
	}
	switch {
	case c == 0: // no response: refused, reset, timed out, name not resolved
		return true
	case c >= 500, c == http.StatusTooManyRequests, c == http.StatusRequestTimeout,
		c == http.StatusUnauthorized, c == http.StatusForbidden, c == http.StatusNotFound:
		return true
	}
	return false
}

// limitAnswers are the texts of InfluxDB's answers when a write would pass its series or
// values-per-tag limits: 1.8 answers 400 "partial write: max-series-per-database limit
// exceeded: (1000000) dropped=1" or "partial write: max-values-per-tag limit exceeded
// (100000/100000): measurement=… tag=… value=… dropped=1"; 2.x and Cloud speak of a
// cardinality limit (and mostly answer 429). The data is not at fault: once an operator
// raises the limit or drops series, the same write succeeds.
var limitAnswers = []string{"max-series-per-database limit exceeded", "max-values-per-tag limit exceeded", "cardinality limit"}

// overLimit reports whether an error answer's text says a series or tag-values limit
// was reached.
func overLimit(text string) bool {
	text = strings.ToLower(text)
	for _, a := range limitAnswers {
		if strings.Contains(text, a) {
			return true
		}
	}
	return false
}

// Ready checks that InfluxDB answers (GET /ping works on OSS 1.8, 2.x and Cloud).
func (s *Store) Ready(ctx context.Context) error {
	if _, err := s.client.Ping(ctx); err != nil {
		return fmt.Errorf("%w: ping %s: %w", ErrUnavailable, s.cfg.URL, err)
	}
	return nil
}

// Close releases the client's connections.
func (s *Store) Close() {
	s.client.Close()
	s.hc.CloseIdleConnections()
}
