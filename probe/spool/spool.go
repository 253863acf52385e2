// Package spool is the probe's durable queue of measurements. Each one is written to disk
// (temp file, fsync, rename into place, fsync of the directory) before it is submitted,
// and removed only after the collector acknowledged it. The spool is bounded in bytes
// with an explicit oldest-first drop policy, which a full disk follows too; refused and
// damaged entries are kept aside in rejected/ and corrupt/, which share a second bound
// (oldest pruned first). Drops, refusals, damaged entries and prunes are counted in a
// counters file that survives restarts (kept in memory while it cannot be written), so
// heartbeats and `probe status` report them. Layout, durability argument and recovery
// rules: docs/spool.md.
package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultMaxBytes bounds a spool whose Options.MaxBytes is 0.
const DefaultMaxBytes = 256 << 20

// Errors callers can test with errors.Is.
var (
	ErrClosed   = errors.New("spool closed")
	ErrLocked   = errors.New("spool locked")
	ErrTooLarge = errors.New("measurement larger than the spool")
	ErrDiskFull = errors.New("disk full: measurement dropped")
)

// Options configure a Spool.
type Options struct {
	Dir      string
	MaxBytes int64 // bound on the queued entry files; default DefaultMaxBytes
	// AsideMaxBytes bounds the files kept aside in rejected/ and corrupt/ together
	// (.reason files included); past it the oldest are pruned. Default MaxBytes/4.
	AsideMaxBytes int64
	Log           *slog.Logger
}

// Stats describe a spool. Depth, Bytes and Oldest describe the queue now; the counters
// are cumulative over the spool's life, across restarts.
type Stats struct {
	Depth  int   // entries waiting for the collector
	Bytes  int64 // their size on disk
	Oldest time.Time
	// Dropped and DroppedBytes count entries deleted unsent to keep within MaxBytes
	// (oldest first), and measurements too large to be spooled at all.
	Dropped      int64
	DroppedBytes int64
	Rejected     int64 // moved to rejected/ because the collector refused them
	Corrupt      int64 // damaged or unreadable entries moved to corrupt/
	// Pruned and PrunedBytes count files kept aside (in rejected/ or corrupt/, with their
	// .reason files) deleted, oldest first, to keep within AsideMaxBytes. Their
	// measurements were already counted in Rejected or Corrupt.
	Pruned      int64
	PrunedBytes int64
}

// Spool is a durable queue of measurements, safe for concurrent use. One process at a
// time may open a directory (an flock on Dir/lock).
type Spool struct {
	dir, queue, rejected, corrupt string
	max, asideMax                 int64
	log                           *slog.Logger
	unlock                        func() error

	mu      sync.Mutex
	closed  bool
	last    uint64   // the latest sequence number given out
	entries []*entry // enqueue order (ascending seq), live entries only
	byID    map[string][]*entry
	bytes   int64
	c       counters
	// dirty is set while the counters file lags behind c (it could not be written); every
	// later change, Ack, Put and Stats tries again.
	dirty bool
	// aside indexes the files kept aside, oldest first; asideBytes is their size.
	aside      []*asideFile
	asideBytes int64
}

// entry is one queued measurement. gone is set, under the lock, when it leaves the queue.
type entry struct {
	seq     uint64
	name    string
	id      string
	size    int64 // of the file
	jsonLen int64
	at      time.Time // the measurement's StartedAt
	gone    bool
}

