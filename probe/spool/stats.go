package spool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// counters is the content of Dir/counters.json.
type counters struct {
	Dropped      int64 `json:"dropped"`
	DroppedBytes int64 `json:"dropped_bytes"`
	Rejected     int64 `json:"rejected"`
	Corrupt      int64 `json:"corrupt"`
	Pruned       int64 `json:"pruned"`
	PrunedBytes  int64 `json:"pruned_bytes"`
}

const countersFile = "counters.json"

// loadCounters reads counters.json; a damaged one is kept as counters.json.bad and the
// counters start again from zero, with an error logged.
func (s *Spool) loadCounters() error {
	p := filepath.Join(s.dir, countersFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &s.c); err != nil {
		s.c = counters{}
		bad := freeName(s.dir, countersFile+".bad")
		s.log.Error("spool: counters file damaged; counting again from zero", "kept_as", bad, "err", err)
		return os.Rename(p, filepath.Join(s.dir, bad))
	}
	return nil
}

// countersSize is the size counters.json is padded to with spaces (JSON allows them), so
// that on a full disk it can be overwritten in place, which needs no new block.
const countersSize = 512

// encode returns counters.json's content: the JSON, spaces, a newline.
func (c counters) encode() []byte {
	b, _ := json.Marshal(c) // integers only
	if pad := countersSize - 1 - len(b); pad > 0 {
		b = append(b, bytes.Repeat([]byte{' '}, pad)...)
	}
	return append(b, '\n')
}

// saveCounters replaces counters.json atomically and durably. When the disk has no room
// for the new file, it overwrites the old one in place instead (one 512-byte write,
// fsynced). The caller holds the lock.
func (s *Spool) saveCounters() error {
	b := s.c.encode()
	err := writeFileSync(s.dir, countersFile, b)
	if err == nil {
		err = syncDir(s.dir)
	} else if isNoSpace(err) {
		if ierr := overwrite(filepath.Join(s.dir, countersFile), b); ierr == nil {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("saving the counters: %w", err)
	}
	if s.dirty {
		s.dirty = false
		s.log.Info("spool: counters saved again", "dropped", s.c.Dropped, "rejected", s.c.Rejected, "corrupt", s.c.Corrupt, "pruned", s.c.Pruned)
	}
	return nil
}

// keepCounters saves the counters; when they cannot be saved they are kept in memory
// (Stats and heartbeats report them) and saved at the next chance (flushCounters). The
// caller holds the lock.
func (s *Spool) keepCounters() {
	err := s.saveCounters()
	if err == nil {
		return
	}
	if !s.dirty {
		s.log.Error("spool: counters not saved; kept in memory and saved as soon as possible", "err", err)
	}
	s.dirty = true
}

// flushCounters saves counters that could not be saved before. The caller holds the lock.
func (s *Spool) flushCounters() {
	if s.dirty {
		_ = s.saveCounters()
	}
}

// Stats returns the spool's state and counters.
// Counters that could not be saved are tried again first.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.flushCounters()
	}
	st := Stats{Depth: len(s.entries), Bytes: s.bytes, Dropped: s.c.Dropped, DroppedBytes: s.c.DroppedBytes,
		Rejected: s.c.Rejected, Corrupt: s.c.Corrupt, Pruned: s.c.Pruned, PrunedBytes: s.c.PrunedBytes}
	if len(s.entries) > 0 {
		st.Oldest = s.entries[0].at
	}
	return st
}

// ReadStats describes the spool in dir without opening it, so another process (`probe
// status`) can look while the agent holds the spool. Entries are counted, not verified;
// Oldest comes from the first entry that decodes.
func ReadStats(dir string) (Stats, error) {
	var st Stats
	var c counters
	b, err := os.ReadFile(filepath.Join(dir, countersFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("spool: %w", err)
	}
	if err == nil {
		if err := json.Unmarshal(b, &c); err != nil {
			return st, fmt.Errorf("spool: %s: %w", countersFile, err)
		}
	}
	st.Dropped, st.DroppedBytes, st.Rejected, st.Corrupt = c.Dropped, c.DroppedBytes, c.Rejected, c.Corrupt
	st.Pruned, st.PrunedBytes = c.Pruned, c.PrunedBytes
	queue := filepath.Join(dir, "queue")
	des, err := os.ReadDir(queue)
	if err != nil {
		return st, fmt.Errorf("spool: %w", err)
	}
	for _, de := range des {
		if _, ok := parseName(de.Name()); !ok || de.IsDir() {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // acknowledged meanwhile
		}
		st.Depth++
		st.Bytes += fi.Size()
		if st.Oldest.IsZero() {
			if b, err := os.ReadFile(filepath.Join(queue, de.Name())); err == nil {
				if m, _, err := decode(b); err == nil {
					st.Oldest = m.StartedAt
				}
			}
		}
	}
	return st, nil
}
