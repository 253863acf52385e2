package schedules

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pantau-dev/pantau/internal/target/targettest"
	"github.com/pantau-dev/pantau/internal/testref"
)

// citizenLabFixture is a list in the format of Citizen Lab's test lists, written for these
// tests: 12 rows, four NEWS and two HUMR. Citizen Lab's own list (CC BY-NC-SA 4.0) is
// never copied into the repository.
const citizenLabFixture = "testdata/citizenlab-id.csv"

// builtinCitizenLab returns a set holding the built-in citizenlab-id.yaml with its list
// path replaced by the absolute path of list, and edit applied to the YAML.
func builtinCitizenLab(t *testing.T, list string, edit func(string) string) fstest.MapFS {
	t.Helper()
	abs, err := filepath.Abs(list)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fs.ReadFile(Builtin(), "citizenlab-id.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(string(b), "/var/lib/pantau/lists/citizenlab-id.csv", abs, 1)
	if y == string(b) {
		t.Fatal("citizenlab-id.yaml no longer names /var/lib/pantau/lists/citizenlab-id.csv")
	}
	return fstest.MapFS{"citizenlab-id.yaml": {Data: []byte(edit(y))}}
}

func TestCitizenLabList(t *testing.T) {
	if n := targettest.CountCitizenLab(t, citizenLabFixture); n != 12 {
		t.Fatalf("%s has %d rows, want 12: the independent count is broken", citizenLabFixture, n)
	}
	if n := targettest.CountCitizenLab(t, citizenLabFixture, "NEWS", "HUMR"); n != 6 {
		t.Fatalf("%s has %d NEWS and HUMR rows, want 6: the independent count is broken", citizenLabFixture, n)
	}
	checkCitizenLab(t, citizenLabFixture, 12, 6)
}

// TestCitizenLabListShared runs the built-in schedule on Citizen Lab's own current list
// for Indonesia (optional: see package testref).
func TestCitizenLabListShared(t *testing.T) {
	list := testref.File(t, "citizenlab-test-lists/id.csv")
	if n := targettest.CountCitizenLab(t, list); n != 723 {
		t.Fatalf("id.csv has %d rows, want 723", n)
	}
	n := targettest.CountCitizenLab(t, list, "NEWS", "HUMR")
	if n < 200 {
		t.Errorf("only %d NEWS and HUMR rows: the independent count is broken", n)
	}
	checkCitizenLab(t, list, 723, n)
}

// checkCitizenLab loads the built-in citizenlab-id schedule on list, whole (want
// targets) and with categories NEWS and humr (wantNewsHumr targets), then as a probe
// receives it.
func checkCitizenLab(t *testing.T, list string, want, wantNewsHumr int) {
	t.Helper()
	all := func(y string) string { return y }
	news := func(y string) string {
		return strings.Replace(y, "    optional: true\n", "    optional: true\n    categories: [NEWS, humr]\n", 1)
	}
	tests := []struct {
		name  string
		edit  func(string) string
		want  int
		codes []string // every target's category is one of these
	}{
		{"whole list", all, want, nil},
		{"NEWS and HUMR", news, wantNewsHumr, []string{"NEWS", "HUMR"}},
	}
	for _, tc := range tests {
		fsys := builtinCitizenLab(t, list, tc.edit)
		set, err := Load(fsys)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		s := set.Get("citizenlab-id")
		if len(s.Targets) != tc.want || s.Skipped != nil {
			t.Errorf("%s: %d targets, want %d; skipped %q", tc.name, len(s.Targets), tc.want, s.Skipped)
		}
		for _, x := range s.Targets {
			if x.Category == "" || tc.codes != nil && x.Category != tc.codes[0] && x.Category != tc.codes[1] {
				t.Errorf("%s: %s has category %q", tc.name, x, x.Category)
				break
			}
		}
		// The list is the operator's, on the probe's disk: not part of the served set.
		files, err := Files(fsys)
		if err != nil || len(files) != 1 {
			t.Errorf("%s: Files = %d files, %v; want the YAML alone", tc.name, len(files), err)
		}
		synced, err := Load(FromFiles(files))
		if err != nil {
			t.Fatalf("%s: synced set: %v", tc.name, err)
		}
		if synced.Hash != set.Hash || len(synced.Get("citizenlab-id").Targets) != tc.want {
			t.Errorf("%s: synced set: hash %s, want %s", tc.name, synced.Hash, set.Hash)
		}
	}
}
