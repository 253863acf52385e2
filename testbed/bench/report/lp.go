package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// schedule is the name the generated measurements and heartbeats carry.
const schedule = "id-telegram-web-2017"

// item is one generated measurement with the identity the collector would store it under.
func (w *world) item(p *probe, domain string, slot int) store.Item {
	t := w.measured(p, domain, slot)
	status, method := w.verdict(p, domain, t, uint64(slot))
	id := hash64(p.name + "\x00" + domain + "\x00" + strconv.Itoa(slot))
	id2 := mix(id)
	var b [16]byte
	for i := range 8 {
		b[i], b[8+i] = byte(id>>(8*i)), byte(id2>>(8*i))
	}
	v := measurement.Verdict{Status: status, Method: method, Reason: reasons[status+method], Evidence: []string{}}
	if method != "" {
		v.Evidence = []string{evidence[method]}
	}
	m := &measurement.Measurement{
		ID: hex.EncodeToString(b[:]), SchemaVersion: measurement.SchemaVersion, Target: "https://" + domain + "/",
		Kind: measurement.KindWeb, Domain: domain, Port: 443, StartedAt: t, RuntimeMS: float64(300 + id2%900),
		Software: measurement.Software{Name: "pantau-probe", Version: "bench"}, Schedule: schedule, Verdict: v,
	}
	n := w.networks[p.net]
	return store.Item{M: m, Probe: store.Identity{Probe: p.name, Network: n.name, Country: "ID", ASN: n.asn},
		Geo: store.Geo{ASN: n.asn, Org: "Bench " + n.name}, ReceivedAt: t.Add(time.Duration(1000+id%4000) * time.Millisecond)}
}

var reasons = map[string]string{
	"accessible":   "the page loaded as the control saw it",
	"blockeddns":   "the resolver answered with a block page address",
	"blockedtls":   "the TLS handshake was reset after the ClientHello with this SNI",
	"down":         "unreachable for the control too",
	"inconclusive": "the measurement timed out",
}

var evidence = map[string]string{
	"dns": "dns udp://10.0.0.1:53 A answer 36.86.63.185 (internet-positif)",
	"tls": "tls 149.154.167.99:443 sni reset; sni swap ok",
}

func domainIndex(ds []string, d string) int {
	for i, x := range ds {
		if x == d {
			return i
		}
	}
	return 0
}

// encoder appends points as line protocol, exactly as the collector's store writes them
// (tags sorted, empty tags omitted, fields in the store's order, nanosecond times).
type encoder struct {
	buf bytes.Buffer
	js  *json.Encoder
	raw bytes.Buffer
}

func newEncoder() *encoder {
	e := &encoder{}
	e.js = json.NewEncoder(&e.raw)
	e.js.SetEscapeHTML(false)
	return e
}

// reach appends the reach point of it (the generated measurements have no observations,
// so reach is their only point).
func (e *encoder) reach(it store.Item) error {
	m := it.M
	e.raw.Reset()
	if err := e.js.Encode(m); err != nil {
		return err
	}
	raw := bytes.TrimSuffix(e.raw.Bytes(), []byte("\n"))
	e.buf.WriteString(store.Reach)
	e.tags(tagKV{"asn", asnTag(it.Probe.ASN)}, tagKV{"country", it.Probe.Country}, tagKV{"domain", m.Domain},
		tagKV{"kind", m.Kind}, tagKV{"network", it.Probe.Network}, tagKV{"probe", it.Probe.Probe})
	e.str(' ', "id", m.ID)
	e.str(',', "target", m.Target)
	e.str(',', "status", m.Verdict.Status)
	e.str(',', "method", m.Verdict.Method)
	e.str(',', "reason", m.Verdict.Reason)
	e.str(',', "evidence", strings.Join(m.Verdict.Evidence, "; "))
	e.str(',', "fingerprints", "")
	e.float("runtime_ms", m.RuntimeMS)
	e.int("port", int64(m.Port))
	e.int("schema_version", int64(m.SchemaVersion))
	e.int("received_at_ms", unixMS(it.ReceivedAt))
	e.int("src_asn", int64(it.Geo.ASN))
	e.str(',', "src_org", it.Geo.Org)
	e.str(',', "schedule", m.Schedule)
	sum := sha256.Sum256(raw)
	e.str(',', "sha256", hex.EncodeToString(sum[:]))
	e.str(',', "raw", string(raw))
	it.Raw = raw // the bytes stored: PointTime need not encode them again
	e.time(store.PointTime(it))
	return nil
}

