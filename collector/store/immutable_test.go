package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// submitted is it with Raw set to raw and M decoded from it, as ingest gives them.
func submitted(t *testing.T, it store.Item, raw string) store.Item {
	t.Helper()
	var m measurement.Measurement
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	m.Normalise()
	it.M, it.Raw = &m, []byte(raw)
	return it
}

// oddJSON is m's JSON with white space a probe may send between the tokens (CR LF, tabs,
// spaces) and escapes encoding/json does not write (\/, \u00e9, \u0041).
func oddJSON(t *testing.T, m *measurement.Measurement) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(measurementtest.JSON(t, m)), "\r\n", "\t "); err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(buf.String(), `"target": "https://`, `"target" :	"https:\/\/`, 1)
	s = strings.Replace(s, `"reason": "`, `"reason": "\u0041\u00e9 \\t \\n \\\" `, 1)
	return " \n" + s + "\t\r\n" // white space around the value too
}

// reachRows returns the id, sha256 and raw of every reach point, by time.
func reachRows(t *testing.T, url, bucket string) []string {
	t.Helper()
	var out []string
	for _, se := range influxtest.Query(t, url, bucket, `SELECT "id", "sha256", "received_at_ms", "raw" FROM "reach" GROUP BY "probe"`) {
		for _, r := range se.Rows() {
			out = append(out, fmt.Sprintf("%s %v %v %v", se.Tags["probe"], r["id"], r["sha256"], r["received_at_ms"]))
		}
	}
	return out
}

func sum(raw []byte) string {
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:])
}

// TestImmutable: a stored measurement never changes. An identical resubmission is not
// written again (the first receive time stays); other content for the same probe and ID
// is refused with a ConflictError naming it, and the stored point stays as it was, whether
// the store remembers the first write (warm) or must ask InfluxDB (a new store, as after
// a restart or on another replica). Another probe's measurement with the same ID is its
// own.
func TestImmutable(t *testing.T) {
	m := measurementtest.Simple("example.com", t0)
	first := submitted(t, item(m), measurementtest.JSON(t, m))
	later := func(it store.Item) store.Item { it.ReceivedAt = it.ReceivedAt.Add(time.Hour); return it }
	changed := *m
	changed.Verdict = measurement.Verdict{Status: "blocked", Method: "dns", Reason: "forged", Evidence: []string{}}
	otherMS := *m
	otherMS.StartedAt = m.StartedAt.Add(5 * time.Millisecond) // not in the millisecond InfluxDB is asked about
	other := first
	other.Probe = store.Identity{Probe: "probe-2", Network: "indosat", Country: "ID", ASN: 4761}
	for _, tc := range []struct {
		name     string
		it       store.Item
		conflict bool // refused with a ConflictError
		points   int  // reach points afterwards
		warmOnly bool // only a store that remembers the first write refuses it
	}{
		{"same bytes", later(first), false, 1, false},
		{"same measurement, other bytes", later(submitted(t, item(m), oddJSON(t, m))), true, 1, false},
		{"other content", later(submitted(t, item(m), measurementtest.JSON(t, &changed))), true, 1, false},
		{"other millisecond", later(submitted(t, item(m), measurementtest.JSON(t, &otherMS))), true, 1, true},
		{"same ID by another probe", later(submitted(t, other, oddJSON(t, m))), false, 2, false},
	} {
		for _, warm := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/warm=%v", tc.name, warm), func(t *testing.T) {
				s, url, bucket := newStore(t)
				write(t, s, first)
				before := reachRows(t, url, bucket)
				if !warm {
					s = openStore(t, url, bucket)
				}
				err := s.Write(ctx(t), []store.Item{tc.it})
				wantConflict := tc.conflict && (warm || !tc.warmOnly)
				var ce *store.ConflictError
				switch {
				case wantConflict && (!errors.As(err, &ce) || !errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrUnavailable)):
					t.Fatalf("Write = %v, want a ConflictError", err)
				case wantConflict:
					want := store.Conflict{Index: 0, Probe: "probe-1", ID: m.ID, Stored: sum(first.Raw), Submitted: sum(tc.it.Raw)}
					if len(ce.Conflicts) != 1 || ce.Conflicts[0] != want {
						t.Errorf("conflicts %+v, want %+v", ce.Conflicts, want)
					}
					wantMsg := fmt.Sprintf("measurement %s of probe probe-1 is stored with other content (sha256 %s, refused %s)", m.ID, sum(first.Raw), sum(tc.it.Raw))
					if err.Error() != wantMsg {
						t.Errorf("error %q, want %q", err, wantMsg)
					}
				case err != nil:
					t.Fatalf("Write = %v, want nil", err)
				}
				rows := reachRows(t, url, bucket)
				if !wantConflict && tc.points == 1 && !tc.warmOnly && strings.Join(rows, "\n") != strings.Join(before, "\n") {
					t.Errorf("stored points changed:\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(before, "\n"))
				}
				if wantConflict && strings.Join(rows, "\n") != strings.Join(before, "\n") {
					t.Errorf("a refused item changed what is stored:\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(before, "\n"))
				}
				wantPoints := tc.points
				if tc.warmOnly && !warm {
					wantPoints = 2 // stored beside the first, which readers keep (TestReadersKeepFirstReceived)
				}
				if !wantConflict && len(rows) != wantPoints {
					t.Errorf("%d reach points, want %d: %v", len(rows), wantPoints, rows)
				}
				// Whatever was stored, the first probe's measurement reads back as first stored.
				got, _, err := s.Measurements(ctx(t), store.Filter{Probe: "probe-1"})
				if err != nil || len(got) != 1 || string(got[0].Raw) != string(first.Raw) || !got[0].ReceivedAt.Equal(first.ReceivedAt) {
					t.Fatalf("probe-1 reads %d measurements (%v)", len(got), err)
				}
			})
		}
	}
}

