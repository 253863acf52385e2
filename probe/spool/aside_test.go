package spool

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// asideFiles lists rejected/ and corrupt/ as "rejected/NAME", sorted, and their size.
func asideFiles(t *testing.T, dir string) ([]string, int64) {
	t.Helper()
	var out []string
	var size int64
	for _, d := range []string{"corrupt", "rejected"} {
		des, err := os.ReadDir(filepath.Join(dir, d))
		if err != nil {
			t.Fatal(err)
		}
		for _, de := range des {
			if de.IsDir() {
				continue
			}
			fi, err := de.Info()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d+"/"+de.Name())
			size += fi.Size()
		}
	}
	return out, size
}

// rejectedAs lists the files the rejection of ids leaves in rejected/, sorted.
func rejectedAs(t *testing.T, dir string, ids ...string) []string {
	t.Helper()
	var out []string
	for _, id := range ids {
		m, _ := filepath.Glob(filepath.Join(dir, "queue", "*-"+id+entryExt))
		m2, _ := filepath.Glob(filepath.Join(dir, "rejected", "*-"+id+entryExt))
		for _, p := range append(m, m2...) {
			out = append(out, "rejected/"+filepath.Base(p), "rejected/"+filepath.Base(p)+reasonExt)
		}
	}
	slices.Sort(out)
	return out
}

const reason = "schema_version: 9 not supported" // its .reason file is len(reason)+1 bytes

// TestRejectPrunesOldest: rejections past AsideMaxBytes prune the oldest files kept
// aside by entry order (not by when they were rejected), count them, log them, and the
// counters survive a reopen.
func TestRejectPrunesOldest(t *testing.T) {
	size, _ := entrySize(t)
	group := size + int64(len(reason)) + 1
	tests := []struct {
		name     string
		order    []int // indexes of the 5 entries, in the order they are rejected
		kept     []int // entries still in rejected/ at the end
		maxBytes int64
	}{
		{"in order", []int{0, 1, 2, 3, 4}, []int{2, 3, 4}, 3*group + 10},
		{"newest first", []int{4, 3, 2, 1, 0}, []int{2, 3, 4}, 3*group + 10},
		{"exactly at the bound", []int{0, 1, 2, 3, 4}, []int{2, 3, 4}, 3 * group},
		{"one byte short", []int{0, 1, 2, 3, 4}, []int{3, 4}, 3*group - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var log logBuffer
			s := open(t, Options{Dir: dir, AsideMaxBytes: tc.maxBytes, Log: log.logger()})
			ms := putAll(t, s, 5)
			var keptIDs []string
			for _, i := range tc.kept {
				keptIDs = append(keptIDs, ms[i].ID)
			}
			want := rejectedAs(t, dir, keptIDs...)
			for _, i := range tc.order {
				if err := s.Reject(ms[i].ID, reason); err != nil {
					t.Fatal(err)
				}
				if _, n := asideFiles(t, dir); n > tc.maxBytes {
					t.Fatalf("after rejecting entry %d: %d bytes kept aside, bound %d", i, n, tc.maxBytes)
				}
			}
			got, _ := asideFiles(t, dir)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("kept aside:\n%v\nwant\n%v", got, want)
			}
			pruned := int64(5 - len(tc.kept))
			st := s.Stats()
			if st.Rejected != 5 || st.Pruned != pruned || st.PrunedBytes != pruned*group || st.Depth != 0 {
				t.Errorf("stats = %+v", st)
			}
			if !strings.Contains(log.String(), `level=WARN msg="spool: oldest files kept aside pruned to stay within the bound" files=[rejected/`) ||
				!strings.Contains(log.String(), " total_pruned="+strconv.FormatInt(pruned, 10)) {
				t.Errorf("log:\n%s", log.String())
			}
			s.Close()
			if rs, err := ReadStats(dir); err != nil || rs.Pruned != pruned || rs.PrunedBytes != pruned*group {
				t.Errorf("ReadStats = %+v, %v", rs, err)
			}
			s = open(t, Options{Dir: dir, AsideMaxBytes: tc.maxBytes})
			if st2 := s.Stats(); st2 != st {
				t.Errorf("after reopening: stats = %+v, want %+v", st2, st)
			}
			if got2, _ := asideFiles(t, dir); !reflect.DeepEqual(got2, want) {
				t.Errorf("after reopening, kept aside: %v", got2)
			}
		})
	}
}