// heartbeatItem is p's heartbeat received at t.
func (w *world) heartbeatItem(p *probe, t time.Time) store.HeartbeatItem {
	n := w.networks[p.net]
	last := w.start.Add((t.Sub(w.start)-p.offset)/w.cadence*w.cadence + p.offset)
	h := &measurement.Heartbeat{SentAt: t.Add(-time.Second), Software: measurement.Software{Name: "pantau-probe", Version: "bench"},
		SchedulesHash: "bench", Schedules: []measurement.ScheduleStatus{{Name: schedule, LastStart: last,
			LastEnd: last.Add(40 * time.Second), Measurements: len(w.domains), Next: last.Add(w.cadence)}}}
	return store.HeartbeatItem{H: h, Probe: store.Identity{Probe: p.name, Network: n.name, Country: "ID", ASN: n.asn},
		Geo: store.Geo{ASN: n.asn, Org: "Bench " + n.name}, ReceivedAt: t}
}

// heartbeat appends the probe_status and probe_schedule points of it, as
// store.HeartbeatPoints makes them.
func (e *encoder) heartbeat(it store.HeartbeatItem) error {
	h := it.H
	ts := it.ReceivedAt.UTC().Truncate(time.Millisecond)
	sched, err := json.Marshal(h.Schedules)
	if err != nil {
		return err
	}
	id := []tagKV{{"asn", asnTag(it.Probe.ASN)}, {"country", it.Probe.Country}, {"network", it.Probe.Network}, {"probe", it.Probe.Probe}}
	e.buf.WriteString(store.ProbeStatus)
	e.tags(id...)
	e.int0(' ', "sent_at_ms", unixMS(h.SentAt))
	e.str(',', "version", h.Software.Version)
	e.str(',', "schedules_hash", h.SchedulesHash)
	e.str(',', "schedules", string(sched))
	e.int("spool_depth", int64(h.SpoolDepth))
	e.int("spool_bytes", h.SpoolBytes)
	e.int("dropped", h.Dropped)
	e.int("rejected", h.Rejected)
	e.int("corrupt", h.Corrupt)
	e.int("pruned", h.Pruned)
	e.float("clock_offset_ms", h.ClockOffsetMS)
	e.str(',', "sync_error", h.SyncError)
	e.int("src_asn", int64(it.Geo.ASN))
	e.time(ts)
	for _, s := range h.Schedules {
		e.buf.WriteString(store.ProbeSchedule)
		e.tags(append(id, tagKV{"schedule", s.Name})...)
		e.int0(' ', "last_start_ms", unixMS(s.LastStart))
		e.int("last_end_ms", unixMS(s.LastEnd))
		e.int("measurements", int64(s.Measurements))
		e.int("next_ms", unixMS(s.Next))
		e.time(ts)
	}
	return nil
}

func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

type tagKV struct{ k, v string }

// tags appends the tags (given sorted by key), skipping empty values.
func (e *encoder) tags(ts ...tagKV) {
	for _, t := range ts {
		if t.v == "" {
			continue
		}
		e.buf.WriteByte(',')
		e.buf.WriteString(t.k)
		e.buf.WriteByte('=')
		tagEscaper.WriteString(&e.buf, t.v)
	}
}

var (
	tagEscaper = strings.NewReplacer("\t", `\t`, "\n", `\n`, "\f", `\f`, "\r", `\r`, ",", `\,`, " ", `\ `, "=", `\=`)
	strEscaper = strings.NewReplacer("\t", `\t`, "\n", `\n`, "\f", `\f`, "\r", `\r`, `"`, `\"`, `\`, `\\`)
)

func (e *encoder) str(sep byte, k, v string) {
	e.buf.WriteByte(sep)
	e.buf.WriteString(k)
	e.buf.WriteString(`="`)
	strEscaper.WriteString(&e.buf, v)
	e.buf.WriteByte('"')
}

func (e *encoder) int(k string, v int64) { e.int0(',', k, v) }

func (e *encoder) int0(sep byte, k string, v int64) {
	e.buf.WriteByte(sep)
	e.buf.WriteString(k)
	e.buf.WriteByte('=')
	e.buf.Write(strconv.AppendInt(nil, v, 10))
	e.buf.WriteByte('i')
}

func (e *encoder) float(k string, v float64) {
	e.buf.WriteByte(',')
	e.buf.WriteString(k)
	e.buf.WriteByte('=')
	e.buf.Write(strconv.AppendFloat(nil, v, 'f', -1, 64))
}

func (e *encoder) time(t time.Time) {
	e.buf.WriteByte(' ')
	e.buf.Write(strconv.AppendInt(nil, t.UnixNano(), 10))
	e.buf.WriteByte('\n')
}

func asnTag(n uint32) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(n), 10)
}
