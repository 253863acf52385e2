package orders

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/testref"
)

// telegram is the 11 names Kominfo had blocked from 14 July 2017, in the order of the press
// reports (Liputan6 and detikINET, 14 July 2017, quoting the ministry's letter to the ISPs).
var telegram = []string{"t.me", "telegram.me", "telegram.org", "core.telegram.org", "desktop.telegram.org",
	"macos.telegram.org", "web.telegram.org", "venus.web.telegram.org", "pluto.web.telegram.org",
	"flora.web.telegram.org", "flora-1.web.telegram.org"}

var isps = []string{"Telkom Indonesia", "Telkomsel", "XL Axiata", "Indosat Ooredoo"}

func TestSeeds(t *testing.T) {
	s := Seeds()
	if len(s) != 2 {
		t.Fatalf("%d seeds, want 2", len(s))
	}
	wib := time.FixedZone("WIB", 7*3600)
	block, lift := s[0], s[1]
	if block.ID != "kominfo-2017-telegram-block" || block.Expect != timeline.Blocked ||
		!block.Effective.Equal(time.Date(2017, 7, 14, 0, 0, 0, 0, wib)) || block.Grace != 48*time.Hour ||
		block.Reference != "Siaran Pers No. 84/HM/KOMINFO/07/2017" || block.File != "seeds/kominfo-2017-telegram-block.yaml" || len(block.Sources) != 6 {
		t.Errorf("block = %+v", block)
	}
	if lift.ID != "kominfo-2017-telegram-unblock" || lift.Expect != timeline.Accessible || lift.Supersedes != block.ID ||
		!lift.Effective.Equal(time.Date(2017, 8, 10, 0, 0, 0, 0, wib)) || len(lift.Sources) != 3 {
		t.Errorf("lift = %+v", lift)
	}
	// The names must be those of the press reports, in their order.
	for _, o := range s {
		if !slices.Equal(o.Domains, telegram) || !slices.Equal(o.Networks, isps) {
			t.Errorf("%s: domains %q, networks %q; want %q, %q", o.ID, o.Domains, o.Networks, telegram, isps)
		}
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", o.ID, err)
		}
	}
}

// TestTelegramNamesShared checks telegram against the reference data set's list of the
// names (optional: see package testref).
func TestTelegramNamesShared(t *testing.T) {
	b, err := os.ReadFile(testref.File(t, "kominfo-telegram-2017/telegram_domains_blocked_2017-07-14.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(b)); !slices.Equal(got, telegram) {
		t.Errorf("reference list = %q\nwant %q", got, telegram)
	}
}

func TestLoad(t *testing.T) {
	seeds, err := Load("")
	if err != nil || len(seeds) != 2 || seeds[0].ID != "kominfo-2017-telegram-block" {
		t.Fatalf("Load(\"\") = %d orders, %v", len(seeds), err)
	}
	missing, err := Load(filepath.Join(t.TempDir(), "none"))
	if err != nil || len(missing) != 2 {
		t.Errorf("Load(missing dir) = %d orders, %v; want the seeds", len(missing), err)
	}
	got, err := Load("testdata/good")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range got {
		ids = append(ids, o.ID)
	}
	// Sorted by Effective: the seed block (2017-07-14), the file replacing the seed lift
	// (2017-08-10), the list order (2020).
	if want := []string{"kominfo-2017-telegram-block", "kominfo-2017-telegram-unblock", "list-order"}; !slices.Equal(ids, want) {
		t.Fatalf("ids %q, want %q", ids, want)
	}
	if lift := got[1]; lift.Reference != "replaced" || lift.Grace != 72*time.Hour || lift.File != "testdata/good/kominfo-2017-telegram-unblock.yml" {
		t.Errorf("the file did not replace the seed: %+v", lift)
	}
	if l := got[2]; !slices.Equal(l.Domains, []string{"t.me", "telegram.me", "telegram.org", "core.telegram.org"}) || l.Grace != DefaultGrace {
		t.Errorf("list order = %+v", l)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load("testdata/dup")
	want := "testdata/dup/b.yaml:2: id: \"same\" is already used by testdata/dup/a.yaml\n" +
		"testdata/dup/c.yaml:8: supersedes: \"nothing-here\": no such order"
	if err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
	dir := t.TempDir()
	bad := "id: x\nauthority: A\n"
	if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	orders, err := Load(dir)
	want = dir + "/x.yaml:1: reference: missing\n" + dir + "/x.yaml:1: expect: missing\n" + dir + "/x.yaml:1: effective: missing\n" +
		dir + "/x.yaml:1: networks: missing\n" + dir + "/x.yaml:1: domains: missing: give domains or target_list"
	if err == nil || err.Error() != want || orders != nil {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
	file := filepath.Join(dir, "x.yaml")
	if _, err := Load(file); err == nil || err.Error() != "orders: open "+file+": not a directory" {
		t.Errorf("Load(file) error = %v", err)
	}
}