// Open opens the spool in o.Dir, creating it (mode 0700) if needed, and recovers from a
// crash: leftover temp files are removed (their Put never returned), damaged entries
// are moved to corrupt/ and counted, and the queue is rebuilt from the entry files, each
// verified. If the queue exceeds MaxBytes, the oldest entries are dropped and counted;
// if the files kept aside exceed AsideMaxBytes, the oldest are pruned and counted.
func Open(o Options) (*Spool, error) {
	if o.Dir == "" {
		return nil, errors.New("spool: no directory given")
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.AsideMaxBytes <= 0 {
		o.AsideMaxBytes = o.MaxBytes / 4
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Spool{
		dir: o.Dir, queue: filepath.Join(o.Dir, "queue"), rejected: filepath.Join(o.Dir, "rejected"),
		corrupt: filepath.Join(o.Dir, "corrupt"), max: o.MaxBytes, asideMax: o.AsideMaxBytes, log: o.Log, byID: map[string][]*entry{},
	}
	if err := s.makeDirs(); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	unlock, err := lockDir(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s.unlock = unlock
	if err := s.recover(); err != nil {
		_ = unlock()
		return nil, fmt.Errorf("spool: %w", err)
	}
	s.log.Info("spool opened", "dir", o.Dir, "depth", len(s.entries), "bytes", s.bytes, "max_bytes", s.max,
		"aside_bytes", s.asideBytes, "aside_max_bytes", s.asideMax,
		"dropped", s.c.Dropped, "rejected", s.c.Rejected, "corrupt", s.c.Corrupt, "pruned", s.c.Pruned)
	return s, nil
}

// makeDirs creates Dir and its subdirectories and makes their creation durable.
func (s *Spool) makeDirs() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	for _, d := range []string{s.queue, s.rejected, s.corrupt} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	return syncDir(filepath.Dir(filepath.Clean(s.dir)))
}

// recover loads the counters and rebuilds the queue from the entry files.
func (s *Spool) recover() error {
	if err := s.loadCounters(); err != nil {
		return err
	}
	temps := 0
	for _, d := range []string{s.dir, s.queue, s.rejected, s.corrupt} {
		n, err := removeTemps(d)
		if err != nil {
			return err
		}
		temps += n
	}
	if temps > 0 {
		s.log.Info("spool: removed unfinished temp files (writes that never completed)", "files", temps)
	}
	// A counters file of the padded size is there to be overwritten in place on a full disk.
	if fi, err := os.Stat(filepath.Join(s.dir, countersFile)); err != nil || fi.Size() != countersSize {
		s.keepCounters()
	}
	if err := s.scanAside(); err != nil {
		return err
	}
	des, err := os.ReadDir(s.queue) // sorted by name: enqueue order
	if err != nil {
		return err
	}
	damaged := 0
	for _, de := range des {
		name := de.Name()
		if de.IsDir() {
			s.log.Warn("spool: ignoring a directory in the queue", "dir", filepath.Join(s.queue, name))
			continue
		}
		e, err := s.load(name)
		if err != nil {
			damaged++
			s.setAside(name, err)
			continue
		}
		s.add(e)
		s.last = max(s.last, e.seq)
	}
	if temps > 0 || damaged > 0 {
		if err := syncDir(s.queue); err != nil {
			return err
		}
	}
	s.enforce()
	s.pruneAside()
	return nil
}

// load reads and verifies the entry file name.
func (s *Spool) load(name string) (*entry, error) {
	seq, ok := parseName(name)
	if !ok {
		return nil, errors.New("not a spool entry name")
	}
	b, err := os.ReadFile(filepath.Join(s.queue, name))
	if err != nil {
		return nil, err
	}
	m, n, err := decode(b)
	if err != nil {
		return nil, err
	}
	return &entry{seq: seq, name: name, id: m.ID, size: int64(len(b)), jsonLen: n, at: m.StartedAt}, nil
}

// setAside counts a damaged queue file and moves it to corrupt/ with the reason beside
// it. The caller holds the lock (or is Open).
func (s *Spool) setAside(name string, cause error) {
	s.c.Corrupt++ // counted first: a crash may count it twice, never not at all
	s.keepCounters()
	dst, err := s.moveAside(name, s.corrupt, cause.Error())
	if err != nil {
		s.log.Error("spool: damaged entry could not be moved aside; it stays in the queue directory", "file", name, "cause", cause, "err", err)
		return
	}
	s.log.Warn("spool: damaged entry moved aside", "file", dst, "cause", cause)
}

// moveAside moves queue/name into dir (rejected/ or corrupt/) with reason in name.reason
// beside it, never replacing a file, notes it in the index of files kept aside (the
// caller then calls pruneAside) and returns the new path. An error means the file
// is still in the queue. A failed directory sync is logged: the move may then be undone
// by a power loss, and the entry is sent (or found damaged) again.
func (s *Spool) moveAside(name, dir, reason string) (string, error) {
	dst := freeName(dir, name)
	if err := writeFileSync(dir, dst+reasonExt, []byte(reason+"\n")); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(s.queue, name), filepath.Join(dir, dst)); err != nil {
		return "", err
	}
	for _, d := range []string{dir, s.queue} {
		if err := syncDir(d); err != nil {
			s.log.Error("spool: syncing a directory", "dir", d, "err", err)
		}
	}
	s.noteAside(dir, dst)
	return filepath.Join(dir, dst), nil
}

// add appends e to the queue. The caller holds the lock.
func (s *Spool) add(e *entry) {
	s.entries = append(s.entries, e)
	s.byID[e.id] = append(s.byID[e.id], e)
	s.bytes += e.size
}

// forget takes e out of the index; compact removes it from s.entries. The caller holds
// the lock.
func (s *Spool) forget(e *entry) {
	e.gone = true
	s.bytes -= e.size
	list := s.byID[e.id]
	for i, x := range list {
		if x == e {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.byID, e.id)
	} else {
		s.byID[e.id] = list
	}
}

// compact drops forgotten entries from s.entries. The caller holds the lock.
func (s *Spool) compact() {
	kept := s.entries[:0]
	for _, e := range s.entries {
		if !e.gone {
			kept = append(kept, e)
		}
	}
	clear(s.entries[len(kept):])
	s.entries = kept
}

// Close saves the counters and releases the directory. Later calls return ErrClosed;
// Close itself may be called again.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.saveCounters()
	if uerr := s.unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
