package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// Put writes m to the spool; when it returns nil, m survives a crash or a power loss.
// If the queue then exceeds MaxBytes, the oldest entries are dropped, counted and logged.
// A measurement larger than MaxBytes on its own is not spooled: it is counted as
// dropped and Put returns ErrTooLarge. When the disk is full, the oldest entries are
// dropped (counted and logged) until m fits; if the queue is empty and m still does not
// fit, m is counted as dropped and Put returns ErrDiskFull.
func (s *Spool) Put(m *measurement.Measurement) error {
	if m == nil || m.ID == "" {
		return errors.New("spool: measurement without an id")
	}
	body, jsonLen, err := encode(m)
	if err != nil {
		return err
	}
	size := int64(len(body))
	if size > s.max {
		return s.tooLarge(m.ID, size)
	}
	e := &entry{id: m.ID, size: size, jsonLen: jsonLen, at: m.StartedAt}
	for {
		err := s.put(e, body)
		if err == nil || !isNoSpace(err) {
			return err
		}
		if err := s.makeRoom(e, err); err != nil {
			return err
		}
	}
}

// put writes body as the entry e: a temp file written and fsynced without the lock (the
// expensive part), renamed into the queue under it.
func (s *Spool) put(e *entry, body []byte) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("spool: writing measurement %s: %w", e.id, ErrClosed)
	}
	tmp, err := writeTemp(s.queue, "put-*"+tmpExt, body)
	if err != nil {
		return fmt.Errorf("spool: writing measurement %s: %w", e.id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = os.Remove(tmp)
		return fmt.Errorf("spool: writing measurement %s: %w", e.id, ErrClosed)
	}
	// The sequence number is the enqueue time in nanoseconds, forced to grow.
	s.last = max(s.last+1, uint64(max(time.Now().UnixNano(), 0)))
	e.seq, e.name = s.last, entryName(s.last, e.id)
	p := filepath.Join(s.queue, e.name)
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("spool: writing measurement %s: %w", e.id, err)
	}
	if err := syncDir(s.queue); err != nil {
		_ = os.Remove(p) // not known to be durable: the caller is told it was not spooled
		return fmt.Errorf("spool: writing measurement %s: %w", e.id, err)
	}
	s.add(e)
	s.enforce()
	s.flushCounters()
	return nil
}

// makeRoom answers a full disk, on which writing the entry e failed with cause: it drops
// the oldest entries, at least one and at least e's size, so that the newest measurement
// is kept, as the bound does. With nothing queued there is nothing to drop: e itself is
// counted as dropped and the error returned wraps ErrDiskFull.
func (s *Spool) makeRoom(e *entry, cause error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("spool: writing measurement %s: %w", e.id, ErrClosed)
	}
	n, nb := 0, int64(0)
	for n < len(s.entries) && (n == 0 || nb < e.size) {
		nb += s.entries[n].size
		n++
	}
	if n == 0 {
		s.c.Dropped++
		s.c.DroppedBytes += e.size
		s.keepCounters()
		s.log.Error("spool: disk full and nothing queued to drop; measurement dropped", "id", e.id, "bytes", e.size,
			"total_dropped", s.c.Dropped, "err", cause)
		return fmt.Errorf("%w; nothing queued to drop: %w", cause, ErrDiskFull)
	}
	s.dropOldest(n, nb)
	s.log.Warn("spool: disk full: oldest measurements dropped to make room", "dropped", n, "dropped_bytes", nb,
		"total_dropped", s.c.Dropped, "depth", len(s.entries), "err", cause)
	return nil
}

// tooLarge counts a measurement that cannot fit the spool at all.
func (s *Spool) tooLarge(id string, size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("spool: writing measurement %s: %w", id, ErrClosed)
	}
	s.c.Dropped++
	s.c.DroppedBytes += size
	s.keepCounters()
	s.log.Warn("spool: measurement too large to spool; dropped", "id", id, "bytes", size, "max_bytes", s.max,
		"total_dropped", s.c.Dropped)
	return fmt.Errorf("spool: measurement %s: %d bytes, more than the spool's bound of %d: %w", id, size, s.max, ErrTooLarge)
}

// enforce drops the oldest entries while the queue exceeds MaxBytes. The caller holds
// the lock.
func (s *Spool) enforce() {
	n, nb := 0, int64(0)
	for s.bytes-nb > s.max && n < len(s.entries) {
		nb += s.entries[n].size
		n++
	}
	if n == 0 {
		return
	}
	s.dropOldest(n, nb)
	s.log.Warn("spool full: oldest measurements dropped", "dropped", n, "dropped_bytes", nb, "max_bytes", s.max,
		"total_dropped", s.c.Dropped, "depth", len(s.entries))
}

