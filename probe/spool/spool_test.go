package spool

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// meas returns a measurement of about 1 KiB; every one has a new ID and the same size.
func meas(i int) *measurement.Measurement {
	return &measurement.Measurement{
		ID: measurement.NewID(), SchemaVersion: measurement.SchemaVersion, Target: "https://t.me/", Kind: measurement.KindWeb,
		Domain: "t.me", Port: 443, StartedAt: time.Unix(int64(1_700_000_000+i%1000), 0).UTC(),
		Verdict: measurement.Verdict{Status: measurement.StatusAccessible, Reason: strings.Repeat("x", 900)},
	}
}

// logBuffer collects a logger's output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func open(t testing.TB, o Options) *Spool {
	t.Helper()
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func putAll(t testing.TB, s *Spool, n int) []*measurement.Measurement {
	t.Helper()
	var ms []*measurement.Measurement
	for i := range n {
		m := meas(i)
		if err := s.Put(m); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

func ids(ms []*measurement.Measurement) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// entrySize is the size of meas(i)'s entry file and the length of its JSON.
func entrySize(t testing.TB) (int64, int64) {
	b, n, err := encode(meas(0))
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(b)), n
}

func TestPutBatchAckReject(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Options{Dir: dir})
	ms := putAll(t, s, 5)
	size, _ := entrySize(t)
	if st := s.Stats(); st != (Stats{Depth: 5, Bytes: 5 * size, Oldest: ms[0].StartedAt}) {
		t.Fatalf("stats after 5 puts = %+v", st)
	}
	got, err := s.Batch(3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ms[:3]) {
		t.Fatalf("batch = %v, want the first three as put", ids(got))
	}
	if err := s.Ack(ms[0].ID, ms[1].ID, "unknown"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reject(ms[2].ID, "measurements[2].verdict.status: unknown status"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reject("unknown", "whatever"); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st != (Stats{Depth: 2, Bytes: 2 * size, Oldest: ms[3].StartedAt, Rejected: 1}) {
		t.Fatalf("stats after ack and reject = %+v", st)
	}
	rej, _ := filepath.Glob(filepath.Join(dir, "rejected", "*-"+ms[2].ID+entryExt))
	if len(rej) != 1 {
		t.Fatalf("rejected entry files: %v", rej)
	}
	if reason, err := os.ReadFile(rej[0] + reasonExt); string(reason) != "measurements[2].verdict.status: unknown status\n" {
		t.Errorf("reason file = %q, %v", reason, err)
	}
	if b, _ := os.ReadFile(rej[0]); !bytes.Contains(b, []byte(ms[2].ID)) {
		t.Errorf("rejected file does not hold the measurement")
	}
	if q, _ := os.ReadDir(filepath.Join(dir, "queue")); len(q) != 2 {
		t.Errorf("queue holds %d files, want 2", len(q))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, Options{Dir: dir})
	if st := s.Stats(); st != (Stats{Depth: 2, Bytes: 2 * size, Oldest: ms[3].StartedAt, Rejected: 1}) {
		t.Fatalf("stats after reopening = %+v", st)
	}
	got, err = s.Batch(10, 0)
	if err != nil || !reflect.DeepEqual(got, ms[3:]) {
		t.Fatalf("batch after reopening = %v, %v; want %v", ids(got), err, ids(ms[3:]))
	}
}

func TestBatchBounds(t *testing.T) {
	s := open(t, Options{Dir: t.TempDir()})
	ms := putAll(t, s, 5)
	_, js := entrySize(t)
	for _, tc := range []struct {
		name     string
		max      int
		maxBytes int64
		want     []*measurement.Measurement
	}{
		{"no items", 0, 0, nil},
		{"negative max", -1, 0, nil},
		{"max items", 2, 0, ms[:2]},
		{"more than queued", 10, 0, ms},
		{"all there is", math.MaxInt, 0, ms},
		{"bytes for exactly two", 10, 2 * js, ms[:2]},
		{"one byte short of two", 10, 2*js - 1, ms[:1]},
		{"at least one, however small the bound", 10, 1, ms[:1]},
		{"items bind before bytes", 3, 100 * js, ms[:3]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Batch(tc.max, tc.maxBytes)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Batch(%d, %d) = %v, %v; want %v", tc.max, tc.maxBytes, ids(got), err, ids(tc.want))
			}
		})
	}
	if d := s.Stats().Depth; d != 5 {
		t.Errorf("Batch removed entries: depth %d", d)
	}
}

