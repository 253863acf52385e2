// Package testref gives tests the external reference data: OONI's fingerprint files,
// Citizen Lab's test lists, the 2017 Telegram name list. That data is not part of the
// repository (it is other projects' work, kept up to date upstream): it lives in a folder
// beside a checkout (shared/data), named to the tests by the environment variable
// PANTAU_SHARED_DATA, an absolute path (a relative one is taken from the folder of the
// package under test).
//
// The checks that read it are optional: without the variable, or without the file, they
// skip with a message saying why. Unlike the skips for a missing InfluxDB, these do not
// fail under CI=true: the data is not in the repository, so a plain clone, where CI=true
// must pass, never has it. The package is for tests only (imported from _test.go files).
package testref

import (
	"os"
	"path/filepath"
	"testing"
)

// Env names the environment variable holding the reference data folder.
const Env = "PANTAU_SHARED_DATA"

// File returns the absolute path of rel (a slash-separated path inside the reference data
// folder), or skips t saying why it cannot: the variable is unset or the file is missing.
func File(t testing.TB, rel string) string {
	t.Helper()
	dir := os.Getenv(Env)
	if dir == "" {
		t.Skipf("optional check of the external file %s: set %s to the reference data folder to run it", rel, Env)
	}
	path, err := filepath.Abs(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Skipf("optional check of the external file %s: %v", rel, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("optional check of the external file %s: %v", rel, err)
	}
	return path
}
