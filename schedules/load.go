package schedules

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// maxSkippedLines bounds how many bad lines of one list a schedule's Skipped names.
const maxSkippedLines = 20

// load loads the set in fsys and returns it with its files. With readAbsolute false,
// lists at absolute paths are not read (Files).
func load(fsys fs.FS, readAbsolute bool) (*Set, map[string][]byte, error) {
	names, err := scheduleFiles(fsys)
	if err != nil {
		return nil, nil, err
	}
	l := &loader{fsys: fsys, readAbsolute: readAbsolute, files: map[string][]byte{}, cache: map[string][]byte{}}
	var errs []error
	firstFile := map[string]string{} // schedule name → file
	set := &Set{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		l.files[name] = b
		dec := decodeFile(name, b)
		if dec.s == nil {
			errs = append(errs, dec.f.Err())
			continue
		}
		if n := dec.s.Name; validName.MatchString(n) {
			if first, dup := firstFile[n]; dup {
				dec.f.Errorf("name", "%q is already used by %s", n, first)
			} else {
				firstFile[n] = name
			}
		}
		lerrs := l.readLists(dec)
		s := dec.s
		switch {
		case dec.f.Err() != nil || len(lerrs) > 0:
			if err := dec.f.Err(); err != nil {
				errs = append(errs, err)
			}
			errs = append(errs, lerrs...)
		case len(s.Targets) == 0 && len(s.Skipped) == 0 && !dec.unread:
			// Nothing was left out, so nothing will ever be measured: a mistake.
			errs = append(errs, dec.f.At("targets", errors.New("none: give targets, or lists that hold some")))
		default:
			set.Schedules = append(set.Schedules, s)
		}
	}
	if err := errors.Join(uniqueErrors(errs)...); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(set.Schedules, func(a, b *Schedule) int { return strings.Compare(a.Name, b.Name) })
	set.Hash = hash(l.files)
	return set, l.files, nil
}

// loader reads the lists of a set, each file once.
type loader struct {
	fsys         fs.FS
	readAbsolute bool
	files        map[string][]byte // the set's files: schedules and relative lists
	cache        map[string][]byte // list path → bytes (absolute ones too)
}

// readLists appends the targets of dec's lists to its schedule and drops duplicate
// targets. A list that cannot be read is a problem of the schedule's file; the bad lines
// of a list are returned, as "LIST:LINE: what is wrong".
func (l *loader) readLists(dec *decoded) []error {
	s := dec.s
	var errs []error
	for i, ref := range dec.lists {
		field := fmt.Sprintf("lists[%d]", i)
		switch {
		case ref.Path.path == "": // reported
			continue
		case ref.Path.absolute && !l.readAbsolute:
			dec.unread = true
			continue
		}
		b, err := l.read(ref.Path)
		if err != nil {
			if ref.Optional && errors.Is(err, fs.ErrNotExist) {
				s.Skipped = append(s.Skipped, dec.f.At(field, fmt.Errorf("%s: not found; optional, skipped", ref.Path.path)).Error())
				continue
			}
			dec.f.Add(yamlconf.Errorf(field, "%w", err))
			continue
		}
		ts, err := target.Read(bytes.NewReader(b), ref.Path.path, ref.Categories)
		s.Targets = append(s.Targets, ts...)
		bad := splitErrors(err)
		if !ref.SkipBadLines {
			errs = append(errs, bad...)
			continue
		}
		for i, e := range bad {
			if i == maxSkippedLines {
				s.Skipped = append(s.Skipped, fmt.Sprintf("%s: %d more bad lines skipped", ref.Path.path, len(bad)-i))
				break
			}
			s.Skipped = append(s.Skipped, e.Error()+"; skipped")
		}
	}
	s.Targets = uniqueTargets(s.Targets)
	return errs
}

// read returns a list's bytes: relative paths from the set, absolute ones from the
// operating system.
func (l *loader) read(p listPath) ([]byte, error) {
	if b, ok := l.cache[p.path]; ok {
		return b, nil
	}
	var b []byte
	var err error
	if p.absolute {
		b, err = os.ReadFile(p.path)
	} else {
		b, err = fs.ReadFile(l.fsys, p.path)
	}
	if err != nil {
		return nil, err
	}
	l.cache[p.path] = b
	if !p.absolute {
		l.files[p.path] = b
	}
	return b, nil
}

// uniqueTargets drops repeated targets (same normalised URL), keeping the first.
func uniqueTargets(ts []target.Target) []target.Target {
	seen := make(map[string]bool, len(ts))
	out := ts[:0]
	for _, t := range ts {
		if k := t.String(); !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}

// splitErrors returns the errors joined in err (nil: none).
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// uniqueErrors drops repeated messages (a bad list used by two schedules).
func uniqueErrors(errs []error) []error {
	seen := map[string]bool{}
	out := errs[:0]
	for _, e := range errs {
		if m := e.Error(); !seen[m] {
			seen[m] = true
			out = append(out, e)
		}
	}
	return out
}
