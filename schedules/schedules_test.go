package schedules

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pantau-dev/pantau/internal/testref"
)

// targetStrings renders a schedule's targets as "URL" or "URL CATEGORY".
func targetStrings(s *Schedule) []string {
	var out []string
	for _, t := range s.Targets {
		out = append(out, strings.TrimSpace(t.String()+" "+t.Category))
	}
	return out
}

func TestLoadGood(t *testing.T) {
	set, err := Load(os.DirFS("testdata/good"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range set.Schedules {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"news", "telegram"}) {
		t.Fatalf("schedules = %q; README.md, .draft.yaml and sub/ must be ignored", names)
	}

	tg := set.Get("telegram")
	want := []string{"https://t.me/", "tcp://149.154.167.51:443", "https://telegram.org/", "https://web.telegram.org/"}
	if got := targetStrings(tg); !slices.Equal(got, want) {
		t.Errorf("telegram targets = %q, want %q", got, want)
	}
	wantTimeouts := Timeouts{DNS: 5 * time.Second, TCP: 10 * time.Second, TLS: 10 * time.Second, HTTP: 15 * time.Second, Target: time.Minute}
	if tg.Description != "Telegram names and a data centre." || tg.Cron != "*/15 * * * *" || tg.Jitter != 2*time.Minute ||
		tg.Concurrency != 8 || tg.File != "telegram.yaml" || tg.Timeouts != wantTimeouts ||
		len(tg.Resolvers) != 2 || tg.Resolvers[0].Address != "udp://1.1.1.1:53" || tg.Resolvers[1].Address != "https://dns.google/dns-query" {
		t.Errorf("telegram = %+v", tg)
	}
	wantSkipped := []string{"telegram.yaml:8: lists[1]: lists/missing.txt: not found; optional, skipped"}
	if !slices.Equal(tg.Skipped, wantSkipped) {
		t.Errorf("telegram skipped = %q, want %q", tg.Skipped, wantSkipped)
	}

	news := set.Get("news")
	want = []string{"https://news.example.org/ NEWS", "https://rights.example.net/ HUMR", "http://paper.example.org/world NEWS"}
	if got := targetStrings(news); !slices.Equal(got, want) {
		t.Errorf("news targets = %q, want %q", got, want)
	}
	if news.Cron != "@every 6h" || news.Jitter != 0 || news.Concurrency != DefaultConcurrency || news.Timeouts != (Timeouts{}) ||
		news.Resolvers != nil || news.Skipped != nil || news.File != "news.yml" {
		t.Errorf("news = %+v", news)
	}
	if set.Get("nested") != nil || set.Get("zzz") != nil || set.Get("") != nil {
		t.Error("Get found a schedule that is not in the set")
	}
}

func TestBuiltin(t *testing.T) {
	const cl = "/var/lib/pantau/lists/citizenlab-id.csv"
	if _, err := os.Stat(cl); err == nil {
		t.Fatalf("%s exists on this machine: this test needs it missing", cl)
	}
	set, err := Load(Builtin())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range set.Schedules {
		names = append(names, s.Name+" "+s.File)
	}
	want := []string{"citizenlab-id citizenlab-id.yaml", "id-social-platforms id-social-platforms.yaml", "id-telegram-web-2017 id-telegram-web-2017.yaml"}
	if !slices.Equal(names, want) {
		t.Fatalf("schedules = %q, want %q", names, want)
	}

	// The Telegram schedule measures the 11 names of the press reports, in their order,
	// then the five data centres.
	tg := set.Get("id-telegram-web-2017")
	var wantTG []string
	for _, n := range telegram2017 {
		wantTG = append(wantTG, "https://"+n+"/")
	}
	for _, ip := range []string{"149.154.175.50", "149.154.167.51", "149.154.175.100", "149.154.167.91", "91.108.56.130"} {
		wantTG = append(wantTG, "tcp://"+ip+":443")
	}
	if got := targetStrings(tg); len(wantTG) != 16 || !slices.Equal(got, wantTG) {
		t.Errorf("telegram targets = %q\nwant %q", got, wantTG)
	}
	if tg.Cron != "*/15 * * * *" || tg.Jitter <= 0 || tg.Skipped != nil ||
		!strings.Contains(tg.Description, "14 July 2017") || !strings.Contains(tg.Description, "10 August 2017") {
		t.Errorf("telegram = %+v", tg)
	}

	social := set.Get("id-social-platforms")
	got := targetStrings(social)
	for _, d := range []string{"facebook.com", "www.facebook.com", "line.me", "google.com", "www.google.com", "whatsapp.com",
		"web.whatsapp.com", "twitter.com", "x.com", "telegram.org", "t.me"} {
		if !slices.Contains(got, "https://"+d+"/") {
			t.Errorf("id-social-platforms lacks %s", d)
		}
	}
	if next := social.Next(time.Date(2025, 3, 1, 10, 20, 0, 0, time.UTC)); !next.Equal(time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("id-social-platforms is not hourly: next = %v", next)
	}

	cz := set.Get("citizenlab-id")
	wantSkipped := []string{"citizenlab-id.yaml:12: lists[0]: " + cl + ": not found; optional, skipped"}
	if len(cz.Targets) != 0 || !slices.Equal(cz.Skipped, wantSkipped) {
		t.Errorf("citizenlab-id: %d targets, skipped %q, want %q", len(cz.Targets), cz.Skipped, wantSkipped)
	}
}

// telegram2017 are the 11 Telegram names Kominfo had blocked from 14 July 2017, in the
// order of the press reports (Liputan6 and detikINET, 14 July 2017, quoting the ministry's
// letter to the ISPs; Siaran Pers No. 84/HM/KOMINFO/07/2017).
var telegram2017 = []string{"t.me", "telegram.me", "telegram.org", "core.telegram.org", "desktop.telegram.org",
	"macos.telegram.org", "web.telegram.org", "venus.web.telegram.org", "pluto.web.telegram.org",
	"flora.web.telegram.org", "flora-1.web.telegram.org"}

// TestTelegramNamesShared checks telegram2017 against the reference data set's list of
// the names (optional: see package testref).
func TestTelegramNamesShared(t *testing.T) {
	got := readLines(t, testref.File(t, "kominfo-telegram-2017/telegram_domains_blocked_2017-07-14.txt"))
	if !slices.Equal(got, telegram2017) {
		t.Errorf("reference list = %q\nwant %q", got, telegram2017)
	}
}

// readLines returns the lines of a file that are neither blank nor comments.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func TestNext(t *testing.T) {
	jakarta := time.FixedZone("WIB", 7*3600)
	tests := []struct {
		cron        string
		after, want time.Time
	}{
		// 10:07:30 WIB is 03:07:30 UTC.
		{"*/15 * * * *", time.Date(2024, 3, 10, 10, 7, 30, 0, jakarta), time.Date(2024, 3, 10, 3, 15, 0, 0, time.UTC)},
		{"0 */6 * * *", time.Date(2024, 3, 10, 5, 0, 0, 0, time.UTC), time.Date(2024, 3, 10, 6, 0, 0, 0, time.UTC)},
		// Midnight UTC, not midnight in the zone of after (which would be 17:00 UTC).
		{"@daily", time.Date(2024, 3, 10, 6, 0, 0, 0, jakarta), time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)},
		{"30 2 * * 1", time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 11, 2, 30, 0, 0, time.UTC)},
		// @every counts from after, on the second.
		{"@every 90m", time.Date(2024, 3, 10, 10, 0, 0, 500, jakarta), time.Date(2024, 3, 10, 4, 30, 0, 0, time.UTC)},
		{"not a spec", time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC), time.Time{}},
	}
	for _, tc := range tests {
		files := fstest.MapFS{"x.yaml": {Data: []byte("name: x\ncron: \"" + tc.cron + "\"\ntargets: [t.me]\n")}}
		s := &Schedule{Cron: tc.cron} // not loaded: Next parses the spec itself
		if set, err := Load(files); err == nil {
			s = set.Schedules[0]
		} else if tc.want != (time.Time{}) {
			t.Fatal(err)
		}
		got := s.Next(tc.after)
		if !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("%q after %v: Next = %v, want %v", tc.cron, tc.after, got, tc.want)
		}
		if hand := (&Schedule{Cron: tc.cron}).Next(tc.after); !hand.Equal(got) {
			t.Errorf("%q: an unloaded schedule gives %v, the loaded one %v", tc.cron, hand, got)
		}
	}
}

