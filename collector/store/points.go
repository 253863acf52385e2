package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// Measurement (table) names.
const (
	Reach = "reach"
	DNS   = "dns"
	TCP   = "tcp"
	TLS   = "tls"
	HTTP  = "http"
)

const (
	// maxOrdinal caps the `n` tag: observations past it are kept in `raw` only.
	maxOrdinal = 63
	// rawChunk is the largest string field written: InfluxDB documents 64 KiB as the
	// limit, so longer JSON continues in raw_1, raw_2, ….
	rawChunk = 60000
	// maxRawChunks bounds the JSON of one measurement to about 3.8 MB.
	maxRawChunks = 64
)

// Points maps an item to its points (schema: docs/storage.md); nil when Write would
// refuse the item. It is pure: the same item always gives the same points, which is what
// makes a resubmission overwrite instead of duplicate. Write encodes the same points
// straight to line protocol (lineproto.go); TestLineProtocolMatchesPoints checks they agree.
func Points(it Item) []*write.Point {
	var ps pointSink
	c, err := contentOf(it, new(bytes.Buffer))
	if err != nil {
		return nil
	}
	if err := mapItem(it, c, &ps, new(scratch)); err != nil {
		return nil
	}
	return ps.pts
}

// sink receives the points of one measurement: point starts one (tags sorted by key, none
// empty), the other methods add a field to it (bytes: a string field, valid only during
// the call).
type sink interface {
	point(name string, ts time.Time, tags []tag)
	str(key, v string)
	bytes(key string, v []byte)
	integer(key string, v int64)
	float(key string, v float64)
	boolean(key string, v bool)
}

// scratch is memory Write reuses from one item to the next.
type scratch struct {
	json bytes.Buffer // the measurement's JSON, for an item without Raw
	sum  [2 * sha256.Size]byte
	tags []tag
	seen []ordCount
}

// mapItem gives the points of it, whose JSON is c (contentOf), to s, using sc for its
// working memory. On an error, s may have received some points.
func mapItem(it Item, c content, s sink, sc *scratch) error {
	m := it.M
	// The tags: the identity from the token, and of the body only the domain, which
	// readers select by (its new values per probe are capped at ingest). Schedule and
	// resolver are fields: no reader selects by them, and as tags each new value the
	// body makes up would be new series.
	b := builder{s: s, id: m.ID, ts: pointTime(it, c.sum), base: [...]tag{
		{"probe", it.Probe.Probe}, {"network", it.Probe.Network}, {"asn", asn(it.Probe.ASN)},
		{"country", it.Probe.Country}, {"domain", m.Domain},
	}, tags: sc.tags[:0], seen: sc.seen[:0]}
	b.reach(it)
	hex.Encode(sc.sum[:], c.sum[:])
	s.bytes("sha256", sc.sum[:])
	// The JSON as submitted, escaped as a string field in one pass (appendStringField).
	if len(c.raw) <= rawChunk {
		s.bytes(rawField(0), c.raw)
	} else {
		for i, part := range chunks(c.raw, rawChunk) {
			s.bytes(rawField(i), part)
		}
	}
	b.dns(m.DNS)
	b.tcp(m.TCP)
	b.tls(m.TLS)
	b.http(m.HTTP)
	sc.tags, sc.seen = b.tags, b.seen
	return b.err
}

// reach starts the reach point of it and gives it every field but the raw JSON.
func (b *builder) reach(it Item) {
	m, s := it.M, b.s
	b.point(Reach, tag{"kind", m.Kind})
	s.str("id", m.ID)
	s.str("target", m.Target)
	s.str("status", m.Verdict.Status)
	s.str("method", m.Verdict.Method)
	s.str("reason", m.Verdict.Reason)
	s.str("evidence", strings.Join(m.Verdict.Evidence, "; "))
	s.str("fingerprints", fingerprintNames(m.Fingerprints))
	s.float("runtime_ms", m.RuntimeMS)
	s.integer("port", int64(m.Port))
	s.integer("schema_version", int64(m.SchemaVersion))
	s.integer("received_at_ms", receivedMS(it.ReceivedAt))
	s.integer("src_asn", int64(it.Geo.ASN))
	s.str("src_org", it.Geo.Org)
	s.str("schedule", m.Schedule)
}

// dns gives the dns points, one per question.
func (b *builder) dns(qs []measurement.DNSQuery) {
	s := b.s
	for _, q := range qs {
		if !b.point(DNS, tag{"transport", q.Transport}, tag{"qtype", q.QType}, tag{"system", strconv.FormatBool(q.System)}) {
			continue
		}
		answers := []byte("[]")
		if len(q.Answers) > 0 {
			answers, _ = json.Marshal(q.Answers) // plain strings and numbers: cannot fail
		}
		s.str("id", b.id)
		s.str("resolver", q.Resolver)
		s.str("query", q.Query)
		s.str("rcode", q.Rcode)
		s.str("failure", str(q.Failure))
		s.str("addrs", strings.Join(q.Addrs(), ","))
		s.str("answers", string(answers))
		s.float("rtt_ms", q.RTTMS)
		s.boolean("truncated", q.Truncated)
		s.integer("late_replies", int64(len(q.LateReplies)))
		s.integer("bogons", int64(len(q.Bogons)))
	}
}

// tcp gives the tcp points, one per connect.
func (b *builder) tcp(cs []measurement.TCPConnect) {
	s := b.s
	for _, c := range cs {
		if b.point(TCP) {
			s.str("id", b.id)
			s.str("ip", c.IP)
			s.integer("port", int64(c.Port))
			s.str("origin", c.Origin)
			s.str("failure", str(c.Failure))
			s.float("time_ms", c.TimeMS)
		}
	}
}

