package spool

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash test runs this test binary again as a child that uses the spool until it is
// killed with SIGKILL. TestMain sends the child to crashChild instead of the tests.
const (
	childDirEnv  = "PANTAU_SPOOL_CRASH_DIR"
	childModeEnv = "PANTAU_SPOOL_CRASH_MODE"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		os.Exit(crashChild(dir, os.Getenv(childModeEnv)))
	}
	os.Exit(m.Run())
}

// crashAsideMax is the aside bound of mode "prune": a few rejected entries.
const crashAsideMax = 5000

// crashOptions are the spool options of mode.
func crashOptions(dir, mode string) Options {
	if mode == "prune" {
		return Options{Dir: dir, AsideMaxBytes: crashAsideMax}
	}
	return Options{Dir: dir}
}

// crashChild puts measurements until it is killed, and in modes "drain" and "prune" also
// batches, acks and rejects them ("prune" rejects more, past a small aside bound). It reports each step on stdout, one line per write: "put ID"
// only after Put returned; "acking ID" before Ack is called and "acked ID" after it
// returned; likewise "rejecting ID" and "rejected ID".
func crashChild(dir, mode string) int {
	s, err := Open(crashOptions(dir, mode))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var mu sync.Mutex
	say := func(verb, id string) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := os.Stdout.WriteString(verb + " " + id + "\n"); err != nil {
			os.Exit(3)
		}
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(4)
	}
	putter := func() {
		for i := 0; ; i++ {
			m := meas(i)
			if err := s.Put(m); err != nil {
				fail(err)
			}
			say("put", m.ID)
		}
	}
	if mode == "put" {
		putter()
	}
	rejectEvery := 4
	if mode == "prune" {
		rejectEvery = 1
	}
	go putter()
	go putter()
	for n := 0; ; n++ {
		b, err := s.Batch(7, 0)
		if err != nil {
			fail(err)
		}
		var ack []string
		for i, m := range b {
			if i == 0 && n%rejectEvery == 0 {
				say("rejecting", m.ID)
				if err := s.Reject(m.ID, "test"); err != nil {
					fail(err)
				}
				say("rejected", m.ID)
				continue
			}
			say("acking", m.ID)
			ack = append(ack, m.ID)
		}
		if err := s.Ack(ack...); err != nil {
			fail(err)
		}
		for _, id := range ack {
			say("acked", id)
		}
	}
}

// runChild starts a child on dir, kills it with SIGKILL a random moment after its first
// report, and returns its complete report lines.
func runChild(t *testing.T, dir, mode string, rng *rand.Rand) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childModeEnv+"="+mode)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A child that never reports is killed too, and the test then fails below.
	guard := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer guard.Stop()
	r := bufio.NewReader(out)
	var lines []string
	first, err := r.ReadString('\n')
	if err == nil {
		lines = append(lines, first)
		time.Sleep(time.Duration(rng.IntN(200_000)) * time.Microsecond) // the random moment of the crash
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				break // a fragment without its newline is not a report
			}
			lines = append(lines, l)
		}
	}
	werr := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v; stderr:\n%s", werr, stderr.String())
	}
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\n")
	}
	return lines
}