// TestImmutableWithinOneWrite: the same measurement twice in one call is stored once;
// other content for the same probe and ID later in the call is refused.
func TestImmutableWithinOneWrite(t *testing.T) {
	s, url, bucket := newStore(t)
	m, n := measurementtest.Simple("example.com", t0), measurementtest.Simple("example.org", t0)
	a := submitted(t, item(m), measurementtest.JSON(t, m))
	b := submitted(t, item(m), oddJSON(t, m))
	c := item(n)
	err := s.Write(ctx(t), []store.Item{a, c, a, b})
	var ce *store.ConflictError
	if !errors.As(err, &ce) || len(ce.Conflicts) != 1 || ce.Conflicts[0].Index != 3 || ce.Conflicts[0].ID != m.ID {
		t.Fatalf("Write = %v, want item 3 refused", err)
	}
	if rows := reachRows(t, url, bucket); len(rows) != 2 {
		t.Errorf("reach points %v, want 2", rows)
	}
}

// TestImmutableConcurrent: calls racing with other content for one probe and ID (the
// first not yet acknowledged when the others check) store exactly one of them.
func TestImmutableConcurrent(t *testing.T) {
	s, url, bucket := newStore(t)
	m := measurementtest.Simple("example.com", t0)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			changed := *m
			changed.Verdict.Reason = "version " + strconv.Itoa(i)
			errs[i] = s.Write(ctx(t), []store.Item{submitted(t, item(m), measurementtest.JSON(t, &changed))})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("Write = %v, want nil or a conflict", err)
		}
	}
	if rows := reachRows(t, url, bucket); ok != 1 || len(rows) != 1 {
		t.Errorf("%d writes succeeded, reach points %v; want 1 and 1", ok, rows)
	}
}

// TestRawAsSubmitted: the JSON a probe submitted is stored and read back byte for byte:
// white space between the tokens (which line protocol writes as escapes), escapes
// encoding/json would not write, HTML characters, and a JSON of several raw fields with
// white space and escapes across their boundaries. The measurement decodes from it as
// ingest decoded it.
func TestRawAsSubmitted(t *testing.T) {
	s, _, _ := newStore(t)
	small := measurementtest.Full("a.example", t0)
	small.Verdict.Reason = "<b>blocked</b> & \"more\" \\ é"
	large := measurementtest.Simple("b.example", t0.Add(time.Second))
	for i := range 600 {
		large.Verdict.Evidence = append(large.Verdict.Evidence, fmt.Sprintf("evidence %d\t\"quoted\" \\ ☂ %s", i, strings.Repeat("x", i)))
	}
	raws := map[string]string{small.ID: oddJSON(t, small), large.ID: oddJSON(t, large)}
	if len(raws[large.ID]) < 150000 {
		t.Fatalf("the large JSON is %d bytes: want several raw fields", len(raws[large.ID]))
	}
	var items []store.Item
	for _, m := range []*measurement.Measurement{small, large} {
		items = append(items, submitted(t, item(m), raws[m.ID]))
	}
	write(t, s, items...)
	got, _, err := s.Measurements(ctx(t), store.Filter{})
	if err != nil || len(got) != 2 {
		t.Fatalf("Measurements = %d, %v", len(got), err)
	}
	for i, sm := range got {
		want := items[len(items)-1-i]
		if string(sm.Raw) != string(want.Raw) {
			t.Errorf("%s: raw\n got %q\nwant %q", sm.Measurement.ID, sm.Raw, want.Raw)
		}
		if measurementtest.JSON(t, sm.Measurement) != measurementtest.JSON(t, want.M) {
			t.Errorf("%s: decodes to\n%s\nwant\n%s", sm.Measurement.ID, measurementtest.JSON(t, sm.Measurement), measurementtest.JSON(t, want.M))
		}
	}
	// Invalid UTF-8 would not read back as sent: refused before anything is written.
	bad := submitted(t, item(measurementtest.Simple("c.example", t0)), measurementtest.JSON(t, measurementtest.Simple("c.example", t0)))
	bad.Raw = append(bytes.TrimSuffix(bad.Raw, []byte("}")), []byte(",\"x\":\"\xff\"}")...)
	if err := s.Write(ctx(t), []store.Item{bad}); err == nil || errors.Is(err, store.ErrUnavailable) ||
		err.Error() != fmt.Sprintf("measurement %s: its JSON is not valid UTF-8 at byte %d", bad.M.ID, len(bad.Raw)-3) {
		t.Errorf("Write of invalid UTF-8 = %v", err)
	}
}

