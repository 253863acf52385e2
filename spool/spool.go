// Package spool is the probe's durable queue of measurements: each one is written to disk
// (fsync of the file, rename into place, fsync of the folder) before it is submitted, and
// removed only after the collector acknowledged it. It is bounded in bytes with an
// explicit oldest-first drop policy; drops, refusals and damaged entries are counted,
// persisted, and reported in heartbeats — never silent. Layout: docs/spool.md.
package spool

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/measurement"
)

// Options configure a Spool.
type Options struct {
	Dir      string
	MaxBytes int64 // default 256 MiB
	Log      *slog.Logger
}

// Stats describe the spool; the counters are cumulative across restarts.
type Stats struct {
	Depth        int
	Bytes        int64
	Dropped      int64
	DroppedBytes int64
	Rejected     int64
	Corrupt      int64
	Oldest       time.Time
}

// Spool is safe for concurrent use.
type Spool struct {
	dir, queue string
	max        int64
	log        *slog.Logger

	mu      sync.Mutex
	seq     uint64
	entries []entry // in enqueue order
	byID    map[string]int
	bytes   int64
	c       counters
}

type entry struct {
	name string // file name in queue/
	id   string
	size int64
	at   time.Time
}

type counters struct {
	Dropped      int64 `json:"dropped"`
	DroppedBytes int64 `json:"dropped_bytes"`
	Rejected     int64 `json:"rejected"`
	Corrupt      int64 `json:"corrupt"`
}

// Open opens (or creates) the spool in o.Dir and recovers from a crash: leftover temp
// files are removed, damaged entries moved to corrupt/ and counted.
func Open(o Options) (*Spool, error) {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 20
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Spool{dir: o.Dir, queue: filepath.Join(o.Dir, "queue"), max: o.MaxBytes, log: o.Log, byID: map[string]int{}}
	for _, d := range []string{s.queue, filepath.Join(o.Dir, "rejected"), filepath.Join(o.Dir, "corrupt")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(o.Dir, "counters.json")); err == nil {
		_ = json.Unmarshal(b, &s.c) // damaged counters restart at zero; entries are unaffected
	}
	names, err := os.ReadDir(s.queue)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, de := range names {
		n := de.Name()
		p := filepath.Join(s.queue, n)
		if strings.HasSuffix(n, ".tmp") {
			_ = os.Remove(p) // never renamed: its Put did not return
			continue
		}
		m, size, err := readEntry(p)
		if err != nil {
			s.c.Corrupt++
			s.log.Warn("spool: damaged entry moved aside", "file", n, "err", err)
			_ = os.Rename(p, filepath.Join(o.Dir, "corrupt", n))
			continue
		}
		seq, _ := strconv.ParseUint(strings.SplitN(n, "-", 2)[0], 10, 64)
		s.seq = max(s.seq, seq)
		s.entries = append(s.entries, entry{name: n, id: m.ID, size: size, at: m.StartedAt})
	}
	sort.Slice(s.entries, func(i, j int) bool { return s.entries[i].name < s.entries[j].name })
	s.reindex()
	if err := s.saveCounters(); err != nil {
		return nil, err
	}
	return s, nil
}

// Put writes m durably; when it returns nil, m survives a crash or power loss. If the
// spool would exceed its bound, the oldest entries are dropped first, and counted.
func (s *Spool) Put(m *measurement.Measurement) error {
	body, err := encode(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	name := fmt.Sprintf("%020d-%s.json", s.seq, safeID(m.ID))
	tmp := filepath.Join(s.queue, name+".tmp")
	if err := writeSync(tmp, body); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.queue, name)); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := syncDir(s.queue); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.entries = append(s.entries, entry{name: name, id: m.ID, size: int64(len(body)), at: m.StartedAt})
	s.byID[m.ID] = len(s.entries) - 1
	s.bytes += int64(len(body))
	dropped := 0
	for s.bytes > s.max && len(s.entries) > 1 {
		old := s.entries[0]
		_ = os.Remove(filepath.Join(s.queue, old.name))
		s.entries = s.entries[1:]
		s.bytes -= old.size
		s.c.Dropped++
		s.c.DroppedBytes += old.size
		dropped++
	}
	if dropped > 0 {
		s.reindex()
		s.log.Warn("spool full: oldest measurements dropped", "dropped", dropped, "total_dropped", s.c.Dropped)
		return s.saveCounters()
	}
	return nil
}

