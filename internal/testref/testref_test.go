package testref_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pantau-dev/pantau/internal/testref"
)

// TestFile: File returns the absolute path of a file that is there, and skips when the
// variable is unset or the file is missing (go test -v shows the messages).
func TestFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "lists"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lists", "id.csv"), []byte("url\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, env, rel string
		want           string // the path returned, or "" for a skip
	}{
		{"present", dir, "lists/id.csv", filepath.Join(dir, "lists", "id.csv")},
		{"unset", "", "lists/id.csv", ""},
		{"missing", dir, "lists/global.csv", ""},
	} {
		t.Setenv(testref.Env, tc.env)
		var got string
		var sub *testing.T
		t.Run(tc.name, func(t *testing.T) {
			sub = t
			got = testref.File(t, tc.rel)
		})
		if tc.want != "" {
			if sub.Skipped() || got != tc.want {
				t.Errorf("%s: File = %q (skipped %v), want %q", tc.name, got, sub.Skipped(), tc.want)
			}
			continue
		}
		if !sub.Skipped() {
			t.Errorf("%s: File = %q, want a skip", tc.name, got)
		}
	}
}
