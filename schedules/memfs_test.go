package schedules

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"
)

// TestFromFilesFS: the file system FromFiles returns behaves as io/fs requires (fstest's
// checks of Open, Stat, ReadDir, ReadFile and Glob), for flat and nested sets.
func TestFromFilesFS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  []string
	}{
		{"one file", map[string][]byte{"a.yaml": []byte("x")}, []string{"a.yaml"}},
		{"nested", map[string][]byte{
			"a.yaml": []byte("a"), "b.yml": {}, "lists/l.txt": []byte("t.me\n"), "lists/deep/m.csv": []byte("url\n"),
		}, []string{"a.yaml", "b.yml", "lists/l.txt", "lists/deep/m.csv"}},
		{"names FromFiles drops", map[string][]byte{"../escape.yaml": {}, "/abs.yaml": {}, ".": {}, "ok.yaml": {}}, []string{"ok.yaml"}},
		{"empty", map[string][]byte{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := FromFiles(tc.files)
			if err := fstest.TestFS(fsys, tc.want...); err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"../escape.yaml", "missing.yaml", "lists/missing"} {
				if _, err := fsys.Open(bad); !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrInvalid) {
					t.Errorf("Open(%q): %v, want not exist or invalid", bad, err)
				}
			}
		})
	}
}

// TestFromFilesCopies: the file system keeps its own copy of the bytes it was given.
func TestFromFilesCopies(t *testing.T) {
	b := []byte("name: a\n")
	fsys := FromFiles(map[string][]byte{"a.yaml": b})
	b[0] = 'X'
	got, err := fs.ReadFile(fsys, "a.yaml")
	if err != nil || string(got) != "name: a\n" {
		t.Fatalf("ReadFile: %q, %v; want the bytes as given", got, err)
	}
}