// tls gives the tls points, one per handshake.
func (b *builder) tls(hs []measurement.TLSHandshake) {
	s := b.s
	for _, h := range hs {
		if b.point(TLS) {
			leaf := ""
			if len(h.Certificates) > 0 {
				leaf = h.Certificates[0].SHA256
			}
			s.str("id", b.id)
			s.str("ip", h.IP)
			s.integer("port", int64(h.Port))
			s.str("sni", h.SNI)
			s.boolean("sni_swap", h.SNISwap)
			s.str("failure", str(h.Failure))
			s.str("version", h.Version)
			s.boolean("cert_valid", h.CertValid)
			s.str("leaf_sha256", leaf)
			s.float("time_ms", h.TimeMS)
		}
	}
}

// http gives the http points, one per request.
func (b *builder) http(rs []measurement.HTTPRequest) {
	s := b.s
	for _, r := range rs {
		if b.point(HTTP) {
			s.str("id", b.id)
			s.str("url", r.URL)
			s.str("method", r.Method)
			s.str("address", r.Address)
			s.integer("status", int64(r.Status))
			s.str("failure", str(r.Failure))
			s.integer("body_length", r.BodyLength)
			s.boolean("body_truncated", r.BodyTruncated)
			s.str("body_sha256", r.BodySHA256)
			s.str("title", r.Title)
			s.float("time_ms", r.TimeMS)
		}
	}
}

type tag struct{ k, v string }

// ordKey is a measurement name with the values of its extra tags (at most 3: dns).
type ordKey struct {
	name  string
	extra [3]string
}

type ordCount struct {
	key ordKey
	n   int
}

// builder starts the points of one measurement.
type builder struct {
	s    sink
	id   string
	ts   time.Time
	base [5]tag
	tags []tag
	seen []ordCount // points per measurement name and extra tags, for `n`: a few keys
	err  error      // the first tag line protocol cannot carry
}

// point starts a point with the base tags, extra and the ordinal tag n (among the points
// of this measurement with the same name and extra tags); false past maxOrdinal. reach has
// no n.
func (b *builder) point(name string, extra ...tag) bool {
	tags := b.tags[:0]
	for _, t := range b.base {
		if t.v != "" { // empty tags are omitted: line protocol has no empty tag values
			tags = append(tags, t)
		}
	}
	for _, t := range extra {
		if t.v != "" {
			tags = append(tags, t)
		}
	}
	if name != Reach {
		key := ordKey{name: name}
		for i, t := range extra {
			key.extra[i] = t.v
		}
		k := 0
		for k < len(b.seen) && b.seen[k].key != key {
			k++
		}
		if k == len(b.seen) {
			b.seen = append(b.seen, ordCount{key: key})
		}
		n := b.seen[k].n
		if n > maxOrdinal {
			return false
		}
		b.seen[k].n = n + 1
		tags = append(tags, tag{"n", ordinal(n)})
	}
	// Insertion sort: a dozen tags at most, and no allocation.
	for i := 1; i < len(tags); i++ {
		for j := i; j > 0 && tags[j].k < tags[j-1].k; j-- {
			tags[j], tags[j-1] = tags[j-1], tags[j]
		}
	}
	for _, t := range tags {
		if b.err == nil && strings.Contains(t.v, `\`) {
			// Before a separator, a backslash in a tag value would escape it.
			b.err = fmt.Errorf("measurement %s: tag %s=%q: line protocol cannot carry a backslash in a tag", b.id, t.k, t.v)
		}
	}
	b.tags = tags
	b.s.point(name, b.ts, tags)
	return true
}

// ordinal formats n ≤ maxOrdinal without allocating.
func ordinal(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return strconv.Itoa(n)
}

// pointSink collects write.Points (Points).
type pointSink struct {
	pts []*write.Point
	p   *write.Point
}

func (ps *pointSink) point(name string, ts time.Time, tags []tag) {
	ps.p = write.NewPointWithMeasurement(name).SetTime(ts)
	for _, t := range tags {
		ps.p.AddTag(t.k, t.v)
	}
	ps.pts = append(ps.pts, ps.p)
}

func (ps *pointSink) str(key, v string)           { ps.p.AddField(key, v) }
func (ps *pointSink) bytes(key string, v []byte)  { ps.p.AddField(key, string(v)) }
func (ps *pointSink) integer(key string, v int64) { ps.p.AddField(key, v) }
func (ps *pointSink) float(key string, v float64) { ps.p.AddField(key, v) }
func (ps *pointSink) boolean(key string, v bool)  { ps.p.AddField(key, v) }

// chunks splits b into pieces of at most n bytes without splitting a UTF-8 sequence.
func chunks(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		i := n
		for i > 0 && !utf8.RuneStart(b[i]) {
			i--
		}
		out = append(out, b[:i])
		b = b[i:]
	}
	return append(out, b)
}

// rawField names the i-th chunk of the JSON: raw, raw_1, raw_2, ….
func rawField(i int) string {
	if i == 0 {
		return "raw"
	}
	return "raw_" + strconv.Itoa(i)
}

func fingerprintNames(fs []measurement.FingerprintMatch) string {
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		if !slices.Contains(names, f.Name) {
			names = append(names, f.Name)
		}
	}
	return strings.Join(names, ",")
}

func asn(n uint32) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(n), 10)
}

func receivedMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
