package spool

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The files kept aside in rejected/ and corrupt/ are bounded together by AsideMaxBytes:
// when a move aside takes them over the bound, the oldest are pruned (deleted), counted
// in counters.json and logged. The spool keeps an index of them, sorted oldest first, so
// a move aside costs no directory listing; the index is rebuilt from the directories at
// Open and whenever it turns out not to match them (files removed by hand).

// asideFile is one file kept aside with its .reason file: they are pruned together.
type asideFile struct {
	dir   string   // s.rejected or s.corrupt
	names []string // the file first, then its .reason file(s)
	key   int64    // order: the entry's sequence number, else the file's mtime in ns
	size  int64    // of all the files
}

// maxListed bounds the file names a prune warning lists.
const maxListed = 20

// asideKey orders a file kept aside: an entry name gives its sequence number (the
// enqueue time in nanoseconds), ignoring the ".N" that freeName may have added; any other
// name gives the file's modification time.
func asideKey(name string, fi fs.FileInfo) int64 {
	n := name
	if i := strings.LastIndexByte(n, '.'); i > 0 {
		if _, err := strconv.ParseUint(n[i+1:], 10, 64); err == nil {
			n = n[:i]
		}
	}
	if seq, ok := parseName(n); ok && seq <= math.MaxInt64 {
		return int64(seq)
	}
	if fi == nil {
		return 0
	}
	return fi.ModTime().UnixNano()
}

// less orders the index: oldest first, then by place.
func (a *asideFile) less(b *asideFile) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	if a.dir != b.dir {
		return a.dir < b.dir
	}
	return a.names[0] < b.names[0]
}

// scanAside rebuilds the index of rejected/ and corrupt/ from the directories. A file
// and the .reason files named after it form one asideFile; a .reason without its file
// stands alone. Directories are ignored. The caller holds the lock (or is Open).
func (s *Spool) scanAside() error {
	s.aside, s.asideBytes = nil, 0
	for _, dir := range []string{s.rejected, s.corrupt} {
		des, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		infos := map[string]fs.FileInfo{}
		for _, de := range des {
			if de.IsDir() {
				continue
			}
			if fi, err := de.Info(); err == nil { // else removed meanwhile
				infos[de.Name()] = fi
			}
		}
		groups := map[string]*asideFile{}
		for _, de := range des { // in name order, so a file comes before its .reason
			name := de.Name()
			fi, ok := infos[name]
			if !ok {
				continue
			}
			root := name
			for strings.HasSuffix(root, reasonExt) && infos[strings.TrimSuffix(root, reasonExt)] != nil {
				root = strings.TrimSuffix(root, reasonExt)
			}
			g := groups[root]
			if g == nil {
				g = &asideFile{dir: dir, key: asideKey(root, infos[root])}
				groups[root] = g
			}
			g.names = append(g.names, name)
			g.size += fi.Size()
		}
		for _, g := range groups {
			s.aside = append(s.aside, g)
			s.asideBytes += g.size
		}
	}
	sort.Slice(s.aside, func(i, j int) bool { return s.aside[i].less(s.aside[j]) })
	return nil
}

// noteAside adds dir/name and its .reason file, just moved aside, to the index. The
// caller holds the lock (or is Open).
func (s *Spool) noteAside(dir, name string) {
	a := &asideFile{dir: dir}
	for _, n := range []string{name, name + reasonExt} {
		fi, err := os.Lstat(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		if n == name {
			a.key = asideKey(name, fi)
		}
		a.names = append(a.names, n)
		a.size += fi.Size()
	}
	if len(a.names) == 0 {
		return
	}
	i := sort.Search(len(s.aside), func(i int) bool { return a.less(s.aside[i]) })
	s.aside = append(s.aside, nil)
	copy(s.aside[i+1:], s.aside[i:])
	s.aside[i] = a
	s.asideBytes += a.size
}

// pruneAside deletes the oldest files kept aside while they exceed AsideMaxBytes. Like a
// drop, a prune is counted (and the counters saved) before any file is deleted, so a
// crash may count one twice but never misses one; if the counters cannot be saved, the
// prune still happens and an error is logged. The caller holds the lock (or is Open).
func (s *Spool) pruneAside() {
	if s.asideBytes <= s.asideMax {
		return
	}
	n, nb := s.pruneCandidates()
	if n < 0 { // the index did not match the directories: trust the directories
		if err := s.scanAside(); err != nil {
			s.log.Error("spool: listing the files kept aside; not pruned", "err", err)
			return
		}
		if n, nb = s.pruneCandidates(); n <= 0 {
			return
		}
	}
	if n == 0 {
		return
	}
	s.c.Pruned += int64(n)
	s.c.PrunedBytes += nb
	s.keepCounters()
	var files []string
	dirs := map[string]bool{}
	for _, a := range s.aside[:n] {
		for _, name := range a.names {
			if err := os.Remove(filepath.Join(a.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.Error("spool: file kept aside could not be pruned", "file", filepath.Join(a.dir, name), "err", err)
			}
		}
		dirs[a.dir] = true
		if len(files) < maxListed {
			files = append(files, filepath.Join(filepath.Base(a.dir), a.names[0]))
		}
	}
	if n > maxListed {
		files = append(files, "(+"+strconv.Itoa(n-maxListed)+" more)")
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			s.log.Error("spool: syncing a directory", "dir", d, "err", err)
		}
	}
	clear(s.aside[:n])
	s.aside = s.aside[n:]
	s.asideBytes -= nb
	s.log.Warn("spool: oldest files kept aside pruned to stay within the bound", "files", files,
		"pruned", n, "pruned_bytes", nb, "aside_max_bytes", s.asideMax, "aside_bytes", s.asideBytes,
		"total_pruned", s.c.Pruned, "total_pruned_bytes", s.c.PrunedBytes)
}

// pruneCandidates returns how many of the oldest files kept aside must go, and their
// size, checking each against the disk; -1 if one of them changed behind the spool's back.
func (s *Spool) pruneCandidates() (int, int64) {
	n, nb := 0, int64(0)
	for s.asideBytes-nb > s.asideMax && n < len(s.aside) {
		a := s.aside[n]
		var size int64
		for _, name := range a.names {
			fi, err := os.Lstat(filepath.Join(a.dir, name))
			if err != nil {
				return -1, 0
			}
			size += fi.Size()
		}
		if size != a.size {
			return -1, 0
		}
		nb += a.size
		n++
	}
	return n, nb
}
