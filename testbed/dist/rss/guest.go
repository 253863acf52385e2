package main

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// guest locates a 32-bit program's address space inside the qemu-user process running
// it: qemu reserves 4 GiB at guest_base and maps every guest address a at guest_base+a,
// its own code, heap and translation cache lying outside. The guest's resident memory
// is then the RSS of the mappings inside that window.
type guest struct {
	pid  int
	base uint64
}

// findGuest finds guest_base from where the emulator mapped the program's first
// loadable segment (the file, at offset 0) and that segment's address in the ELF.
func findGuest(pid int, program string) (*guest, error) {
	abs, err := filepath.Abs(program)
	if err != nil {
		return nil, err
	}
	f, err := elf.Open(program)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS32 {
		return nil, errors.New("guest memory is measured for 32-bit programs only")
	}
	var vaddr uint64
	found := false
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Off == 0 {
			vaddr, found = p.Vaddr&^0xfff, true
			break
		}
	}
	if !found {
		return nil, errors.New("no loadable segment at offset 0")
	}
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(maps), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 6 || fields[5] != abs || fields[2] != "00000000" {
			continue
		}
		start, _, _ := strings.Cut(fields[0], "-")
		a, err := strconv.ParseUint(start, 16, 64)
		if err != nil {
			return nil, err
		}
		return &guest{pid: pid, base: a - vaddr}, nil
	}
	return nil, errors.New("the program is not mapped yet")
}

// rss sums the Rss of the mappings in the guest's 4 GiB window, and its anonymous part
// (heap, stacks: not the program's file pages, which the kernel can drop and read back),
// in MB.
func (g *guest) rss() (all, anon float64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", g.pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var kb, anonKB uint64
	inside := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := mappingRange(line); ok {
			inside = lo >= g.base && hi <= g.base+1<<32
			continue
		}
		if !inside {
			continue
		}
		for field, sum := range map[string]*uint64{"Rss:": &kb, "Anonymous:": &anonKB} {
			if v, ok := strings.CutPrefix(line, field); ok {
				n, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				if err != nil {
					return 0, 0, fmt.Errorf("smaps %q: %w", line, err)
				}
				*sum += n
			}
		}
	}
	return float64(kb) / 1024, float64(anonKB) / 1024, sc.Err()
}

// mappingRange parses the "lo-hi perms ..." header line of an smaps entry.
func mappingRange(line string) (lo, hi uint64, ok bool) {
	r, _, found := strings.Cut(line, " ")
	a, b, found2 := strings.Cut(r, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(a, 16, 64)
	hi, err2 := strconv.ParseUint(b, 16, 64)
	return lo, hi, err1 == nil && err2 == nil
}