func TestSameIDTwice(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Options{Dir: dir})
	a, b := meas(0), meas(1)
	for _, m := range []*measurement.Measurement{a, b, a} {
		if err := s.Put(m); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.Batch(10, 0); !reflect.DeepEqual(ids(got), []string{a.ID, b.ID, a.ID}) {
		t.Fatalf("batch = %v", ids(got))
	}
	if err := s.Ack(a.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Batch(10, 0); !reflect.DeepEqual(ids(got), []string{b.ID}) {
		t.Fatalf("after acking %s: batch = %v, want only %s", a.ID, ids(got), b.ID)
	}
	if err := s.Put(b); err != nil {
		t.Fatal(err)
	}
	if err := s.Reject(b.ID, "bad"); err != nil {
		t.Fatal(err)
	}
	rej, _ := filepath.Glob(filepath.Join(dir, "rejected", "*"+entryExt))
	if st := s.Stats(); st.Depth != 0 || st.Rejected != 2 || len(rej) != 2 {
		t.Errorf("after rejecting both copies: stats %+v, %d files in rejected/", st, len(rej))
	}
}

func TestDropOldestWhenFull(t *testing.T) {
	dir := t.TempDir()
	size, _ := entrySize(t)
	var log logBuffer
	s := open(t, Options{Dir: dir, MaxBytes: 3*size + 10, Log: log.logger()})
	ms := putAll(t, s, 5)
	want := Stats{Depth: 3, Bytes: 3 * size, Oldest: ms[2].StartedAt, Dropped: 2, DroppedBytes: 2 * size}
	if st := s.Stats(); st != want {
		t.Fatalf("stats = %+v, want %+v", st, want)
	}
	if got, _ := s.Batch(10, 0); !reflect.DeepEqual(got, ms[2:]) {
		t.Errorf("kept %v, want the newest three %v", ids(got), ids(ms[2:]))
	}
	if n := strings.Count(log.String(), `level=WARN msg="spool full: oldest measurements dropped" dropped=1`); n != 2 {
		t.Errorf("%d drop warnings logged, want 2:\n%s", n, log.String())
	}
	if q, _ := os.ReadDir(filepath.Join(dir, "queue")); len(q) != 3 {
		t.Errorf("queue holds %d files, want 3", len(q))
	}
	s.Close()

	// The counters survive a restart.
	s = open(t, Options{Dir: dir, MaxBytes: 3*size + 10})
	if st := s.Stats(); st != want {
		t.Fatalf("after reopening: stats = %+v, want %+v", st, want)
	}
	s.Close()

	// A smaller bound applies at once, oldest first.
	s = open(t, Options{Dir: dir, MaxBytes: size})
	want = Stats{Depth: 1, Bytes: size, Oldest: ms[4].StartedAt, Dropped: 4, DroppedBytes: 4 * size}
	if st := s.Stats(); st != want {
		t.Fatalf("reopened with a smaller bound: stats = %+v, want %+v", st, want)
	}
	if rs, err := ReadStats(dir); err != nil || rs != want {
		t.Errorf("ReadStats = %+v, %v; want %+v", rs, err, want)
	}
}

func TestTooLarge(t *testing.T) {
	dir := t.TempDir()
	size, _ := entrySize(t)
	s := open(t, Options{Dir: dir, MaxBytes: size - 1})
	m := meas(0)
	err := s.Put(m)
	want := fmt.Sprintf("spool: measurement %s: %d bytes, more than the spool's bound of %d: measurement larger than the spool", m.ID, size, size-1)
	if err == nil || err.Error() != want || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put = %v, want %s", err, want)
	}
	if st := s.Stats(); st != (Stats{Dropped: 1, DroppedBytes: size}) {
		t.Errorf("stats = %+v", st)
	}
	if q, _ := os.ReadDir(filepath.Join(dir, "queue")); len(q) != 0 {
		t.Errorf("queue holds %d files", len(q))
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(Options{}); err == nil || err.Error() != "spool: no directory given" {
		t.Errorf("Open without a directory: %v", err)
	}
	s := open(t, Options{Dir: dir})
	_, err := Open(Options{Dir: dir})
	want := fmt.Sprintf("spool: %s is in use by another process (pid %d): spool locked", dir, os.Getpid())
	if err == nil || err.Error() != want || !errors.Is(err, ErrLocked) {
		t.Errorf("second Open = %v, want %s", err, want)
	}
	m := meas(0)
	if err := s.Put(m); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"put nil", s.Put(nil), "spool: measurement without an id"},
		{"put without id", s.Put(&measurement.Measurement{}), "spool: measurement without an id"},
		{"put after close", s.Put(m), "spool: writing measurement " + m.ID + ": spool closed"},
		{"batch after close", second(s.Batch(1, 0)), "spool: batch: spool closed"},
		{"ack after close", s.Ack(m.ID), "spool: ack: spool closed"},
		{"reject after close", s.Reject(m.ID, "x"), "spool: reject: spool closed"},
		{"close again", s.Close(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if tc.err != nil {
				got = tc.err.Error()
			}
			if got != tc.want {
				t.Errorf("error = %q, want %q", got, tc.want)
			}
		})
	}
	// The lock went with Close.
	s = open(t, Options{Dir: dir})
	if d := s.Stats().Depth; d != 1 {
		t.Errorf("depth after reopening = %d", d)
	}
}

