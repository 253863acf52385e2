package ooni

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
)

// memWriter keeps what Import stores, by probe and ID, the way the store does: the same
// content again is not stored twice, other content is a conflict. The store itself is
// exercised by the CLI's test (collector/cli, TestImportOONI).
type memWriter map[string][]byte

func (w memWriter) Write(_ context.Context, items []store.Item) ([]bool, error) {
	stored := make([]bool, len(items))
	var ce store.ConflictError
	for i, it := range items {
		b, err := json.Marshal(it.M)
		if err != nil {
			return nil, err
		}
		key := it.Probe.Probe + " " + it.M.ID
		switch old, ok := w[key]; {
		case !ok:
			w[key], stored[i] = b, true
		case !bytes.Equal(old, b):
			ce.Conflicts = append(ce.Conflicts, store.Conflict{Index: i, Probe: it.Probe.Probe, ID: it.M.ID, Stored: "s", Submitted: "t"})
		}
	}
	if len(ce.Conflicts) > 0 {
		return stored, &ce
	}
	return stored, nil
}

// TestImport: the fixture file imported twice stores each measurement once; bad lines
// are reported with the file and line number and counted, and the rest is stored.
func TestImport(t *testing.T) {
	w := memWriter{}
	var bad []string
	o := Options{Now: func() time.Time { return now }, Bad: func(e *LineError) { bad = append(bad, e.Error()) }}
	run := func() Summary {
		f, err := os.Open("testdata/webconnectivity.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		s, err := Import(context.Background(), f, "wc.jsonl", newMapper(), w, o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got, want := run(), (Summary{Read: 8, Stored: 5, Skipped: 1, Bad: 2}); got != want {
		t.Errorf("first import %+v, want %+v", got, want)
	}
	if got, want := run(), (Summary{Read: 8, AlreadyStored: 5, Skipped: 1, Bad: 2}); got != want {
		t.Errorf("second import %+v, want %+v", got, want)
	}
	if len(w) != 5 {
		t.Errorf("%d measurements stored, want 5", len(w))
	}
	if len(bad) != 4 || !strings.HasPrefix(bad[0], "wc.jsonl:7: not valid JSON") || bad[1] != "wc.jsonl:8: report_id: missing" || bad[2] != bad[0] {
		t.Errorf("bad lines reported: %q", bad)
	}
	want := "8 read, 5 stored, 0 already stored, 1 skipped (not web_connectivity), 2 bad"
	if got := (Summary{Read: 8, Stored: 5, Skipped: 1, Bad: 2}).String(); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

// TestImportConflict: a measurement stored before with other content is a bad line
// counted as a conflict; an unavailable store stops the import with its error.
func TestImportConflict(t *testing.T) {
	line := fixtureLines(t, "testdata/webconnectivity.jsonl")[2]
	w := memWriter{}
	it, err := newMapper().Map(line, now)
	if err != nil {
		t.Fatal(err)
	}
	w[it.Probe.Probe+" "+it.M.ID] = []byte("{}")
	var bad []string
	s, err := Import(context.Background(), bytes.NewReader(line), "x", newMapper(), w, Options{Bad: func(e *LineError) { bad = append(bad, e.Error()) }})
	if err != nil || s != (Summary{Read: 1, Bad: 1, Conflicts: 1}) || len(bad) != 1 ||
		!strings.HasPrefix(bad[0], "x:1: measurement "+it.M.ID+" (report 20240305T101000Z_webconnectivity_ID_23693_n1_LmNoPqRsTuVw5678) is stored with other content (sha256 s, this is t)") {
		t.Errorf("summary %+v, %v, bad %q", s, err, bad)
	}
	down := writerFunc(func(context.Context, []store.Item) ([]bool, error) {
		return nil, fmt.Errorf("%w: no route", store.ErrUnavailable)
	})
	two := append(append(bytes.Clone(line), '\n'), line...)
	s, err = Import(context.Background(), bytes.NewReader(two), "y", newMapper(), down, Options{})
	if !errors.Is(err, store.ErrUnavailable) || !strings.HasPrefix(err.Error(), "y:1: ") || s.Read != 2 || s.Stored != 0 {
		t.Errorf("store down: %+v, %v", s, err)
	}
}

type writerFunc func(context.Context, []store.Item) ([]bool, error)

func (f writerFunc) Write(ctx context.Context, items []store.Item) ([]bool, error) {
	return f(ctx, items)
}

// TestImportRefusedItem: when the store refuses a batch for one item (InfluxDB's 400),
// the batch is written again item by item: only that item's line is bad, the others
// are stored.
func TestImportRefusedItem(t *testing.T) {
	lines := fixtureLines(t, "testdata/webconnectivity.jsonl")
	poison, err := newMapper().Map(lines[4], now)
	if err != nil {
		t.Fatal(err)
	}
	mem := memWriter{}
	var calls []int
	w := writerFunc(func(ctx context.Context, items []store.Item) ([]bool, error) {
		calls = append(calls, len(items))
		for _, it := range items {
			if it.M.ID == poison.M.ID {
				return nil, errors.New("InfluxDB refused: field type conflict")
			}
		}
		return mem.Write(ctx, items)
	})
	f, err := os.Open("testdata/webconnectivity.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var bad []string
	s, err := Import(context.Background(), f, "wc", newMapper(), w, Options{Batch: 3, Bad: func(e *LineError) { bad = append(bad, e.Error()) }})
	if err != nil || s != (Summary{Read: 8, Stored: 4, Skipped: 1, Bad: 3}) {
		t.Errorf("summary %+v, %v", s, err)
	}
	if len(bad) != 3 || bad[2] != "wc:4: InfluxDB refused: field type conflict" {
		t.Errorf("bad lines %q", bad)
	}
	// Lines 1-3 in one batch; 4 and 5, refused together, again one by one.
	if fmt.Sprint(calls) != "[3 2 1 1]" {
		t.Errorf("writes of %v items", calls)
	}
}

// TestImportStreams: a stream generated on the fly (no file, no end known in advance) is
// imported as it comes, never more than a batch of measurements held at once.
func TestImportStreams(t *testing.T) {
	line := fixtureLines(t, "testdata/webconnectivity.jsonl")[2]
	const n = 1000
	pr, pw := io.Pipe()
	go func() {
		for i := range n {
			l := bytes.Replace(line, []byte(`_LmNoPqRsTuVw5678"`), fmt.Appendf(nil, `_%d"`, i), 1)
			_, _ = pw.Write(append(l, '\n'))
		}
		pw.Close()
	}()
	mem, biggest := memWriter{}, 0
	w := writerFunc(func(ctx context.Context, items []store.Item) ([]bool, error) {
		biggest = max(biggest, len(items))
		return mem.Write(ctx, items)
	})
	s, err := Import(context.Background(), pr, "-", newMapper(), w, Options{})
	if err != nil || s != (Summary{Read: n, Stored: n}) || len(mem) != n {
		t.Errorf("summary %+v, %v, %d stored", s, err, len(mem))
	}
	if biggest != DefaultBatch {
		t.Errorf("largest write %d items, want %d", biggest, DefaultBatch)
	}
}
