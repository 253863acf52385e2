package spool

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// withSum returns an entry file holding js under a valid header.
func withSum(js string) []byte {
	return fmt.Appendf(nil, "%s %d %x\n%s\n", formatTag, len(js), sha256.Sum256([]byte(js)), js)
}

// TestOpenRecovers damages the middle one of three entries the way a crash, a full disk
// or a person could, and leaves temp files behind: Open removes the temp files, moves the
// damaged entry to corrupt/ with the reason beside it, counts it, and keeps the others.
func TestOpenRecovers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte // of the middle entry's content
		reason func(b []byte) string // the expected reason, given the undamaged content
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, func(b []byte) string {
			h := bytes.IndexByte(b, '\n') + 1
			return fmt.Sprintf("truncated: %d of %d bytes after the header", len(b)/2-h, len(b)-h)
		}},
		{"empty", func([]byte) []byte { return nil }, func([]byte) string { return "no header line in 0 bytes" }},
		{"flipped byte", func(b []byte) []byte {
			c := bytes.Clone(b)
			c[len(c)-10] ^= 0x20
			return c
		}, func([]byte) string { return "checksum mismatch" }},
		{"appended bytes", func(b []byte) []byte { return append(bytes.Clone(b), "xyz"...) }, func(b []byte) string {
			h := bytes.IndexByte(b, '\n') + 1
			return fmt.Sprintf("%d bytes after the header, want %d", len(b)-h+3, len(b)-h)
		}},
		{"zeroes, as a lost data block reads", func(b []byte) []byte { return make([]byte, len(b)) }, func(b []byte) string {
			return fmt.Sprintf("no header line in %d bytes", len(b))
		}},
		{"foreign header", func([]byte) []byte { return []byte("garbage\n{}\n") }, func([]byte) string {
			return `header "garbage": want "pantau-spool/1", a length and a SHA-256`
		}},
		{"bad length", func([]byte) []byte { return []byte(formatTag + " -5 00\n") }, func([]byte) string {
			return `header "pantau-spool/1 -5 00": bad length`
		}},
		{"valid sum, no id", func([]byte) []byte { return withSum("{}") }, func([]byte) string {
			return "measurement JSON: no id"
		}},
		{"valid sum, not an object", func([]byte) []byte { return withSum("[1]") }, func([]byte) string {
			return "measurement JSON: json: cannot unmarshal array into Go value of type measurement.Measurement"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q := filepath.Join(dir, "queue")
			s := open(t, Options{Dir: dir})
			ms := putAll(t, s, 3)
			s.Close()
			des, _ := os.ReadDir(q)
			victim := filepath.Join(q, des[1].Name())
			orig, _ := os.ReadFile(victim)
			damaged := tc.damage(orig)
			if err := os.WriteFile(victim, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{filepath.Join(q, "put-123"+tmpExt), filepath.Join(dir, countersFile+"-9"+tmpExt)} {
				if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
					t.Fatal(err)
				}
			}

			var log logBuffer
			s = open(t, Options{Dir: dir, Log: log.logger()})
			size, _ := entrySize(t)
			if st := s.Stats(); st != (Stats{Depth: 2, Bytes: 2 * size, Oldest: ms[0].StartedAt, Corrupt: 1}) {
				t.Errorf("stats = %+v", st)
			}
			if got, err := s.Batch(10, 0); err != nil || !reflect.DeepEqual(ids(got), []string{ms[0].ID, ms[2].ID}) {
				t.Errorf("batch = %v, %v", ids(got), err)
			}
			kept := filepath.Join(dir, "corrupt", des[1].Name())
			if b, err := os.ReadFile(kept); err != nil || !bytes.Equal(b, damaged) {
				t.Errorf("damaged entry not kept as it was in corrupt/: %v", err)
			}
			if r, _ := os.ReadFile(kept + reasonExt); string(r) != tc.reason(orig)+"\n" {
				t.Errorf("reason = %q, want %q", r, tc.reason(orig))
			}
			for _, want := range []string{`msg="spool: removed unfinished temp files (writes that never completed)" files=2`,
				`msg="spool: damaged entry moved aside"`} {
				if !strings.Contains(log.String(), want) {
					t.Errorf("log lacks %s:\n%s", want, log.String())
				}
			}
			left, _ := filepath.Glob(filepath.Join(dir, "*", "*"+tmpExt))
			top, _ := filepath.Glob(filepath.Join(dir, "*"+tmpExt))
			if len(left)+len(top) > 0 {
				t.Errorf("temp files left: %v %v", left, top)
			}
			s.Close()

			// The count is kept, and nothing is counted twice.
			s = open(t, Options{Dir: dir})
			if st := s.Stats(); st.Corrupt != 1 || st.Depth != 2 {
				t.Errorf("after reopening: stats = %+v", st)
			}
		})
	}
}