func second[T any](_ T, err error) error { return err }

func TestReadStatsWhileOpen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Options{Dir: dir})
	ms := putAll(t, s, 3)
	if err := s.Reject(ms[0].ID, "bad"); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStats(dir)
	if err != nil || st != s.Stats() {
		t.Errorf("ReadStats = %+v, %v; Stats = %+v", st, err, s.Stats())
	}
	if _, err := ReadStats(filepath.Join(dir, "nothing")); err == nil || !strings.HasPrefix(err.Error(), "spool: open "+dir) {
		t.Errorf("ReadStats of a missing spool: %v", err)
	}
}

// TestConcurrentUse puts from several goroutines while another one batches, acks and
// rejects; run it with -race.
func TestConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Options{Dir: dir})
	const writers, each = 4, 40
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.Put(meas(i)); err != nil {
					t.Error(err)
					return
				}
				_ = s.Stats()
			}
		})
	}
	seen := map[string]int{}
	rejected := 0
	deadline := time.Now().Add(2 * time.Minute)
	for len(seen) < writers*each && time.Now().Before(deadline) {
		b, err := s.Batch(7, 4<<10)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range b {
			seen[m.ID]++
			if i == 0 && len(seen)%5 == 0 {
				if err := s.Reject(m.ID, "test"); err != nil {
					t.Fatal(err)
				}
				rejected++
			} else if err := s.Ack(m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s batched %d times after being acknowledged", id, n)
		}
	}
	if st := s.Stats(); len(seen) != writers*each || st != (Stats{Rejected: int64(rejected)}) {
		t.Errorf("%d of %d measurements seen; stats %+v, %d rejected", len(seen), writers*each, st, rejected)
	}
	if q, _ := os.ReadDir(filepath.Join(dir, "queue")); len(q) != 0 {
		t.Errorf("queue holds %d files", len(q))
	}
}

// BenchmarkPut measures a durable Put of a 1 KiB measurement (two fsyncs).
func BenchmarkPut(b *testing.B) {
	s := open(b, Options{Dir: b.TempDir()})
	size, _ := entrySize(b)
	b.SetBytes(size)
	for b.Loop() {
		if err := s.Put(meas(0)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutParallel: concurrent Puts fsync their files outside the lock.
func BenchmarkPutParallel(b *testing.B) {
	s := open(b, Options{Dir: b.TempDir()})
	size, _ := entrySize(b)
	b.SetBytes(size)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Put(meas(0)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBatchAck drains 100-measurement batches (read, verify, decode, remove).
func BenchmarkBatchAck(b *testing.B) {
	s := open(b, Options{Dir: b.TempDir()})
	for b.Loop() {
		b.StopTimer()
		putAll(b, s, 100)
		b.StartTimer()
		ms, err := s.Batch(100, 0)
		if err != nil || len(ms) != 100 {
			b.Fatal(len(ms), err)
		}
		if err := s.Ack(ids(ms)...); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCountersKeptInMemory: when counters.json cannot be written, drops still happen and
// are counted in memory (Stats, so heartbeats, report them), one error is logged, and
// the counters are written as soon as the file can be written again.
func TestCountersKeptInMemory(t *testing.T) {
	dir := t.TempDir()
	size, _ := entrySize(t)
	var log logBuffer
	s := open(t, Options{Dir: dir, MaxBytes: 2*size + 10, Log: log.logger()})
	putAll(t, s, 2)
	// A directory in the counters file's place makes every write of it fail.
	p := filepath.Join(dir, countersFile)
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	putAll(t, s, 3)
	want := Stats{Depth: 2, Bytes: 2 * size, Dropped: 3, DroppedBytes: 3 * size}
	if st := s.Stats(); st.Dropped != want.Dropped || st.DroppedBytes != want.DroppedBytes || st.Depth != want.Depth {
		t.Fatalf("stats while the counters cannot be saved = %+v, want %+v", st, want)
	}
	if n := strings.Count(log.String(), `level=ERROR msg="spool: counters not saved; kept in memory and saved as soon as possible"`); n != 1 {
		t.Errorf("%d errors logged for the unsaved counters, want 1:\n%s", n, log.String())
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	s.Stats() // the next chance: a heartbeat asks for the stats
	if rs, err := ReadStats(dir); err != nil || rs.Dropped != 3 || rs.DroppedBytes != 3*size {
		t.Errorf("counters.json once writable = %+v, %v; want dropped 3", rs, err)
	}
	if !strings.Contains(log.String(), `level=INFO msg="spool: counters saved again" dropped=3`) {
		t.Errorf("recovery not logged:\n%s", log.String())
	}
}