// TestForgedID: a second probe submitting another probe's measurement ID (with its own
// content) stores its own measurement: every reader shows each probe's content under its
// own name, never one probe's content under the other's.
func TestForgedID(t *testing.T) {
	s, _, _ := newStore(t)
	victim := store.Identity{Probe: "tsel-1", Network: "Telkomsel", Country: "ID", ASN: 23693}
	forger := store.Identity{Probe: "evil-1", Network: "Evilnet", Country: "ID", ASN: 64500}
	m := measurementtest.Simple("t.me", july)
	forged := *m
	forged.Verdict = measurement.Verdict{Status: "blocked", Method: "dns", Reason: "forged", Evidence: []string{}}
	v := submitted(t, store.Item{M: m, Probe: victim, ReceivedAt: july.Add(time.Minute)}, measurementtest.JSON(t, m))
	f := submitted(t, store.Item{M: &forged, Probe: forger, ReceivedAt: july.Add(2 * time.Minute)}, measurementtest.JSON(t, &forged))
	write(t, s, v)
	write(t, s, f)
	got, _, err := s.Measurements(ctx(t), store.Filter{Domain: "t.me", From: july, To: july.Add(time.Hour)})
	if err != nil || len(got) != 2 {
		t.Fatalf("Measurements = %d, %v; want both", len(got), err)
	}
	for _, sm := range got {
		want := map[string]store.Item{"tsel-1": v, "evil-1": f}[sm.Probe.Probe]
		if sm.Probe != want.Probe || string(sm.Raw) != string(want.Raw) || sm.Measurement.Verdict.Reason != want.M.Verdict.Reason {
			t.Errorf("%s lists %s with reason %q", sm.Probe.Probe, sm.Raw, sm.Measurement.Verdict.Reason)
		}
	}
	for _, p := range []store.Item{v, f} {
		got, _, err := s.Measurements(ctx(t), store.Filter{Probe: p.Probe.Probe, From: july, To: july.Add(time.Hour)})
		if err != nil || len(got) != 1 || string(got[0].Raw) != string(p.Raw) || got[0].Probe != p.Probe {
			t.Errorf("probe %s: %d measurements (%v)", p.Probe.Probe, len(got), err)
		}
	}
	obs, err := s.Observations(ctx(t), store.ObsFilter{From: july, To: july.Add(time.Hour)})
	if err != nil || len(obs) != 2 {
		t.Fatalf("Observations = %v, %v", obs, err)
	}
	for _, o := range obs {
		if want := map[string]string{"tsel-1": "Telkomsel", "evil-1": "Evilnet"}[o.Probe]; o.Network != want || o.ID != m.ID ||
			o.Status != timeline.State(map[string]string{"tsel-1": "accessible", "evil-1": "blocked"}[o.Probe]) {
			t.Errorf("observation %+v", o)
		}
	}
}

