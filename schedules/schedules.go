// Package schedules loads the probe's measurement schedules: one YAML file per schedule
// (a name, a cron spec in UTC, a jitter, targets given inline or read from target-list
// files, and optional resolver, timeout and concurrency overrides). A folder of such
// files is a Set, identified by a hash over its bytes so that a probe and the collector
// that serves the set to it agree on what runs. The package embeds the default set
// (Builtin). The file format is described in schedules/README.md.
package schedules

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/target"
)

// DefaultConcurrency is a schedule's concurrency when its file gives none.
const DefaultConcurrency = 32

// MaxConcurrency bounds a schedule's concurrency.
const MaxConcurrency = 1024

// Schedule is one loaded and validated schedule.
type Schedule struct {
	Name        string
	Description string
	// Cron is the spec as written: five fields (minute hour day-of-month month
	// day-of-week) or a descriptor (@hourly, @every 15m, ...); it runs in UTC.
	Cron   string
	Jitter time.Duration // random delay before each run, shorter than the interval
	// Targets are the inline targets followed by those of each list, in order,
	// without duplicates (the first occurrence is kept).
	Targets     []target.Target
	Resolvers   []dnsquery.Resolver // extra resolvers; empty: the probe's
	Timeouts    Timeouts            // zero fields: the probe's
	Concurrency int                 // targets measured at once; DefaultConcurrency unless given
	File        string              // the schedule's file name in its set
	// Skipped says what was left out and why: an optional list that is missing, or bad
	// lines of a list with skip_bad_lines. Each entry reads "FILE:LINE: FIELD: why".
	Skipped []string

	spec cron.Schedule
}

// Timeouts override the probe's per-step timeouts and per-target deadline.
type Timeouts struct{ DNS, TCP, TLS, HTTP, Target time.Duration }

// Set is a loaded set of schedules.
type Set struct {
	Schedules []*Schedule // sorted by name
	// Hash is the hex SHA-256 of the set's files (Files): the same bytes give the same
	// hash wherever they are loaded. Lists read from absolute paths are not part of it.
	Hash string
}

// Get returns the schedule called name, or nil.
func (s *Set) Get(name string) *Schedule {
	i, ok := slices.BinarySearchFunc(s.Schedules, name, func(x *Schedule, n string) int { return strings.Compare(x.Name, n) })
	if !ok {
		return nil
	}
	return s.Schedules[i]
}

// Next returns the first time the schedule fires after after, in UTC (before jitter).
// It returns the zero time for a spec that does not parse or never fires.
func (s *Schedule) Next(after time.Time) time.Time {
	spec := s.spec
	if spec == nil {
		var err error
		if spec, err = parseCron(s.Cron); err != nil {
			return time.Time{}
		}
	}
	return spec.Next(after.UTC()).UTC()
}

// builtin holds the default schedules and their lists.
//
//go:embed *.yaml lists
var builtin embed.FS

// Builtin returns the embedded default set: the *.yaml files of this folder and lists/.
func Builtin() fs.FS { return builtin }

// Load loads every *.yaml and *.yml file at the root of fsys (hidden files aside), one
// schedule per file. Relative list paths are read from fsys, absolute ones from the
// operating system. Every problem is reported, each as "FILE:LINE: FIELD: what is
// wrong", all joined with errors.Join; on error no Set is returned.
func Load(fsys fs.FS) (*Set, error) {
	set, _, err := load(fsys, true)
	if err != nil {
		return nil, err
	}
	return set, nil
}

// Files returns the bytes that make up the set in fsys, by slash-separated name: the
// schedule files and the relative lists they use (those present). It validates the set
// like Load does, except for lists at absolute paths, which are neither read nor
// returned: they belong to the machine that runs the schedule. The collector serves
// these files to its probes; a probe loads them with Load(FromFiles(files)).
func Files(fsys fs.FS) (map[string][]byte, error) {
	_, files, err := load(fsys, false)
	if err != nil {
		return nil, err
	}
	return files, nil
}

// FromFiles returns a read-only file system holding files (as returned by Files), for
// loading a synced set with Load. Names that are not valid slash-separated relative
// paths (fs.ValidPath) are left out.
func FromFiles(files map[string][]byte) fs.FS {
	m := make(memFS, len(files))
	for name, b := range files {
		if fs.ValidPath(name) && name != "." {
			m[name] = slices.Clone(b)
		}
	}
	return m
}

// hash returns the hex SHA-256 over files in name order, each written as
// "LEN(NAME):NAME" then "LEN(DATA):DATA", so that no two sets share an encoding.
func hash(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%d:%s%d:", len(name), name, len(files[name]))
		h.Write(files[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// scheduleFiles lists the schedule files at the root of fsys, in name order.
func scheduleFiles(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("schedules: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || (path.Ext(n) != ".yaml" && path.Ext(n) != ".yml") {
			continue
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, errors.New("schedules: no schedule files (*.yaml or *.yml)")
	}
	return names, nil // fs.ReadDir sorts by name
}

// parseCron parses a spec with the standard parser, in UTC. Time-zone prefixes are
// refused: schedules run in UTC (and the library panics on some of them).
func parseCron(spec string) (cron.Schedule, error) {
	if strings.Contains(spec, "TZ=") {
		return nil, errors.New("time zones are not allowed: schedules run in UTC")
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": ["); i > 0 && strings.HasSuffix(msg, "]") {
			msg = msg[:i] // "found 4: [*/15 * * *]": the spec is quoted already
		}
		return nil, errors.New(msg)
	}
	if ss, ok := s.(*cron.SpecSchedule); ok {
		ss.Location = time.UTC
	}
	return s, nil
}

// gapReference is where the shortest interval of a spec is measured from.
var gapReference = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// shortestGap returns the shortest time between two of the first 64 runs of s after
// gapReference, or 0 if s never runs.
func shortestGap(s cron.Schedule) time.Duration {
	prev := s.Next(gapReference)
	if prev.IsZero() {
		return 0
	}
	shortest := time.Duration(1<<63 - 1)
	for range 64 {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		shortest = min(shortest, next.Sub(prev))
		prev = next
	}
	return shortest
}