// Batch returns up to n measurements (and about maxBytes), oldest first, without
// removing them.
func (s *Spool) Batch(n int, maxBytes int64) ([]*measurement.Measurement, error) {
	s.mu.Lock()
	list := append([]entry(nil), s.entries[:min(n, len(s.entries))]...)
	s.mu.Unlock()
	var out []*measurement.Measurement
	var size int64
	for _, e := range list {
		if len(out) > 0 && size+e.size > maxBytes {
			break
		}
		m, _, err := readEntry(filepath.Join(s.queue, e.name))
		if errors.Is(err, os.ErrNotExist) {
			continue // acked or dropped meanwhile
		}
		if err != nil {
			s.quarantine(e, err)
			continue
		}
		out = append(out, m)
		size += e.size
	}
	return out, nil
}

// Ack removes acknowledged measurements; unknown IDs are ignored.
func (s *Spool) Ack(ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	removed := false
	for _, id := range ids {
		i, ok := s.byID[id]
		if !ok {
			continue
		}
		e := s.entries[i]
		if err := os.Remove(filepath.Join(s.queue, e.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
		s.entries[i].name = "" // compacted below
		s.bytes -= e.size
		delete(s.byID, id)
		removed = true
	}
	if !removed {
		return nil
	}
	s.compact()
	return syncDir(s.queue)
}

// Reject moves a measurement the collector refused to rejected/, with the reason beside
// it, and counts it.
func (s *Spool) Reject(id, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byID[id]
	if !ok {
		return nil
	}
	e := s.entries[i]
	dst := filepath.Join(s.dir, "rejected", e.name)
	if err := os.Rename(filepath.Join(s.queue, e.name), dst); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	_ = os.WriteFile(dst+".reason", []byte(reason+"\n"), 0o600)
	s.entries[i].name = ""
	s.bytes -= e.size
	delete(s.byID, id)
	s.compact()
	s.c.Rejected++
	return s.saveCounters()
}

// Stats returns the spool's state.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Depth: len(s.entries), Bytes: s.bytes, Dropped: s.c.Dropped, DroppedBytes: s.c.DroppedBytes, Rejected: s.c.Rejected, Corrupt: s.c.Corrupt}
	if len(s.entries) > 0 {
		st.Oldest = s.entries[0].at
	}
	return st
}

// Close saves the counters.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveCounters()
}

func (s *Spool) quarantine(e entry, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byID[e.id]
	if !ok {
		return
	}
	s.log.Warn("spool: damaged entry moved aside", "file", e.name, "err", err)
	_ = os.Rename(filepath.Join(s.queue, e.name), filepath.Join(s.dir, "corrupt", e.name))
	s.entries[i].name = ""
	s.bytes -= e.size
	delete(s.byID, e.id)
	s.compact()
	s.c.Corrupt++
	_ = s.saveCounters()
}

// compact drops removed entries and rebuilds the index.
func (s *Spool) compact() {
	kept := s.entries[:0]
	for _, e := range s.entries {
		if e.name != "" {
			kept = append(kept, e)
		}
	}
	s.entries = kept
	s.reindex()
}

func (s *Spool) reindex() {
	s.byID = make(map[string]int, len(s.entries))
	s.bytes = 0
	for i, e := range s.entries {
		s.byID[e.id] = i
		s.bytes += e.size
	}
}

// saveCounters writes the counters atomically (temp file, fsync, rename).
func (s *Spool) saveCounters() error {
	b, _ := json.Marshal(s.c)
	p := filepath.Join(s.dir, "counters.json")
	if err := writeSync(p+".tmp", b); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// An entry file is "pantau-spool-1 <sha256 hex>\n" followed by the measurement's JSON,
// so a torn or damaged write is detected.
const magic = "pantau-spool-1 "

func encode(m *measurement.Measurement) ([]byte, error) {
	js, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("spool: encoding %s: %w", m.ID, err)
	}
	sum := sha256.Sum256(js)
	var b bytes.Buffer
	b.WriteString(magic)
	b.WriteString(hex.EncodeToString(sum[:]))
	b.WriteByte('\n')
	b.Write(js)
	return b.Bytes(), nil
}

func readEntry(p string) (*measurement.Measurement, int64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, 0, err
	}
	head, js, ok := bytes.Cut(b, []byte("\n"))
	if !ok || !bytes.HasPrefix(head, []byte(magic)) {
		return nil, 0, errors.New("no spool header")
	}
	sum := sha256.Sum256(js)
	if string(head[len(magic):]) != hex.EncodeToString(sum[:]) {
		return nil, 0, errors.New("checksum mismatch (torn or damaged write)")
	}
	var m measurement.Measurement
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, 0, err
	}
	return &m, int64(len(b)), nil
}

func writeSync(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// safeID keeps an ID usable in a file name.
func safeID(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, id)
}
