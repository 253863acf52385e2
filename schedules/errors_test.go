package schedules

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// set builds a MapFS from name, content pairs.
func set(kv ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
	}
	return m
}

// ok is the start of a valid schedule; tests append fields to it.
const ok = "name: x\ncron: \"*/15 * * * *\"\n"

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"no files", set("README.md", "hello"), `schedules: no schedule files (*.yaml or *.yml)`},
		{"unknown key", set("x.yaml", ok+"targets: [t.me]\ncrn: \"@hourly\"\n"), `x.yaml:4: field "crn" not found`},
		{"repeated key", set("x.yaml", ok+"targets: [t.me]\nname: y\n"), `x.yaml:4: name: given twice (first at line 1)`},
		{"syntax", set("x.yaml", "name: x\n  cron: [\n"), `x.yaml: line 2: mapping values are not allowed in this context`},
		{"unquoted cron", set("x.yaml", "name: x\ncron: */15 * * * *\n"),
			`x.yaml: line 2: did not find expected alphabetic or numeric character (quote a value that starts with *: cron: "*/15 * * * *")`},
		{"empty file", set("x.yaml", "# nothing yet\n"), `x.yaml:1: empty file: want one schedule`},
		{"null document", set("x.yaml", "---\n"), `x.yaml:1: empty file: want one schedule`},
		{"not a mapping", set("x.yaml", "- t.me\n"), `x.yaml:1: want a mapping, found a list`},
		{"two documents", set("x.yaml", ok+"targets: [t.me]\n---\nname: y\n"), `x.yaml:4: a second YAML document: want one per file`},
		{"missing name and cron", set("x.yaml", "\ntargets: [t.me]\n"), "x.yaml:2: name: missing\nx.yaml:2: cron: missing"},
		{"null name and cron", set("x.yaml", "name:\ncron: ~\ntargets: [t.me]\n"), "x.yaml:1: name: missing\nx.yaml:2: cron: missing"},
		{"null items", set("x.yaml", ok+"targets: [t.me, ~]\nresolvers:\n  -\nlists:\n  - path:\n  - path: l.txt\n    categories: [~]\n"),
			"x.yaml:3: targets[1]: missing\nx.yaml:5: resolvers[0]: missing\nx.yaml:7: lists[0].path: missing\n" +
				"x.yaml:8: lists[1]: open l.txt: file does not exist\nx.yaml:9: lists[1].categories[0]: missing"},
		{"bad name", set("x.yaml", "name: Telegram_2017\ncron: \"@hourly\"\ntargets: [t.me]\n"),
			`x.yaml:1: name: "Telegram_2017": want 1 to 63 of a-z, 0-9 and -, not starting with -`},
		{"name too long", set("x.yaml", "name: "+strings.Repeat("a", 64)+"\ncron: \"@hourly\"\ntargets: [t.me]\n"),
			`x.yaml:1: name: "` + strings.Repeat("a", 64) + `": want 1 to 63 of a-z, 0-9 and -, not starting with -`},
		{"name not a string", set("x.yaml", "name: {a: b}\ncron: \"@hourly\"\ntargets: [t.me]\n"), `x.yaml:1: name: want a string, found a mapping`},
		{"duplicate name", set("a.yaml", ok+"targets: [t.me]\n", "b.yml", "# same\nname: x\ncron: \"@daily\"\ntargets: [t.me]\n"),
			`b.yml:2: name: "x" is already used by a.yaml`},
		{"cron fields", set("x.yaml", "name: x\ncron: \"*/15 * * *\"\ntargets: [t.me]\n"),
			`x.yaml:2: cron: "*/15 * * *": expected exactly 5 fields, found 4`},
		{"cron seconds", set("x.yaml", "name: x\ncron: \"0 */15 * * * *\"\ntargets: [t.me]\n"),
			`x.yaml:2: cron: "0 */15 * * * *": expected exactly 5 fields, found 6`},
		{"cron range", set("x.yaml", "name: x\ncron: \"0-60 * * * *\"\ntargets: [t.me]\n"),
			`x.yaml:2: cron: "0-60 * * * *": end of range (60) above maximum (59): 0-60`},
		{"cron descriptor", set("x.yaml", "name: x\ncron: \"@fortnightly\"\ntargets: [t.me]\n"),
			`x.yaml:2: cron: "@fortnightly": unrecognized descriptor: @fortnightly`},
		{"cron zone", set("x.yaml", "name: x\ncron: CRON_TZ=Asia/Jakarta 0 * * * *\ntargets: [t.me]\n"),
			`x.yaml:2: cron: "CRON_TZ=Asia/Jakarta 0 * * * *": time zones are not allowed: schedules run in UTC`},
		{"cron zone alone", set("x.yaml", "name: x\ncron: TZ=UTC\ntargets: [t.me]\n"),
			`x.yaml:2: cron: "TZ=UTC": time zones are not allowed: schedules run in UTC`},
		{"cron never", set("x.yaml", "name: x\ncron: \"0 0 30 2 *\"\ntargets: [t.me]\n"), `x.yaml:2: cron: "0 0 30 2 *": never runs`},
		{"cron empty", set("x.yaml", "name: x\ncron: \" \"\ntargets: [t.me]\n"), `x.yaml:2: cron: empty`},
		{"jitter duration", set("x.yaml", ok+"jitter: 2 minutes\ntargets: [t.me]\n"),
			`x.yaml:3: jitter: "2 minutes" is not a duration (want e.g. 90s, 1m, 7d)`},
		{"jitter negative", set("x.yaml", ok+"jitter: -1m\ntargets: [t.me]\n"), `x.yaml:3: jitter: "-1m" is negative`},
		{"jitter too long", set("x.yaml", ok+"jitter: 15m\ntargets: [t.me]\n"), `x.yaml:3: jitter: 15m0s is not shorter than the 15m0s between runs`},
		{"jitter too long for the shortest gap", set("x.yaml", "name: x\ncron: \"0,5 3 * * *\"\njitter: 6m\ntargets: [t.me]\n"),
			`x.yaml:3: jitter: 6m0s is not shorter than the 5m0s between runs`},
		{"jitter of days", set("x.yaml", "name: x\ncron: \"@weekly\"\njitter: 7d\ntargets: [t.me]\n"),
			`x.yaml:3: jitter: 168h0m0s is not shorter than the 168h0m0s between runs`},
		{"bad targets", set("x.yaml", ok+"targets:\n  - t.me\n  - tcp://149.154.167.51\n  - ftp://files.example.org/\n  - [nested]\n"),
			"x.yaml:5: targets[1]: target \"tcp://149.154.167.51\": tcp target needs a port (tcp://HOST:PORT)\n" +
				"x.yaml:6: targets[2]: target \"ftp://files.example.org/\": unsupported scheme \"ftp\" (want http, https or tcp)\n" +
				"x.yaml:7: targets[3]: want a string, found a list"},
		{"targets not a list", set("x.yaml", ok+"targets: t.me\n"),
			`x.yaml:3: targets: want a list, found "t.me"`},
		{"no targets", set("x.yaml", ok+"targets: []\n"), `x.yaml:3: targets: none: give targets, or lists that hold some`},
		{"bad resolver", set("x.yaml", ok+"targets: [t.me]\nresolvers:\n  - 1.1.1.1\n  - ftp://9.9.9.9\n"),
			`x.yaml:6: resolvers[1]: resolver "ftp://9.9.9.9": unsupported scheme "ftp" (want udp, tcp, tls or https)`},
		{"timeouts", set("x.yaml", ok+"targets: [t.me]\ntimeouts:\n  dns: 5\n  dsn: 5s\n  tcp: -1s\n  dns: 1s\n"),
			"x.yaml:5: timeouts.dns: \"5\" is not a duration (want e.g. 90s, 1m, 7d)\n" +
				"x.yaml:6: timeouts: field \"dsn\" not found\n" +
				"x.yaml:7: timeouts.tcp: \"-1s\" is negative\n" +
				"x.yaml:8: timeouts.dns: given twice (first at line 5)"},
		{"timeouts not a mapping", set("x.yaml", ok+"targets: [t.me]\ntimeouts: 5s\n"), `x.yaml:4: timeouts: want a mapping, found "5s"`},
		{"concurrency", set("x.yaml", ok+"targets: [t.me]\nconcurrency: lots\n"), `x.yaml:4: concurrency: want a whole number, found "lots"`},
		{"concurrency negative", set("x.yaml", ok+"targets: [t.me]\nconcurrency: -1\n"), `x.yaml:4: concurrency: -1 is negative`},
		{"concurrency too high", set("x.yaml", ok+"targets: [t.me]\nconcurrency: 5000\n"), `x.yaml:4: concurrency: 5000 is above 1024`},
		{"list missing", set("x.yaml", ok+"lists:\n  - lists/none.txt\n"), `x.yaml:4: lists[0]: open lists/none.txt: file does not exist`},
		{"list outside", set("x.yaml", ok+"targets: [t.me]\nlists:\n  - path: ../lists/x.txt\n"),
			`x.yaml:5: lists[0].path: "../lists/x.txt" is outside the schedules folder`},
		{"list fields", set("x.yaml", ok+"targets: [t.me]\nlists:\n  - paht: a.txt\n  - path: a.txt\n    optional: yes\n    categories: [NEWS, \"NE WS\"]\n  - [a.txt]\n"),
			"x.yaml:5: lists[0]: field \"paht\" not found\n" +
				"x.yaml:5: lists[0].path: missing\n" +
				"x.yaml:6: lists[1]: open a.txt: file does not exist\n" +
				"x.yaml:7: lists[1].optional: want true or false, found \"yes\"\n" +
				"x.yaml:8: lists[1].categories[1]: bad category code \"NE WS\"\n" +
				"x.yaml:9: lists[2]: want a mapping, found a list"},
		{"list bad lines, reported once", set(
			"a.yaml", "name: a\ncron: \"@hourly\"\nlists: [lists/bad.txt]\n",
			"b.yaml", "name: b\ncron: \"@hourly\"\nlists: [lists/bad.txt]\n",
			"lists/bad.txt", "t.me\nexa mple.com\n\nftp://files.example.org/\n"),
			"lists/bad.txt:2: target \"exa mple.com\": not a domain; give a URL with a scheme\n" +
				"lists/bad.txt:4: target \"ftp://files.example.org/\": unsupported scheme \"ftp\" (want http, https or tcp)"},
		{"every problem of every file", set(
			"a.yaml", "name: A\ncron: \"* * *\"\ncrn: x\n",
			"b.yaml", "name: b\ncron: \"@hourly\"\ntargets: [t.me]\n",
			"c.yaml", "name: b\ncron: \"@hourly\"\ntargets: [\"http://bad_-.example/\"]\n"),
			"a.yaml:1: name: \"A\": want 1 to 63 of a-z, 0-9 and -, not starting with -\n" +
				"a.yaml:2: cron: \"* * *\": expected exactly 5 fields, found 3\n" +
				"a.yaml:3: field \"crn\" not found\n" +
				"c.yaml:1: name: \"b\" is already used by b.yaml\n" +
				"c.yaml:3: targets[0]: target \"http://bad_-.example/\": bad character '-' in domain label \"bad_-\""},
	}
	for _, tc := range tests {
		set, err := Load(tc.fsys)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error =\n%v\nwant\n%s", tc.name, err, tc.want)
		}
		if set != nil {
			t.Errorf("%s: a set came back with the error", tc.name)
		}
		if _, ferr := Files(tc.fsys); ferr == nil || ferr.Error() != tc.want {
			t.Errorf("%s: Files error =\n%v\nwant\n%s", tc.name, ferr, tc.want)
		}
	}
}

