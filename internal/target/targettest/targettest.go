// Package targettest holds checks for tests of target lists. It is for tests only
// (imported from _test.go files).
package targettest

import (
	"encoding/csv"
	"os"
	"slices"
	"testing"
)

// CountCitizenLab counts the rows of a list in the format of Citizen Lab's test lists
// (a header row, then url,category_code,...) whose category code is one of codes, or
// every row when no codes are given. It reads the file with encoding/csv alone, so that
// tests can check target.ReadFile, and what is built on it, against an independent count.
func CountCitizenLab(t testing.TB, path string, codes ...string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows[1:] {
		if len(codes) == 0 || slices.Contains(codes, r[1]) {
			n++
		}
	}
	return n
}
