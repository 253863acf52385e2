package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnceAndStatus runs `probe once` on a local schedule (no collector: measure and
// spool only) and checks what `probe status` then reports.
func TestOnceAndStatus(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<title>lab</title>") }))
	defer site.Close()
	dir := t.TempDir()
	sched := filepath.Join(dir, "schedules")
	if err := os.MkdirAll(sched, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sched, "lab.yaml"), []byte("name: lab\ncron: \"*/15 * * * *\"\ntargets: ["+site.URL+"/a, "+site.URL+"/b]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "probe.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("system_resolvers: [\"127.0.0.1:9\"]\nlab_cidrs: [127.0.0.0/8]\nwhoami: \"-\"\ndns_wait: 0s\nagent:\n  state_dir: %s\n  schedules_dir: %s\n", filepath.Join(dir, "state"), sched)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain("once", "--config", cfg, "--schedule", "lab")
	if code != 0 || !strings.Contains(stdout, "schedule lab: 2 measurements spooled; spool depth now 2") {
		t.Fatalf("probe once: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runMain("once", "--config", cfg, "--schedule", "nope")
	if code != 2 || !strings.Contains(stderr, `--schedule "nope": no such schedule (have lab)`) {
		t.Errorf("probe once --schedule nope: exit %d, %s", code, stderr)
	}
	code, stdout, stderr = runMain("status", "--config", cfg)
	if code != 0 {
		t.Fatalf("probe status: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"1 loaded", "lab ", "*/15 * * * *", "spool", "depth 2", "corrupt 0; kept-aside files pruned 0 (0 bytes)", "last submission  never"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("probe status lacks %q:\n%s", want, stdout)
		}
	}
}

// TestStatusBeforeFirstRun: before `probe run` or `probe once` made the spool, `probe
// status` reports an empty spool and no run, instead of failing on the missing queue.
func TestStatusBeforeFirstRun(t *testing.T) {
	dir := t.TempDir()
	sched := filepath.Join(dir, "schedules")
	if err := os.MkdirAll(sched, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sched, "lab.yaml"), []byte("name: lab\ncron: \"0 * * * *\"\ntargets: [example.org]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	cfg := filepath.Join(dir, "probe.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("system_resolvers: [\"127.0.0.1:9\"]\nagent:\n  state_dir: %s\n  schedules_dir: %s\n", state, sched)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain("status", "--config", cfg)
	if code != 0 {
		t.Fatalf("probe status: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"1 loaded", "never", "spool            empty: no run yet (" + filepath.Join(state, "spool") + " does not exist)", "last submission  never"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("probe status lacks %q:\n%s", want, stdout)
		}
	}
}