// dropOldest deletes the n oldest entries, nb bytes, and counts them. The counters are
// saved before any file is removed, so a crash can make them count an entry that is
// still there but never miss one that is gone; on a full disk they may not be savable
// until the files are gone, and are saved then. The caller holds the lock.
func (s *Spool) dropOldest(n int, nb int64) {
	s.c.Dropped += int64(n)
	s.c.DroppedBytes += nb
	s.keepCounters()
	for _, e := range s.entries[:n] {
		if err := os.Remove(filepath.Join(s.queue, e.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Error("spool: dropped entry could not be removed", "file", e.name, "err", err)
		}
		s.forget(e)
	}
	if err := syncDir(s.queue); err != nil {
		s.log.Error("spool: syncing the queue directory", "err", err)
	}
	s.compact()
	s.flushCounters()
}

// Batch returns up to max measurements, oldest first, without removing them; it stops
// before the JSON of the measurements would exceed maxBytes, but always returns at least
// one if the queue is not empty. maxBytes <= 0 means no byte bound; max <= 0 returns
// nothing. Entries that are damaged on disk are moved to corrupt/ and counted, and the
// batch continues with the next ones.
func (s *Spool) Batch(max int, maxBytes int64) ([]*measurement.Measurement, error) {
	var out []*measurement.Measurement
	var size int64
	var after uint64 // the seq of the last entry looked at
	for len(out) < max {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, fmt.Errorf("spool: batch: %w", ErrClosed)
		}
		i := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].seq > after })
		chunk := append([]*entry(nil), s.entries[i:i+min(max-len(out), len(s.entries)-i)]...)
		s.mu.Unlock()
		if len(chunk) == 0 {
			break
		}
		for _, e := range chunk {
			after = e.seq
			if maxBytes > 0 && len(out) > 0 && size+e.jsonLen > maxBytes {
				return out, nil
			}
			b, err := os.ReadFile(filepath.Join(s.queue, e.name))
			if errors.Is(err, fs.ErrNotExist) {
				s.vanished(e)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("spool: batch: %w", err)
			}
			m, _, err := decode(b)
			if err != nil {
				s.quarantine(e, err)
				continue
			}
			out = append(out, m)
			size += e.jsonLen
		}
	}
	return out, nil
}

// vanished handles an entry whose file is gone: fine if it was acknowledged, dropped or
// rejected meanwhile; otherwise someone removed it, and it is counted as corrupt.
func (s *Spool) vanished(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.gone || s.closed {
		return
	}
	s.forget(e)
	s.compact()
	s.c.Corrupt++
	s.keepCounters()
	s.log.Error("spool: entry file removed behind the spool's back; counted as corrupt", "file", e.name, "id", e.id)
}

// quarantine moves a damaged entry to corrupt/ and counts it.
func (s *Spool) quarantine(e *entry, cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.gone || s.closed {
		return
	}
	s.setAside(e.name, cause)
	s.forget(e)
	s.compact()
	s.pruneAside()
}

// Ack removes acknowledged measurements and makes the removal durable. Unknown IDs are
// ignored: the entry was acknowledged before, or dropped. Every entry with a given ID
// goes (a measurement spooled twice is one measurement).
func (s *Spool) Ack(ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("spool: ack: %w", ErrClosed)
	}
	var errs []error
	removed := false
	for _, id := range ids {
		for _, e := range append([]*entry(nil), s.byID[id]...) {
			if err := os.Remove(filepath.Join(s.queue, e.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				continue // it stays queued and is sent again
			}
			s.forget(e)
			removed = true
		}
	}
	if removed {
		s.compact()
		if err := syncDir(s.queue); err != nil {
			errs = append(errs, err)
		}
		s.flushCounters() // the space just freed may let them be saved
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spool: ack: %w", err)
	}
	return nil
}

// Reject moves the measurement id, which the collector refused, to rejected/ with reason
// in a .reason file beside it, and counts it. An unknown ID is ignored.
func (s *Spool) Reject(id, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("spool: reject: %w", ErrClosed)
	}
	list := append([]*entry(nil), s.byID[id]...)
	if len(list) == 0 {
		s.log.Debug("spool: rejection of a measurement no longer queued", "id", id)
		return nil
	}
	var errs []error
	for _, e := range list {
		s.c.Rejected++ // counted first: a crash may count it twice, never not at all
		if err := s.saveCounters(); err != nil {
			s.c.Rejected--
			errs = append(errs, err) // it stays queued and is sent again
			continue
		}
		dst, err := s.moveAside(e.name, s.rejected, reason)
		if err != nil {
			s.c.Rejected--
			s.keepCounters()
			errs = append(errs, err)
			continue
		}
		s.forget(e)
		s.log.Warn("spool: measurement refused by the collector; kept aside", "id", id, "file", dst, "reason", reason)
	}
	s.compact()
	s.pruneAside()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spool: reject %s: %w", id, err)
	}
	return nil
}
