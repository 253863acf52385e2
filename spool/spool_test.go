package spool

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/measurement"
)

func meas(i int) *measurement.Measurement {
	return &measurement.Measurement{ID: measurement.NewID(), Target: "https://t.me/", StartedAt: time.Unix(int64(1500000000+i), 0).UTC(), Verdict: measurement.Verdict{Reason: strings.Repeat("x", 100)}}
}

func TestPutBatchAckReject(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var ms []*measurement.Measurement
	for i := range 5 {
		ms = append(ms, meas(i))
		if err := s.Put(ms[i]); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := s.Batch(3, 1<<20)
	if len(b) != 3 || b[0].ID != ms[0].ID || b[2].ID != ms[2].ID {
		t.Fatalf("batch not oldest first: %v", b)
	}
	if err := s.Ack(ms[0].ID, ms[1].ID, "unknown"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reject(ms[2].ID, "measurements[2]: verdict.status: bad"); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Depth != 2 || st.Rejected != 1 {
		t.Fatalf("stats = %+v", st)
	}
	reason, err := os.ReadFile(filepath.Join(dir, "rejected", s.entriesNameFor(t, dir, ms[2].ID)+".reason"))
	if err != nil || !strings.Contains(string(reason), "verdict.status") {
		t.Errorf("rejection reason not kept: %q %v", reason, err)
	}
	s.Close()
	// Reopen: the rest is there, in order, with the counters.
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = s.Batch(10, 1<<20)
	if len(b) != 2 || b[0].ID != ms[3].ID || b[1].ID != ms[4].ID || s.Stats().Rejected != 1 {
		t.Fatalf("after reopen: %d entries, stats %+v", len(b), s.Stats())
	}
}

// entriesNameFor finds the file of id among the rejected ones.
func (s *Spool) entriesNameFor(t *testing.T, dir, id string) string {
	des, _ := os.ReadDir(filepath.Join(dir, "rejected"))
	for _, d := range des {
		if strings.Contains(d.Name(), id) && !strings.HasSuffix(d.Name(), ".reason") {
			return d.Name()
		}
	}
	t.Fatalf("no rejected file for %s", id)
	return ""
}

func TestDropOldestWhenFull(t *testing.T) {
	dir := t.TempDir()
	one, _ := encode(meas(0))
	s, err := Open(Options{Dir: dir, MaxBytes: int64(len(one))*3 + 10})
	if err != nil {
		t.Fatal(err)
	}
	var ms []*measurement.Measurement
	for i := range 5 {
		ms = append(ms, meas(i))
		if err := s.Put(ms[i]); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Depth != 3 || st.Dropped != 2 || st.DroppedBytes != 2*int64(len(one)) {
		t.Fatalf("stats = %+v", st)
	}
	b, _ := s.Batch(10, 1<<20)
	if b[0].ID != ms[2].ID {
		t.Errorf("the oldest were not the ones dropped")
	}
	s.Close()
	s, _ = Open(Options{Dir: dir})
	if s.Stats().Dropped != 2 {
		t.Errorf("dropped count not persisted: %+v", s.Stats())
	}
}

func TestRecoveryFromDamage(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(Options{Dir: dir})
	a, b := meas(0), meas(1)
	_ = s.Put(a)
	_ = s.Put(b)
	s.Close()
	q := filepath.Join(dir, "queue")
	des, _ := os.ReadDir(q)
	// Tear the second entry and leave a temp file behind, as a crash would.
	p := filepath.Join(q, des[1].Name())
	body, _ := os.ReadFile(p)
	_ = os.WriteFile(p, body[:len(body)/2], 0o600)
	_ = os.WriteFile(filepath.Join(q, "99-x.json.tmp"), []byte("partial"), 0o600)
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Depth != 1 || st.Corrupt != 1 {
		t.Fatalf("stats = %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, "corrupt", des[1].Name())); err != nil {
		t.Errorf("torn entry not kept in corrupt/: %v", err)
	}
	if _, err := os.Stat(filepath.Join(q, "99-x.json.tmp")); !os.IsNotExist(err) {
		t.Errorf("temp file left behind")
	}
}

func TestConcurrentPutAndAck(t *testing.T) {
	s, _ := Open(Options{Dir: t.TempDir()})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				_ = s.Put(meas(w*100 + i))
			}
		}()
	}
	acked := 0
	for acked < 100 {
		b, _ := s.Batch(10, 1<<20)
		var ids []string
		for _, m := range b {
			ids = append(ids, m.ID)
		}
		_ = s.Ack(ids...)
		acked += len(ids)
	}
	wg.Wait()
	if st := s.Stats(); st.Depth != 0 || st.Bytes != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func BenchmarkPut(b *testing.B) {
	s, _ := Open(Options{Dir: b.TempDir()})
	for b.Loop() {
		_ = s.Put(meas(0))
	}
}
