//go:build linux

package spool

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/probe/spool/spooltest"
)

// TestFullDisk fills a real 256 KiB file system far below the spool's bound: the oldest
// entries are dropped to make room for the newest (as with the bound), every drop is
// counted in memory and in counters.json, and with nothing left to drop the new
// measurement is counted as dropped and Put says so.
func TestFullDisk(t *testing.T) {
	disk := spooltest.SmallDisk(t, 256<<10)
	dir := filepath.Join(disk, "spool")
	var log logBuffer
	s := open(t, Options{Dir: dir, Log: log.logger()})
	size, _ := entrySize(t)
	const n = 200 // about 4 times what fits
	ms := make([]*measurement.Measurement, 0, n)
	for i := range n {
		m := meas(i)
		if err := s.Put(m); err != nil {
			t.Fatalf("Put %d of %d on a full disk: %v (want the oldest dropped to make room)", i+1, n, err)
		}
		ms = append(ms, m)
	}
	st := s.Stats()
	if st.Depth < 10 || st.Depth >= n || st.Dropped != int64(n-st.Depth) || st.DroppedBytes != st.Dropped*size {
		t.Fatalf("stats after %d puts on a full disk = %+v: want every measurement either queued or counted as dropped", n, st)
	}
	if got, err := s.Batch(n, 0); err != nil || !reflect.DeepEqual(ids(got), ids(ms[n-st.Depth:])) {
		t.Errorf("queue = %v (%v), want the newest %d measurements in order", len(got), err, st.Depth)
	}
	if rs, err := ReadStats(dir); err != nil || rs.Dropped != st.Dropped || rs.DroppedBytes != st.DroppedBytes {
		t.Errorf("counters.json says %+v (%v), memory %+v", rs, err, st)
	}
	if !strings.Contains(log.String(), `level=WARN msg="spool: disk full: oldest measurements dropped to make room" dropped=1 `) {
		t.Errorf("no drop logged:\n%s", log.String())
	}

	// With the queue empty and the disk full, the new measurement itself is lost: counted
	// and reported.
	if err := s.Ack(ids(ms)...); err != nil {
		t.Fatal(err)
	}
	filler := spooltest.Fill(t, disk)
	m := meas(0)
	err := s.Put(m)
	if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "no space left on device; nothing queued to drop: disk full: measurement dropped") {
		t.Fatalf("Put on a full disk with nothing queued = %v, want ErrDiskFull", err)
	}
	want := st.Dropped + 1
	if got := s.Stats(); got.Dropped != want || got.Depth != 0 {
		t.Errorf("stats = %+v, want dropped %d", got, want)
	}
	// counters.json is overwritten in place: a full disk has no room for a new file.
	if rs, err := ReadStats(dir); err != nil || rs.Dropped != want {
		t.Errorf("counters.json on the full disk says %+v (%v), want dropped %d", rs, err, want)
	}
	if !strings.Contains(log.String(), `level=ERROR msg="spool: disk full and nothing queued to drop; measurement dropped" id=`+m.ID) {
		t.Errorf("the loss is not logged:\n%s", log.String())
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(m); err != nil {
		t.Fatalf("Put after space was freed: %v", err)
	}
	s.Close()
	s = open(t, Options{Dir: dir})
	if got := s.Stats(); got.Dropped != want || got.Depth != 1 {
		t.Errorf("after reopening: %+v, want dropped %d and the last measurement queued", got, want)
	}
}
