package ooni

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

func (w memWriter) Write(_ context.Context, it store.Item) (bool, error) {
	b, err := json.Marshal(it.M)
	if err != nil {
		return false, err
	}
	key := it.Probe.Probe + " " + it.M.ID
	switch old, ok := w[key]; {
	case !ok:
		w[key] = b
		return true, nil
	case bytes.Equal(old, b):
		return false, nil
	}
	return false, fmt.Errorf("%w: %s", store.ErrConflict, key)
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
	if err != nil || s != (Summary{Read: 1, Bad: 1, Conflicts: 1}) || len(bad) != 1 || !strings.Contains(bad[0], "x:1: measurement "+it.M.ID+" (report ") {
		t.Errorf("summary %+v, %v, bad %q", s, err, bad)
	}
	down := writerFunc(func(context.Context, store.Item) (bool, error) {
		return false, fmt.Errorf("%w: no route", store.ErrUnavailable)
	})
	two := append(append(bytes.Clone(line), '\n'), line...)
	s, err = Import(context.Background(), bytes.NewReader(two), "y", newMapper(), down, Options{})
	if !errors.Is(err, store.ErrUnavailable) || !strings.HasPrefix(err.Error(), "y:1: ") || s.Read != 1 {
		t.Errorf("store down: %+v, %v", s, err)
	}
}

type writerFunc func(context.Context, store.Item) (bool, error)

func (f writerFunc) Write(ctx context.Context, it store.Item) (bool, error) { return f(ctx, it) }