// TestCrashSafety kills a child using the spool at random moments, reopens the spool
// after each kill and checks that every measurement the child was told is spooled is
// still there (unless the child started to acknowledge or reject it), that acknowledged
// ones are gone, rejected ones are in rejected/ (or, in mode "prune", counted as pruned),
// and that nothing is damaged.
func TestCrashSafety(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for _, tc := range []struct {
		mode    string
		putters int
	}{{"put", 1}, {"drain", 2}, {"prune", 2}} {
		t.Run(tc.mode, func(t *testing.T) {
			dir := t.TempDir()
			reported := map[string]map[string]bool{"put": {}, "acking": {}, "acked": {}, "rejecting": {}, "rejected": {}}
			present := map[string]bool{} // in the queue after the previous round
			puts, temps := 0, 0
			for round := range 8 {
				for _, l := range runChild(t, dir, tc.mode, rng) {
					verb, id, _ := strings.Cut(l, " ")
					if reported[verb] == nil {
						t.Fatalf("round %d: child said %q", round, l)
					}
					reported[verb][id] = true
					if verb == "put" {
						puts++
					}
				}
				des, err := os.ReadDir(filepath.Join(dir, "queue"))
				if err != nil {
					t.Fatal(err)
				}
				for _, de := range des {
					if _, ok := parseName(de.Name()); !ok {
						if filepath.Ext(de.Name()) != tmpExt {
							t.Errorf("round %d: foreign file in the queue: %s", round, de.Name())
						}
						temps++
					}
				}

				s, err := Open(crashOptions(dir, tc.mode))
				if err != nil {
					t.Fatal(err)
				}
				all, err := s.Batch(math.MaxInt, 0)
				if err != nil {
					t.Fatal(err)
				}
				st := s.Stats()
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if st.Corrupt != 0 || st.Dropped != 0 || len(all) != st.Depth {
					t.Fatalf("round %d: stats %+v; %d entries decoded", round, st, len(all))
				}
				now := map[string]bool{}
				unreported := 0
				for _, m := range all {
					if now[m.ID] {
						t.Errorf("round %d: %s queued twice", round, m.ID)
					}
					now[m.ID] = true
					if !reported["put"][m.ID] && !present[m.ID] {
						unreported++ // its Put returned, but the child was killed before saying so
					}
				}
				if unreported > tc.putters {
					t.Errorf("round %d: %d queued measurements the child never reported, at most %d Puts were in flight", round, unreported, tc.putters)
				}
				rejectedFiles, _ := filepath.Glob(filepath.Join(dir, "rejected", "*"+entryExt))
				aside := map[string]bool{}
				for _, f := range rejectedFiles {
					aside[strings.TrimSuffix(filepath.Base(f)[seqDigits+1:], entryExt)] = true
				}
				// Rejected entries gone from rejected/ were pruned, and counted before.
				gone := int64(0)
				for id := range reported["rejected"] {
					if !aside[id] && !now[id] {
						gone++
					}
				}
				if tc.mode != "prune" && gone > 0 {
					t.Errorf("round %d: %d rejected entries gone from rejected/ without an aside bound", round, gone)
				}
				if st.Pruned < gone {
					t.Errorf("round %d: %d pruned counted, %d rejected entries gone from rejected/", round, st.Pruned, gone)
				}
				if tc.mode == "prune" {
					if _, n := asideFiles(t, dir); n > crashAsideMax {
						t.Errorf("round %d: %d bytes kept aside, bound %d", round, n, crashAsideMax)
					}
				}
				// A rejection (a prune) is counted before the entry is moved (deleted): a
				// kill in between may count one more than rejected/ holds, never fewer.
				if n := int64(len(rejectedFiles)); st.Rejected < n+gone || st.Rejected > n+st.Pruned+int64(round+1) {
					t.Errorf("round %d: %d rejected and %d pruned counted, %d files in rejected/", round, st.Rejected, st.Pruned, n)
				}
				for id := range reported["put"] {
					switch {
					case reported["acked"][id] && now[id]:
						t.Errorf("round %d: %s acknowledged but still queued", round, id)
					case reported["rejected"][id] && (now[id] || !aside[id] && tc.mode != "prune"):
						t.Errorf("round %d: %s rejected but not (only) in rejected/", round, id)
					case reported["acking"][id] || reported["rejecting"][id]:
						// either way is fine
					case !now[id]:
						t.Errorf("round %d: %s was spooled and is lost", round, id)
					}
				}
				present = now
			}
			if puts == 0 {
				t.Fatal("the child spooled nothing")
			}
			st, err := ReadStats(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d measurements reported spooled across 8 SIGKILLs; %d acknowledged, %d rejected, %d pruned; %d temp files of interrupted Puts removed; %d queued at the end",
				puts, len(reported["acked"]), len(reported["rejected"]), st.Pruned, temps, len(present))
		})
	}
}
