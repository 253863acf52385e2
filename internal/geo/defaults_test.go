package geo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "asn.mmdb")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.mmdb")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.mmdb")
	for _, c := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"none given", nil, ""},
		{"none exists", []string{missing}, ""},
		{"the first that exists", []string{missing, file, link}, file},
		{"a folder is no file", []string{dir, link}, link},
	} {
		if got := FindFile(c.paths); got != c.want {
			t.Errorf("%s: FindFile(%q) = %q, want %q", c.name, c.paths, got, c.want)
		}
	}
}

func TestDefaultASNPaths(t *testing.T) {
	paths := DefaultASNPaths()
	if len(paths) == 0 || paths[0] != "/var/lib/pantau/asn.mmdb" {
		t.Fatalf("DefaultASNPaths() = %q, want Pantau's own path first", paths)
	}
	for _, p := range paths {
		if !filepath.IsAbs(p) || !strings.HasSuffix(p, ".mmdb") {
			t.Errorf("default %q is not an absolute .mmdb path", p)
		}
	}
}