// TestReadersKeepFirstReceived: two contents stored for one probe and ID (past Write's
// check: written here straight to InfluxDB, the later received first in time) are read as
// one measurement, the one received first, with the other counted; Observations keep it
// too.
func TestReadersKeepFirstReceived(t *testing.T) {
	s, url, bucket := newStore(t)
	db, _, _ := strings.Cut(bucket, "/")
	m := measurementtest.Simple("t.me", july.Add(time.Second))
	changed := *m
	changed.StartedAt = july // earlier, so listed first if it were kept
	changed.Verdict = measurement.Verdict{Status: "blocked", Method: "dns", Reason: "changed", Evidence: []string{}}
	first := submitted(t, store.Item{M: m, Probe: probe, ReceivedAt: july.Add(time.Minute)}, measurementtest.JSON(t, m))
	second := submitted(t, store.Item{M: &changed, Probe: probe, ReceivedAt: july.Add(time.Hour)}, measurementtest.JSON(t, &changed))
	for _, it := range []store.Item{first, second} {
		lp, _, err := store.LineProtocol(it)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeLine(url, db, lp); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := s.Measurements(ctx(t), store.Filter{From: july, To: july.Add(time.Hour)})
	if err != nil || len(got) != 1 || string(got[0].Raw) != string(first.Raw) || got[0].Conflicts != 1 {
		t.Fatalf("Measurements = %d items (%v), want the first received with 1 conflict", len(got), err)
	}
	obs, err := s.Observations(ctx(t), store.ObsFilter{From: july, To: july.Add(time.Hour)})
	if err != nil || len(obs) != 1 || !obs[0].At.Equal(store.PointTime(first)) || obs[0].Status != timeline.Accessible {
		t.Fatalf("Observations = %v (%v), want the first received only", obs, err)
	}
}

// TestLookUpsMerged: concurrent Write calls on a store that remembers nothing share
// look-up requests (lookups.go), and each call still gets its own items' answer:
// identical resubmissions are not written again, other content for a stored ID is a
// conflict, new measurements are written, for several probes at once.
func TestLookUpsMerged(t *testing.T) {
	first, url, bucket := newStore(t)
	const probes, each = 4, 6
	type call struct {
		it   store.Item
		want string // "stored", "conflict" or "new"
	}
	var calls []call
	for p := range probes {
		for i := range each {
			m := measurementtest.Simple(fmt.Sprintf("d%d.example", i), t0.Add(time.Duration(p*each+i)*time.Second))
			it := item(m)
			it.Probe.Probe = fmt.Sprintf("probe-%d", p)
			raw := measurementtest.JSON(t, m)
			switch i % 3 {
			case 0:
				write(t, first, submitted(t, it, raw))
				calls = append(calls, call{submitted(t, it, raw), "stored"})
			case 1:
				write(t, first, submitted(t, it, raw))
				changed := *m
				changed.Verdict.Reason = "other content"
				calls = append(calls, call{submitted(t, it, measurementtest.JSON(t, &changed)), "conflict"})
			default:
				calls = append(calls, call{submitted(t, it, raw), "new"})
			}
		}
	}
	before := len(reachRows(t, url, bucket))
	s := storeKnowing(t, url, bucket, -1) // remembers nothing: every answer comes from InfluxDB
	errs := make([]error, len(calls))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Write(ctx(t), []store.Item{c.it})
		}()
	}
	close(start)
	wg.Wait()
	for i, c := range calls {
		conflict := errors.Is(errs[i], store.ErrConflict)
		if (errs[i] != nil && !conflict) || conflict != (c.want == "conflict") {
			t.Errorf("call %d (%s, %s): Write = %v", i, c.it.Probe.Probe, c.want, errs[i])
		}
	}
	if got, want := len(reachRows(t, url, bucket)), before+probes*each/3; got != want {
		t.Errorf("%d reach points after the calls, want %d (only the new ones added)", got, want)
	}
	if n := s.LookUps(); n < 1 || n >= int64(len(calls)) {
		t.Errorf("%d look-up requests for %d concurrent calls, want fewer (merged)", n, len(calls))
	}
}

// TestWriteNewSaysWhatItWrote: WriteNew says which items it wrote: a new one (true), one
// stored already identically, its repeat later in the call, and one with other content
// for a stored ID (a conflict) false; also when the answer comes from InfluxDB (a new
// store).
func TestWriteNewSaysWhatItWrote(t *testing.T) {
	first, url, bucket := newStore(t)
	stored := measurementtest.Simple("stored.example", t0)
	write(t, first, submitted(t, item(stored), measurementtest.JSON(t, stored)))
	changed := *stored
	changed.Verdict.Reason = "other content"
	fresh := measurementtest.Simple("new.example", t0.Add(time.Second))
	items := []store.Item{
		submitted(t, item(fresh), measurementtest.JSON(t, fresh)),
		submitted(t, item(stored), measurementtest.JSON(t, stored)),
		submitted(t, item(fresh), measurementtest.JSON(t, fresh)),
		submitted(t, item(stored), measurementtest.JSON(t, &changed)),
	}
	for _, s := range []*store.Store{first, openStore(t, url, bucket)} {
		written, err := s.WriteNew(ctx(t), items)
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("WriteNew = %v, want the conflict of item 3", err)
		}
		want := []bool{s == first, false, false, false} // the second store finds the new one stored
		if fmt.Sprint(written) != fmt.Sprint(want) {
			t.Errorf("written %v, want %v", written, want)
		}
	}
	if rows := reachRows(t, url, bucket); len(rows) != 2 {
		t.Errorf("reach points %v, want the two measurements once each", rows)
	}
}
