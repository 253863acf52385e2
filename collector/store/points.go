package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/pantau-dev/pantau/measurement"
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
// makes a resubmission overwrite instead of duplicate.
func Points(it Item) []*write.Point {
	pts, _, err := points(it)
	if err != nil {
		return nil
	}
	return pts
}

// PointTime is the timestamp of every point of m: started_at truncated to the
// millisecond, plus a sub-millisecond offset derived from the ID. The offset is
// deterministic (resubmissions overwrite) and keeps two measurements of the same series
// started in the same millisecond (two URLs of one domain measured in parallel) apart.
func PointTime(m *measurement.Measurement) time.Time {
	h := fnv.New32a()
	h.Write([]byte(m.ID))
	return m.StartedAt.UTC().Truncate(time.Millisecond).Add(time.Duration(h.Sum32() % 1_000_000))
}

// points builds the points of it and estimates their encoded size in bytes.
func points(it Item) ([]*write.Point, int, error) {
	m := it.M
	if m == nil {
		return nil, 0, fmt.Errorf("item without a measurement")
	}
	raw, err := rawJSON(m)
	if err != nil {
		return nil, 0, fmt.Errorf("measurement %s: encoding JSON: %w", m.ID, err)
	}
	if len(raw) > rawChunk*maxRawChunks {
		return nil, 0, fmt.Errorf("measurement %s: its JSON is %d bytes, more than %d", m.ID, len(raw), rawChunk*maxRawChunks)
	}
	b := builder{ts: PointTime(m), base: []tag{
		{"probe", it.Probe.Probe}, {"network", it.Probe.Network}, {"asn", asn(it.Probe.ASN)},
		{"country", it.Probe.Country}, {"domain", m.Domain}, {"schedule", m.Schedule},
	}, seen: map[string]int{}}

	p := b.point(Reach, tag{"kind", m.Kind})
	p.AddField("id", m.ID).
		AddField("target", m.Target).
		AddField("status", m.Verdict.Status).
		AddField("method", m.Verdict.Method).
		AddField("reason", m.Verdict.Reason).
		AddField("evidence", strings.Join(m.Verdict.Evidence, "; ")).
		AddField("fingerprints", fingerprintNames(m.Fingerprints)).
		AddField("runtime_ms", m.RuntimeMS).
		AddField("port", int64(m.Port)).
		AddField("schema_version", int64(m.SchemaVersion)).
		AddField("received_at_ms", receivedMS(it.ReceivedAt)).
		AddField("src_asn", int64(it.Geo.ASN)).
		AddField("src_org", it.Geo.Org)
	for i, part := range chunks(raw, rawChunk) {
		p.AddField(rawField(i), part)
	}

	for _, q := range m.DNS {
		p := b.point(DNS, tag{"resolver", q.Resolver}, tag{"transport", q.Transport},
			tag{"qtype", q.QType}, tag{"system", strconv.FormatBool(q.System)})
		if p == nil {
			continue
		}
		answers := []byte("[]")
		if len(q.Answers) > 0 {
			answers, _ = json.Marshal(q.Answers) // plain strings and numbers: cannot fail
		}
		p.AddField("id", m.ID).
			AddField("query", q.Query).
			AddField("rcode", q.Rcode).
			AddField("failure", str(q.Failure)).
			AddField("addrs", strings.Join(q.Addrs(), ",")).
			AddField("answers", string(answers)).
			AddField("rtt_ms", q.RTTMS).
			AddField("truncated", q.Truncated).
			AddField("late_replies", int64(len(q.LateReplies))).
			AddField("bogons", int64(len(q.Bogons)))
	}
	for _, c := range m.TCP {
		if p := b.point(TCP); p != nil {
			p.AddField("id", m.ID).
				AddField("ip", c.IP).
				AddField("port", int64(c.Port)).
				AddField("origin", c.Origin).
				AddField("failure", str(c.Failure)).
				AddField("time_ms", c.TimeMS)
		}
	}
	for _, h := range m.TLS {
		if p := b.point(TLS); p != nil {
			leaf := ""
			if len(h.Certificates) > 0 {
				leaf = h.Certificates[0].SHA256
			}
			p.AddField("id", m.ID).
				AddField("ip", h.IP).
				AddField("port", int64(h.Port)).
				AddField("sni", h.SNI).
				AddField("sni_swap", h.SNISwap).
				AddField("failure", str(h.Failure)).
				AddField("version", h.Version).
				AddField("cert_valid", h.CertValid).
				AddField("leaf_sha256", leaf).
				AddField("time_ms", h.TimeMS)
		}
	}
	for _, r := range m.HTTP {
		if p := b.point(HTTP); p != nil {
			p.AddField("id", m.ID).
				AddField("url", r.URL).
				AddField("method", r.Method).
				AddField("address", r.Address).
				AddField("status", int64(r.Status)).
				AddField("failure", str(r.Failure)).
				AddField("body_length", r.BodyLength).
				AddField("body_truncated", r.BodyTruncated).
				AddField("body_sha256", r.BodySHA256).
				AddField("title", r.Title).
				AddField("time_ms", r.TimeMS)
		}
	}
	for _, p := range b.pts {
		for _, t := range p.TagList() {
			if strings.Contains(t.Value, `\`) {
				// Before a separator, a backslash in a tag value would escape it.
				return nil, 0, fmt.Errorf("measurement %s: tag %s=%q: line protocol cannot carry a backslash in a tag", m.ID, t.Key, t.Value)
			}
		}
	}
	return b.pts, len(raw) + 400*len(b.pts), nil
}

type tag struct{ k, v string }

// builder makes the points of one measurement.
type builder struct {
	ts   time.Time
	base []tag
	pts  []*write.Point
	seen map[string]int // points per measurement name and extra tags, for `n`
}

// point adds a point with the base tags, extra and the ordinal tag n (among the points of
// this measurement with the same name and extra tags); nil past maxOrdinal. reach has no n.
func (b *builder) point(name string, extra ...tag) *write.Point {
	p := write.NewPointWithMeasurement(name).SetTime(b.ts)
	for _, t := range append(b.base[:len(b.base):len(b.base)], extra...) {
		if t.v != "" { // empty tags are omitted: line protocol has no empty tag values
			p.AddTag(t.k, t.v)
		}
	}
	if name != Reach {
		key := name
		for _, t := range extra {
			key += "\x00" + t.v
		}
		n := b.seen[key]
		if n > maxOrdinal {
			return nil
		}
		b.seen[key] = n + 1
		p.AddTag("n", strconv.Itoa(n))
	}
	p.SortTags()
	b.pts = append(b.pts, p)
	return p
}

// rawJSON encodes m without HTML escaping (the field is read by programs, not browsers).
func rawJSON(m *measurement.Measurement) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// chunks splits s into pieces of at most n bytes without splitting a UTF-8 sequence.
func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return append(out, s)
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
