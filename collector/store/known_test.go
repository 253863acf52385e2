package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// storeKnowing opens a store on bucket that trusts what a look-up told it for known
// (store.Config.Known) and remembers only one acknowledged (probe, ID), so that what it
// decides without asking InfluxDB comes from what it knows of the probe (known.go).
func storeKnowing(t *testing.T, url, bucket string, known time.Duration) *store.Store {
	t.Helper()
	s, err := store.New(store.Config{URL: url, Bucket: bucket, Timeout: 30 * time.Second, Recent: 1, Known: known}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// simple returns the measurement of domain started at t0 + at, as probe submits it.
func simple(t *testing.T, domain string, at time.Duration) store.Item {
	m := measurementtest.Simple(domain, t0.Add(at))
	return submitted(t, item(m), measurementtest.JSON(t, m))
}

// changed is it with other content (another verdict reason) for the same ID and start.
func changed(t *testing.T, it store.Item) store.Item {
	m := *it.M
	m.Verdict.Reason = "other content"
	return submitted(t, it, measurementtest.JSON(t, &m))
}

// TestKnownSavesLookUps: after one look-up of a probe, the store decides the probe's later
// items within the span read (store.Config.Known) without asking InfluxDB, and decides
// them as InfluxDB would: a new measurement is written, an identical resubmission is not
// written again, other content for a stored ID is refused. An item outside the span is
// looked up again.
func TestKnownSavesLookUps(t *testing.T) {
	url, _ := influxtest.Server(t)
	s := storeKnowing(t, url, influxtest.NewBucket(t), time.Hour)
	first := simple(t, "a.example", 0)
	write(t, s, first)
	if n := s.LookUps(); n != 1 {
		t.Fatalf("%d look-ups after the first write, want 1", n)
	}
	for _, tc := range []struct {
		name    string
		it      store.Item
		written bool
		refused bool
	}{
		{"new, a minute later", simple(t, "c.example", time.Minute), true, false},
		{"the first again", first, false, false},
		{"the first with other content", changed(t, first), false, true},
		{"new, started with the first", simple(t, "d.example", 0), true, false},
	} {
		written, err := s.WriteNew(ctx(t), []store.Item{tc.it})
		if tc.refused != errors.Is(err, store.ErrConflict) || (!tc.refused && err != nil) {
			t.Fatalf("%s: WriteNew = %v, refused %v", tc.name, err, tc.refused)
		}
		if written[0] != tc.written {
			t.Errorf("%s: written %v, want %v", tc.name, written[0], tc.written)
		}
	}
	if n := s.LookUps(); n != 1 {
		t.Errorf("%d look-ups, want still 1: the store knew every answer", n)
	}
	write(t, s, simple(t, "e.example", -time.Second))   // before the span read
	write(t, s, simple(t, "f.example", 20*time.Minute)) // past it
	if n := s.LookUps(); n != 3 {
		t.Errorf("%d look-ups after items a second before and 20 minutes after, want 3", n)
	}
}

// TestKnownIsWhatInfluxDBHolds: the store's knowledge of a probe includes what was stored
// before it looked (by another store) and what it wrote itself since, whether or not it
// still remembers having written it (Recent 1), and what other content is stored.
func TestKnownIsWhatInfluxDBHolds(t *testing.T) {
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	before := simple(t, "before.example", time.Second)
	write(t, openStore(t, url, bucket), before)
	s := storeKnowing(t, url, bucket, time.Hour)
	own := []store.Item{simple(t, "a.example", 0), simple(t, "b.example", 2*time.Second), simple(t, "c.example", 3*time.Second)}
	for _, it := range own {
		write(t, s, it)
	}
	for i, it := range append([]store.Item{before}, own...) {
		written, err := s.WriteNew(ctx(t), []store.Item{it, changed(t, it)})
		var ce *store.ConflictError
		if !errors.As(err, &ce) || len(ce.Conflicts) != 1 || ce.Conflicts[0].Index != 1 || fmt.Sprint(written) != "[false false]" {
			t.Errorf("item %d again, and with other content: written %v, %v; want neither written, the second refused", i, written, err)
		}
	}
	if n := s.LookUps(); n != 1 {
		t.Errorf("%d look-ups, want 1", n)
	}
	if rows := reachRows(t, url, bucket); len(rows) != 4 {
		t.Errorf("%d reach points, want 4: %v", len(rows), rows)
	}
}

// TestKnownExpires: the store trusts a look-up for Config.Known only; with Known
// negative it never does.
func TestKnownExpires(t *testing.T) {
	url, _ := influxtest.Server(t)
	for _, tc := range []struct {
		known time.Duration
		wait  time.Duration
		want  int64
	}{
		{time.Hour, 0, 1},
		{50 * time.Millisecond, 100 * time.Millisecond, 2},
		{-1, 0, 2},
	} {
		s := storeKnowing(t, url, influxtest.NewBucket(t), tc.known)
		write(t, s, simple(t, "a.example", 0))
		time.Sleep(tc.wait)
		write(t, s, simple(t, "b.example", time.Second))
		if n := s.LookUps(); n != tc.want {
			t.Errorf("Known %v, %v between two writes: %d look-ups, want %d", tc.known, tc.wait, n, tc.want)
		}
	}
}

// TestKnownAndAnotherReplica pins what docs/storage.md says can get past: a store that
// learned a probe's measurements does not see, for Config.Known, another replica's write
// for that probe, so it stores other content for that ID beside the first (which readers
// keep); once its knowledge expired, it refuses it.
func TestKnownAndAnotherReplica(t *testing.T) {
	url, _ := influxtest.Server(t)
	for _, trusting := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusting=%v", trusting), func(t *testing.T) {
			bucket := influxtest.NewBucket(t)
			known := time.Hour
			if !trusting {
				known = 50 * time.Millisecond
			}
			s := storeKnowing(t, url, bucket, known)
			write(t, s, simple(t, "a.example", 0))
			x := simple(t, "x.example", time.Second)
			write(t, openStore(t, url, bucket), x) // the other replica
			time.Sleep(100 * time.Millisecond)
			later := changed(t, x)
			later.ReceivedAt = later.ReceivedAt.Add(time.Minute)
			err := s.Write(ctx(t), []store.Item{later})
			rows := reachRows(t, url, bucket)
			switch {
			case trusting && (err != nil || len(rows) != 3):
				t.Errorf("Write = %v, %d reach points; want it stored beside the first (3)", err, len(rows))
			case !trusting && (!errors.Is(err, store.ErrConflict) || len(rows) != 2):
				t.Errorf("Write = %v, %d reach points; want a conflict and 2", err, len(rows))
			}
			got, _, err := s.Measurements(ctx(t), store.Filter{Probe: "probe-1", Domain: "x.example"})
			if err != nil || len(got) != 1 || string(got[0].Raw) != string(x.Raw) {
				t.Errorf("x.example reads %d measurements (%v), want the first stored", len(got), err)
			}
		})
	}
}

// TestKnownForgottenAfterAFailedWrite: when a write fails, InfluxDB may hold its points
// or not, so the store forgets what it knew of the probe and asks again.
func TestKnownForgottenAfterAFailedWrite(t *testing.T) {
	in := influxtest.Start(t)
	bucket := in.NewBucket(t)
	s := storeKnowing(t, in.URL(), bucket, time.Hour)
	write(t, s, simple(t, "a.example", 0))
	in.Stop()
	during := simple(t, "b.example", time.Second)
	if err := s.Write(ctx(t), []store.Item{during}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Write while stopped = %v, want unavailable", err)
	}
	in.Restart()
	if err := s.Ready(ctx(t)); err != nil {
		t.Fatal(err)
	}
	write(t, s, during)
	if n := s.LookUps(); n != 2 {
		t.Errorf("%d look-ups, want 2: the retry asks InfluxDB", n)
	}
}
