//go:build dist

// Package dist checks the release binaries scripts/dist wrote to dist/: that every one
// the README promises is there under its versioned name and in SHA256SUMS, that each is
// a static, stripped executable of its platform, and (run_test.go) that every Linux one
// runs — under qemu-user for the foreign architectures — and measures a loopback target.
// It builds only with the "dist" tag: `make dist-check` builds dist/ and runs it.
package dist

import (
	"bufio"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// distDir is the repository's dist/, seen from this package's directory.
const distDir = "../../dist"

// artifact is one release file, by command and the suffix of its name after the version.
type artifact struct {
	cmd, suffix string
	goos        string
	elfMachine  elf.Machine
	elfClass    elf.Class
	elfOrder    string // "LittleEndian" or "BigEndian"
	machoCPU    macho.Cpu
	peMachine   uint16
	maxMB       float64 // a ceiling that catches a release grown by accident (docs/scaling.md)
}

// releases is what README.md "Releases" promises, one line per file.
var releases = []artifact{
	{cmd: "probe", suffix: "linux_amd64", goos: "linux", elfMachine: elf.EM_X86_64, elfClass: elf.ELFCLASS64, elfOrder: "LittleEndian", maxMB: 12},
	{cmd: "probe", suffix: "linux_386", goos: "linux", elfMachine: elf.EM_386, elfClass: elf.ELFCLASS32, elfOrder: "LittleEndian", maxMB: 12},
	{cmd: "probe", suffix: "linux_arm64", goos: "linux", elfMachine: elf.EM_AARCH64, elfClass: elf.ELFCLASS64, elfOrder: "LittleEndian", maxMB: 12},
	{cmd: "probe", suffix: "linux_armv6", goos: "linux", elfMachine: elf.EM_ARM, elfClass: elf.ELFCLASS32, elfOrder: "LittleEndian", maxMB: 12},
	{cmd: "probe", suffix: "linux_armv7", goos: "linux", elfMachine: elf.EM_ARM, elfClass: elf.ELFCLASS32, elfOrder: "LittleEndian", maxMB: 12},
	{cmd: "probe", suffix: "linux_mipsle", goos: "linux", elfMachine: elf.EM_MIPS, elfClass: elf.ELFCLASS32, elfOrder: "LittleEndian", maxMB: 12},
	{cmd: "probe", suffix: "linux_mips", goos: "linux", elfMachine: elf.EM_MIPS, elfClass: elf.ELFCLASS32, elfOrder: "BigEndian", maxMB: 12},
	{cmd: "probe", suffix: "darwin_amd64", goos: "darwin", machoCPU: macho.CpuAmd64, maxMB: 12},
	{cmd: "probe", suffix: "darwin_arm64", goos: "darwin", machoCPU: macho.CpuArm64, maxMB: 12},
	{cmd: "probe", suffix: "windows_amd64.exe", goos: "windows", peMachine: pe.IMAGE_FILE_MACHINE_AMD64, maxMB: 12},
	{cmd: "probe", suffix: "windows_arm64.exe", goos: "windows", peMachine: pe.IMAGE_FILE_MACHINE_ARM64, maxMB: 12},
	{cmd: "collector", suffix: "linux_amd64", goos: "linux", elfMachine: elf.EM_X86_64, elfClass: elf.ELFCLASS64, elfOrder: "LittleEndian", maxMB: 20},
	{cmd: "collector", suffix: "linux_arm64", goos: "linux", elfMachine: elf.EM_AARCH64, elfClass: elf.ELFCLASS64, elfOrder: "LittleEndian", maxMB: 20},
}

// releaseName is pantau-CMD_VERSION_OS_ARCH[.exe]; the version has no underscore.
var releaseName = regexp.MustCompile(`^pantau-(probe|collector)_([A-Za-z0-9.+-]+)_([a-z0-9_]+(?:\.exe)?)$`)

// sums reads dist/SHA256SUMS: file name → hex digest, and the one version all names carry.
func sums(t *testing.T) (map[string]string, string) {
	t.Helper()
	f, err := os.Open(filepath.Join(distDir, "SHA256SUMS"))
	if err != nil {
		t.Fatalf("%v (run `make dist` first; `make dist-check` does)", err)
	}
	defer f.Close()
	out := map[string]string{}
	version := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		m := releaseName.FindStringSubmatch(name)
		if !ok || len(sum) != 64 || m == nil {
			t.Fatalf("SHA256SUMS line %d: %q is not \"SHA256  pantau-CMD_VERSION_OS_ARCH\"", n, sc.Text())
		}
		if version != "" && m[2] != version {
			t.Fatalf("SHA256SUMS line %d: version %q, the others %q", n, m[2], version)
		}
		version, out[name] = m[2], sum
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out, version
}

func (a artifact) name(version string) string {
	return fmt.Sprintf("pantau-%s_%s_%s", a.cmd, version, a.suffix)
}

// TestReleaseFiles: SHA256SUMS lists exactly the promised files, with their true digests,
// and every file is an executable of its platform, static and stripped, within its size.
func TestReleaseFiles(t *testing.T) {
	listed, version := sums(t)
	if len(listed) != len(releases) {
		t.Errorf("SHA256SUMS lists %d files, want %d: %v", len(listed), len(releases), listed)
	}
	for _, a := range releases {
		name := a.name(version)
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(distDir, name)
			want, ok := listed[name]
			if !ok {
				t.Fatalf("%s is not in SHA256SUMS", name)
			}
			if got := fileSHA256(t, path); got != want {
				t.Errorf("sha256 %s, SHA256SUMS says %s", got, want)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if mb := float64(fi.Size()) / (1 << 20); mb > a.maxMB {
				t.Errorf("%.2f MB, more than the %.0f MB ceiling (docs/scaling.md \"Release sizes\")", mb, a.maxMB)
			}
			switch a.goos {
			case "linux":
				checkELF(t, path, a)
			case "darwin":
				checkMachO(t, path, a)
			case "windows":
				checkPE(t, path, a)
			}
		})
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkELF: the machine, word size and byte order of the target; an executable with no
// interpreter and no dynamic section (static: runs on any libc, or none); no symbol table
// and no DWARF (stripped); executable by its owner.
func checkELF(t *testing.T, path string, a artifact) {
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("not ELF: %v", err)
	}
	defer f.Close()
	if f.Machine != a.elfMachine || f.Class != a.elfClass || f.ByteOrder.String() != a.elfOrder {
		t.Errorf("ELF %v %v %v, want %v %v %v", f.Machine, f.Class, f.ByteOrder, a.elfMachine, a.elfClass, a.elfOrder)
	}
	if f.Type != elf.ET_EXEC {
		t.Errorf("ELF type %v, want an executable", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("has %v: not static (CGO_ENABLED=0)", p.Type)
		}
	}
	for _, s := range f.Sections {
		if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			t.Errorf("has section %s: not stripped (-ldflags \"-s -w\")", s.Name)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&0o100 == 0 {
		t.Errorf("not executable: %v %v", fi.Mode(), err)
	}
}

// checkMachO: a 64-bit Mach-O executable of the CPU, without symbols of its own.
func checkMachO(t *testing.T, path string, a artifact) {
	f, err := macho.Open(path)
	if err != nil {
		t.Fatalf("not Mach-O: %v", err)
	}
	defer f.Close()
	if f.Cpu != a.machoCPU || f.Type != macho.TypeExec || f.Magic != macho.Magic64 {
		t.Errorf("Mach-O cpu %v type %v magic %#x, want %v executable %#x", f.Cpu, f.Type, f.Magic, a.machoCPU, macho.Magic64)
	}
	if f.Symtab != nil {
		// Undefined symbols are the imports from libSystem, which every Go program on
		// macOS links (CGO_ENABLED=0 included); defined ones would be Go's own.
		defined := 0
		for _, s := range f.Symtab.Syms {
			if s.Type&0x0e != 0 { // N_TYPE bits other than N_UNDF
				defined++
			}
		}
		if defined > 0 {
			t.Errorf("%d defined symbols: not stripped", defined)
		}
	}
	if s := f.Section("__debug_info"); s != nil {
		t.Errorf("has DWARF (%s): not stripped", s.Name)
	}
}

// checkPE: a PE executable of the machine, a console program, without symbols.
func checkPE(t *testing.T, path string, a artifact) {
	f, err := pe.Open(path)
	if err != nil {
		t.Fatalf("not PE: %v", err)
	}
	defer f.Close()
	if f.Machine != a.peMachine {
		t.Errorf("PE machine %#x, want %#x", f.Machine, a.peMachine)
	}
	if f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 || f.Characteristics&pe.IMAGE_FILE_DLL != 0 {
		t.Errorf("PE characteristics %#x: not an executable image", f.Characteristics)
	}
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok || oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_CUI {
		t.Errorf("PE optional header %T: want a 64-bit console (CUI) program", f.OptionalHeader)
	}
	if len(f.Symbols) > 0 {
		t.Errorf("%d COFF symbols: not stripped", len(f.Symbols))
	}
}