// TestLoadFromFolder checks the messages of lists read from a folder and from absolute
// paths (os errors, not fs.FS ones).
func TestLoadFromFolder(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "absent.csv")
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("x.yaml", ok+"lists:\n  - lists/none.txt\n  - path: "+missing+"\n")
	_, err := Load(os.DirFS(dir))
	want := "x.yaml:4: lists[0]: open lists/none.txt: no such file or directory\n" +
		"x.yaml:5: lists[1]: open " + missing + ": no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
	// Files does not read absolute lists: they belong to the machine running the schedule.
	write("x.yaml", ok+"lists:\n  - path: "+missing+"\n")
	files, err := Files(os.DirFS(dir))
	if err != nil || len(files) != 1 || files["x.yaml"] == nil {
		t.Errorf("Files = %v, %v; want x.yaml alone", files, err)
	}
	if _, err := Load(os.DirFS(dir)); err == nil || err.Error() != "x.yaml:4: lists[0]: open "+missing+": no such file or directory" {
		t.Errorf("Load error = %v", err)
	}
}

func TestSkipBadLines(t *testing.T) {
	var list strings.Builder
	list.WriteString("t.me\n")
	for range 25 {
		list.WriteString("bad host\n")
	}
	fsys := set("x.yaml", ok+"lists:\n  - path: lists/l.txt\n    skip_bad_lines: true\n  - path: lists/gone.txt\n    optional: true\n",
		"lists/l.txt", list.String())
	s, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	x := s.Get("x")
	if got := targetStrings(x); !slices.Equal(got, []string{"https://t.me/"}) {
		t.Errorf("targets = %q", got)
	}
	want := []string{}
	for line := 2; line < 2+maxSkippedLines; line++ {
		want = append(want, "lists/l.txt:"+strconv.Itoa(line)+": target \"bad host\": not a domain; give a URL with a scheme; skipped")
	}
	want = append(want, "lists/l.txt: 5 more bad lines skipped",
		"x.yaml:6: lists[1]: lists/gone.txt: not found; optional, skipped")
	if !slices.Equal(x.Skipped, want) {
		t.Errorf("skipped =\n%s\nwant\n%s", strings.Join(x.Skipped, "\n"), strings.Join(want, "\n"))
	}

	// Every list optional and missing: the schedule loads, measures nothing, and says why.
	s, err = Load(set("x.yaml", ok+"lists:\n  - path: /nonexistent/pantau/list.csv\n    optional: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if x := s.Get("x"); len(x.Targets) != 0 || !slices.Equal(x.Skipped, []string{"x.yaml:4: lists[0]: /nonexistent/pantau/list.csv: not found; optional, skipped"}) {
		t.Errorf("all optional lists missing: %d targets, skipped %q", len(x.Targets), x.Skipped)
	}
}

// TestDurations: jitter and timeouts take Go durations and whole days.
func TestDurations(t *testing.T) {
	s, err := Load(set("x.yaml", "name: x\ncron: \"@monthly\"\njitter: 1d\ntargets: [t.me]\ntimeouts: {dns: 90s, target: 1d}\n"))
	if err != nil {
		t.Fatal(err)
	}
	x := s.Get("x")
	if x.Jitter != 24*time.Hour || x.Timeouts != (Timeouts{DNS: 90 * time.Second, Target: 24 * time.Hour}) {
		t.Errorf("jitter %s, timeouts %+v", x.Jitter, x.Timeouts)
	}
}
