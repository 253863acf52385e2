//go:build linux

package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/probe/spool/spooltest"
)

// TestFullDiskStatus runs `probe once` with its state directory on a small real file
// system that the measurements overfill: every measurement is spooled, the oldest are
// dropped to make room, and `probe status` reports the drops.
func TestFullDiskStatus(t *testing.T) {
	disk := spooltest.SmallDisk(t, 192<<10)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<title>lab</title>") }))
	defer site.Close()
	dir := t.TempDir()
	sched := filepath.Join(dir, "schedules")
	if err := os.MkdirAll(sched, 0o700); err != nil {
		t.Fatal(err)
	}
	const n = 120
	var targets []string
	for i := range n {
		targets = append(targets, fmt.Sprintf("%s/%d", site.URL, i))
	}
	y := "name: lab\ncron: \"@every 1h\"\ntargets: [" + strings.Join(targets, ", ") + "]\n"
	if err := os.WriteFile(filepath.Join(sched, "lab.yaml"), []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "probe.yaml")
	err := os.WriteFile(cfg, fmt.Appendf(nil, "system_resolvers: [\"127.0.0.1:9\"]\nlab_cidrs: [127.0.0.0/8]\nwhoami: \"-\"\ndns_wait: 0s\n"+
		"agent:\n  state_dir: %s\n  schedules_dir: %s\n", filepath.Join(disk, "state"), sched), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain("once", "--config", cfg, "--schedule", "lab")
	m := regexp.MustCompile(`schedule lab: (\d+) measurements spooled; spool depth now (\d+)`).FindStringSubmatch(stdout)
	if code != 0 || m == nil || m[1] != strconv.Itoa(n) {
		t.Fatalf("probe once on a full disk: exit %d, want all %d measurements spooled\n%s%s", code, n, stdout, stderr)
	}
	depth, _ := strconv.Atoi(m[2])
	if depth >= n || depth < 5 {
		t.Fatalf("spool depth %d: the disk was not filled, or nearly nothing was kept", depth)
	}
	if !strings.Contains(stderr, `msg="spool: disk full: oldest measurements dropped to make room"`) {
		t.Errorf("the drops are not logged:\n%s", stderr)
	}
	code, stdout, stderr = runMain("status", "--config", cfg)
	want := fmt.Sprintf("depth %d (", depth)
	wantDropped := fmt.Sprintf("); dropped %d, rejected 0, corrupt 0;", n-depth)
	if code != 0 || !strings.Contains(stdout, want) || !strings.Contains(stdout, wantDropped) {
		t.Errorf("probe status: exit %d, want %q and %q:\n%s%s", code, want, wantDropped, stdout, stderr)
	}
}