// TestCorruptAndRejectedShareTheBound: damaged entries in corrupt/ and refused ones in
// rejected/ are pruned together, oldest first.
func TestCorruptAndRejectedShareTheBound(t *testing.T) {
	dir := t.TempDir()
	size, _ := entrySize(t)
	s := open(t, Options{Dir: dir})
	ms := putAll(t, s, 5)
	s.Close()
	des, _ := os.ReadDir(filepath.Join(dir, "queue"))
	for _, de := range des[:2] { // the two oldest are damaged
		if err := os.Truncate(filepath.Join(dir, "queue", de.Name()), 100); err != nil {
			t.Fatal(err)
		}
	}
	group := size + int64(len(reason)) + 1
	bound := 2*group + 10 // room for two rejections, or a little more of the corrupt files
	s = open(t, Options{Dir: dir, AsideMaxBytes: bound})
	if st := s.Stats(); st.Corrupt != 2 || st.Pruned != 0 || st.Depth != 3 {
		t.Fatalf("after reopening: stats = %+v", st)
	}
	if err := s.Reject(ms[2].ID, reason); err != nil {
		t.Fatal(err)
	}
	// corrupt/ (2×(100+reason)) + one rejection fit; the second rejection does not.
	if st := s.Stats(); st.Pruned != 0 {
		t.Fatalf("after one rejection: stats = %+v", st)
	}
	for _, m := range ms[3:] {
		if err := s.Reject(m.ID, reason); err != nil {
			t.Fatal(err)
		}
	}
	got, n := asideFiles(t, dir)
	if want := rejectedAs(t, dir, ms[3].ID, ms[4].ID); !reflect.DeepEqual(got, want) || n > bound {
		t.Errorf("kept aside (%d bytes):\n%v\nwant\n%v", n, got, want)
	}
	if st := s.Stats(); st.Pruned != 3 || st.Rejected != 3 || st.Corrupt != 2 {
		t.Errorf("stats = %+v", st)
	}
}

// TestAsideLargerThanTheBound: a file kept aside larger than the bound on its own is
// pruned at once, with its .reason file; the counters say so.
func TestAsideLargerThanTheBound(t *testing.T) {
	dir := t.TempDir()
	size, _ := entrySize(t)
	var log logBuffer
	s := open(t, Options{Dir: dir, AsideMaxBytes: size / 2, Log: log.logger()})
	ms := putAll(t, s, 2)
	if err := s.Reject(ms[1].ID, reason); err != nil {
		t.Fatal(err)
	}
	if got, _ := asideFiles(t, dir); len(got) != 0 {
		t.Errorf("kept aside: %v", got)
	}
	want := Stats{Depth: 1, Bytes: size, Oldest: ms[0].StartedAt, Rejected: 1, Pruned: 1, PrunedBytes: size + int64(len(reason)) + 1}
	if st := s.Stats(); st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	if !strings.Contains(log.String(), "measurement refused by the collector; kept aside") || !strings.Contains(log.String(), "pruned=1") {
		t.Errorf("log:\n%s", log.String())
	}
}

// TestOpenPrunes: aside folders over the bound when the spool opens (an upgrade from a
// version without the bound, or a lower bound) are pruned oldest first: a foreign file
// by its modification time, entries by their sequence numbers. Directories are left.
func TestOpenPrunes(t *testing.T) {
	dir := t.TempDir()
	size, _ := entrySize(t)
	group := size + int64(len(reason)) + 1
	s := open(t, Options{Dir: dir})
	ms := putAll(t, s, 4)
	for _, m := range ms {
		if err := s.Reject(m.ID, reason); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	old := time.Now().Add(-24 * time.Hour)
	for name, content := range map[string]string{"notes.txt": strings.Repeat("n", 500), "notes.txt" + reasonExt: "not a spool entry name\n",
		"lost" + reasonExt: "checksum mismatch\n"} {
		p := filepath.Join(dir, "corrupt", name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "rejected", "keep"), 0o700); err != nil {
		t.Fatal(err)
	}
	var log logBuffer
	s = open(t, Options{Dir: dir, AsideMaxBytes: 2*group + 100, Log: log.logger()})
	got, _ := asideFiles(t, dir)
	if want := rejectedAs(t, dir, ms[2].ID, ms[3].ID); !reflect.DeepEqual(got, want) {
		t.Errorf("kept aside:\n%v\nwant\n%v", got, want)
	}
	prunedBytes := 2*group + 500 + int64(len("not a spool entry name\n")+len("checksum mismatch\n"))
	if st := s.Stats(); st.Pruned != 4 || st.PrunedBytes != prunedBytes || st.Rejected != 4 {
		t.Errorf("stats = %+v, want 4 pruned, %d bytes", st, prunedBytes)
	}
	if !strings.Contains(log.String(), "files=\"[corrupt/lost.reason corrupt/notes.txt rejected/") {
		t.Errorf("log:\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "rejected", "keep")); err != nil {
		t.Error(err)
	}
}

// TestFilesRemovedByHand: files kept aside that a person removed are not counted as
// pruned, and do not make the spool prune more than needed.
func TestFilesRemovedByHand(t *testing.T) {
	dir := t.TempDir()
	size, _ := entrySize(t)
	group := size + int64(len(reason)) + 1
	s := open(t, Options{Dir: dir, AsideMaxBytes: 3 * group})
	ms := putAll(t, s, 5)
	for _, m := range ms[:3] {
		if err := s.Reject(m.ID, reason); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := asideFiles(t, dir)
	for _, f := range got[:4] { // the two oldest, with their reasons
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range ms[3:] {
		if err := s.Reject(m.ID, reason); err != nil {
			t.Fatal(err)
		}
	}
	got, _ = asideFiles(t, dir)
	if want := rejectedAs(t, dir, ms[2].ID, ms[3].ID, ms[4].ID); !reflect.DeepEqual(got, want) {
		t.Errorf("kept aside:\n%v\nwant\n%v", got, want)
	}
	if st := s.Stats(); st.Pruned != 0 {
		t.Errorf("stats = %+v", st)
	}
}