func TestOpenSetsAsideForeignFiles(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Options{Dir: dir})
	putAll(t, s, 1)
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, "queue", "notes.txt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, Options{Dir: dir})
	if st := s.Stats(); st.Depth != 1 || st.Corrupt != 1 {
		t.Errorf("stats = %+v", st)
	}
	if r, _ := os.ReadFile(filepath.Join(dir, "corrupt", "notes.txt"+reasonExt)); string(r) != "not a spool entry name\n" {
		t.Errorf("reason = %q", r)
	}
}

// TestBatchSetsAsideDamage: entries damaged while the spool is open are found by Batch,
// moved aside and counted; the batch goes on with the next entries.
func TestBatchSetsAsideDamage(t *testing.T) {
	dir := t.TempDir()
	var log logBuffer
	s := open(t, Options{Dir: dir, Log: log.logger()})
	ms := putAll(t, s, 5)
	des, _ := os.ReadDir(filepath.Join(dir, "queue"))
	for _, de := range des[:2] {
		if err := os.Truncate(filepath.Join(dir, "queue", de.Name()), 100); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "queue", des[2].Name())); err != nil {
		t.Fatal(err)
	}
	got, err := s.Batch(2, 0)
	if err != nil || !reflect.DeepEqual(ids(got), ids(ms[3:])) {
		t.Fatalf("batch = %v, %v; want %v", ids(got), err, ids(ms[3:]))
	}
	size, _ := entrySize(t)
	if st := s.Stats(); st != (Stats{Depth: 2, Bytes: 2 * size, Oldest: ms[3].StartedAt, Corrupt: 3}) {
		t.Errorf("stats = %+v", st)
	}
	if c, _ := filepath.Glob(filepath.Join(dir, "corrupt", "*"+entryExt)); len(c) != 2 {
		t.Errorf("corrupt/ holds %v", c)
	}
	if !strings.Contains(log.String(), `msg="spool: entry file removed behind the spool's back; counted as corrupt" file=`+des[2].Name()) {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestDamagedCounters(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Options{Dir: dir})
	putAll(t, s, 1)
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, countersFile), []byte(`{"dropped":`), 0o600); err != nil {
		t.Fatal(err)
	}
	var log logBuffer
	s = open(t, Options{Dir: dir, Log: log.logger()})
	if st := s.Stats(); st.Depth != 1 || st.Dropped != 0 {
		t.Errorf("stats = %+v", st)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, countersFile+".bad")); string(b) != `{"dropped":` {
		t.Errorf("damaged counters not kept: %q", b)
	}
	if !strings.Contains(log.String(), `level=ERROR msg="spool: counters file damaged; counting again from zero" kept_as=counters.json.bad err="unexpected end of JSON input"`) {
		t.Errorf("log:\n%s", log.String())
	}
	if _, err := ReadStats(dir); err != nil {
		t.Errorf("ReadStats after recovery: %v", err)
	}
}

func TestEntryNames(t *testing.T) {
	for _, tc := range []struct {
		seq  uint64
		id   string
		want string
	}{
		{1, "0123abcd", "00000000000000000001-0123abcd.entry"},
		{18446744073709551615, "a/b c", "18446744073709551615-a_b_c.entry"},
		{7, strings.Repeat("f", 100), "00000000000000000007-" + strings.Repeat("f", maxIDLen) + ".entry"},
	} {
		name := entryName(tc.seq, tc.id)
		if name != tc.want {
			t.Errorf("entryName(%d, %q) = %s, want %s", tc.seq, tc.id, name, tc.want)
		}
		if seq, ok := parseName(name); !ok || seq != tc.seq {
			t.Errorf("parseName(%s) = %d, %v", name, seq, ok)
		}
	}
	for _, bad := range []string{"notes.txt", "1-abc.entry", "0000000000000000000x-abc.entry", "00000000000000000001-abc.tmp"} {
		if _, ok := parseName(bad); ok {
			t.Errorf("parseName(%s) accepted it", bad)
		}
	}
}
