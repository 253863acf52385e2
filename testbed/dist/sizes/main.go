// Command sizes shows what a Go binary is made of: `go tool nm -size -sort size` of an
// unstripped build, each symbol counted only when it lies in a section that is stored in
// the file (.bss and .noptrbss cost memory, not bytes of the release), grouped by Go
// package or by module. It is how docs/scaling.md "Release sizes" was measured:
//
//	GOARCH=mipsle GOMIPS=softfloat CGO_ENABLED=0 go build -trimpath -o /tmp/p ./probe
//	go run ./testbed/dist/sizes -by module -top 25 /tmp/p
//
// The code and data of a package are attributed to it; the function metadata of the whole
// program (.gopclntab: line tables, stack maps, go:func.*) is shown as its own line, as it
// grows with the code (about 0.55 bytes per byte of code here). Type descriptors live in
// type:* symbols the linker does not split by package: they are shown as "(types)".
package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

func main() {
	by := flag.String("by", "module", "group symbols by `package` or module")
	top := flag.Int("top", 30, "print the `N` largest groups")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: sizes [-by package|module] [-top N] UNSTRIPPED-ELF-BINARY\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || (*by != "package" && *by != "module") {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout, flag.Arg(0), *by, *top); err != nil {
		fmt.Fprintln(os.Stderr, "sizes:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, bin, by string, top int) error {
	stored, pcln, sections, err := fileSections(bin)
	if err != nil {
		return err
	}
	out, err := exec.Command("go", "tool", "nm", "-size", "-sort", "size", bin).Output()
	if err != nil {
		return fmt.Errorf("go tool nm %s: %w", bin, err)
	}
	groups := map[string]int64{}
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		addr, size, name, ok := parseNM(sc.Text())
		if !ok || size == 0 || !stored(addr) || pcln(addr) {
			continue
		}
		groups[group(name, by)] += size
		total += size
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading go tool nm's output: %w", err)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return err
	}
	pclnSize, _ := pclntabSize(bin)
	groups["(.gopclntab: function metadata of all code)"] += pclnSize
	total += pclnSize
	if rest := sections - total; rest > 0 {
		groups["(no sized symbol: string literals, type data)"] += rest
		total += rest
	}
	fmt.Fprintf(w, "%s: %d bytes on disk (unstripped), %d in the sections a stripped build keeps\n", bin, fi.Size(), total)
	printTop(w, groups, total, top)
	return nil
}

// printTop prints the top groups by size with their share of total, then the rest summed.
func printTop(w io.Writer, groups map[string]int64, total int64, top int) {
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if groups[names[i]] != groups[names[j]] {
			return groups[names[i]] > groups[names[j]]
		}
		return names[i] < names[j]
	})
	var rest int64
	for i, n := range names {
		if i >= top {
			rest += groups[n]
			continue
		}
		fmt.Fprintf(w, "%9.1f KB %5.1f%%  %s\n", float64(groups[n])/1024, 100*float64(groups[n])/float64(total), n)
	}
	if rest > 0 {
		fmt.Fprintf(w, "%9.1f KB %5.1f%%  (%d more groups)\n", float64(rest)/1024, 100*float64(rest)/float64(total), len(names)-top)
	}
}

// parseNM reads one line of `go tool nm -size`: address, size, type, name.
func parseNM(line string) (addr uint64, size int64, name string, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 {
		return 0, 0, "", false
	}
	a, err1 := strconv.ParseUint(f[0], 16, 64)
	s, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || f[2] == "U" {
		return 0, 0, "", false
	}
	return a, s, strings.Join(f[3:], " "), true
}

// fileSections reports whether an address lies in a section stored in the file, whether
// it lies in .gopclntab (counted as one line, from the section's size), and the total
// size of the stored, loaded sections.
func fileSections(bin string) (stored, pcln func(uint64) bool, total int64, err error) {
	f, err := elf.Open(bin)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: only ELF binaries: %w", bin, err)
	}
	defer f.Close()
	type span struct{ lo, hi uint64 }
	var in []span
	var pc span
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Type == elf.SHT_NOBITS {
			continue
		}
		in = append(in, span{s.Addr, s.Addr + s.Size})
		total += int64(s.Size)
		if s.Name == ".gopclntab" {
			pc = span{s.Addr, s.Addr + s.Size}
		}
	}
	if len(in) == 0 {
		return nil, nil, 0, errors.New(bin + ": no allocated sections")
	}
	stored = func(a uint64) bool {
		for _, s := range in {
			if a >= s.lo && a < s.hi {
				return true
			}
		}
		return false
	}
	return stored, func(a uint64) bool { return a >= pc.lo && a < pc.hi }, total, nil
}

func pclntabSize(bin string) (int64, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if s := f.Section(".gopclntab"); s != nil {
		return int64(s.Size), nil
	}
	return 0, nil
}

// group names a symbol's package, or its module: std for the standard library (its
// vendored golang.org/x copies included), else the module path of a dependency.
func group(sym, by string) string {
	switch {
	case strings.HasPrefix(sym, "type:") || strings.HasPrefix(sym, "go:type"):
		return "(types)"
	case strings.HasPrefix(sym, "go:itab."):
		return "(itabs)"
	case strings.HasPrefix(sym, "go:"):
		return "(" + sym + ")"
	}
	pkg := pkgOf(sym)
	if by == "package" {
		return pkg
	}
	return moduleOf(pkg)
}

// pkgOf is the package path of a symbol name such as
// github.com/miekg/dns.(*Msg).Pack or gopkg.in/yaml%2ev3.yaml_parser_scan.
func pkgOf(sym string) string {
	if i := strings.IndexByte(sym, '['); i >= 0 {
		sym = sym[:i] // generic instantiation: the arguments name other packages
	}
	slash := strings.LastIndexByte(sym, '/')
	dot := strings.IndexByte(sym[slash+1:], '.')
	if dot < 0 {
		return sym
	}
	pkg := sym[:slash+1+dot]
	if u, err := url.PathUnescape(pkg); err == nil {
		pkg = u
	}
	return pkg
}

// moduleOf maps a package path to its module: the standard library (its vendored
// golang.org/x copies included) is "std"; a dependency is its first three path elements
// (two for gopkg.in), with a /vN suffix.
func moduleOf(pkg string) string {
	first, _, _ := strings.Cut(pkg, "/")
	switch {
	case strings.HasPrefix(pkg, "github.com/pantau-dev/pantau/"):
		return "github.com/pantau-dev/pantau (this module; -by package splits it)"
	case strings.HasPrefix(pkg, "vendor/"), !strings.Contains(first, "."):
		return "std"
	}
	parts := strings.Split(pkg, "/")
	n := 3
	if first == "gopkg.in" {
		n = 2
	}
	if len(parts) > n && strings.HasPrefix(parts[n], "v") {
		if _, err := strconv.Atoi(parts[n][1:]); err == nil {
			n++
		}
	}
	if len(parts) < n {
		n = len(parts)
	}
	return strings.Join(parts[:n], "/")
}