func TestHash(t *testing.T) {
	// The encoding, computed independently: "LEN:NAME" "LEN:DATA" in name order.
	sum := sha256.Sum256([]byte("6:a.yaml3:abc11:lists/b.txt0:"))
	if got := hash(map[string][]byte{"lists/b.txt": {}, "a.yaml": []byte("abc")}); got != hex.EncodeToString(sum[:]) {
		t.Errorf("hash = %s, want %s", got, hex.EncodeToString(sum[:]))
	}

	base := mapFS(t, os.DirFS("testdata/good"))
	set, err := Load(base)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Load(os.DirFS("testdata/good"))
	if err != nil || again.Hash != set.Hash || len(set.Hash) != 64 {
		t.Fatalf("hash of the same files: %q and %q (%v)", set.Hash, again.Hash, err)
	}
	changes := []struct {
		name   string
		change func(fstest.MapFS)
		same   bool
	}{
		{"a schedule file", func(m fstest.MapFS) { m["news.yml"].Data = append(m["news.yml"].Data, "# more\n"...) }, false},
		{"a list", func(m fstest.MapFS) { m["lists/names.txt"].Data = append(m["lists/names.txt"].Data, "# more\n"...) }, false},
		{"a rename", func(m fstest.MapFS) { m["news2.yml"] = m["news.yml"]; delete(m, "news.yml") }, false},
		{"a file the set does not use", func(m fstest.MapFS) { m["README.md"].Data = []byte("changed") }, true},
		{"an unused list", func(m fstest.MapFS) { m["lists/unused.txt"] = &fstest.MapFile{Data: []byte("t.me\n")} }, true},
		{"the optional list appearing", func(m fstest.MapFS) { m["lists/missing.txt"] = &fstest.MapFile{Data: []byte("t.me\n")} }, false},
	}
	for _, c := range changes {
		m := mapFS(t, base)
		c.change(m)
		s, err := Load(m)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (s.Hash == set.Hash) != c.same {
			t.Errorf("%s: hash %s, before %s (same wanted: %v)", c.name, s.Hash, set.Hash, c.same)
		}
	}
}

func TestFilesRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fsys  fs.FS
		files []string
	}{
		{"builtin", Builtin(), []string{"citizenlab-id.yaml", "id-social-platforms.yaml", "id-telegram-web-2017.yaml", "lists/id-telegram-web-2017.txt"}},
		{"good", os.DirFS("testdata/good"), []string{"lists/names.txt", "lists/sample.csv", "news.yml", "telegram.yaml"}},
	} {
		set, err := Load(tc.fsys)
		if err != nil {
			t.Fatal(err)
		}
		files, err := Files(tc.fsys)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, tc.files) {
			t.Errorf("%s: Files = %q, want %q", tc.name, got, tc.files)
		}
		files["../escape.yaml"] = []byte("name: escape\ncron: \"@hourly\"\ntargets: [t.me]\n") // dropped by FromFiles
		synced, err := Load(FromFiles(files))
		if err != nil {
			t.Fatalf("%s: synced set: %v", tc.name, err)
		}
		if synced.Hash != set.Hash || len(synced.Schedules) != len(set.Schedules) {
			t.Errorf("%s: synced hash %s (%d schedules), original %s (%d)", tc.name, synced.Hash, len(synced.Schedules), set.Hash, len(set.Schedules))
		}
	}
}

// mapFS copies the regular files of fsys into a MapFS.
func mapFS(t *testing.T, fsys fs.FS) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
