package orders

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/timeline"
)

// ok is a valid order without its scope; tests append domains or target_list.
const ok = "id: x\nauthority: A\nreference: R\nexpect: blocked\neffective: 2017-07-14T00:00:00+07:00\nnetworks: [Telkomsel]\n"

func TestParse(t *testing.T) {
	o, err := Parse("x.yaml", []byte(`# an order
id: kominfo-test
title: A test
authority: "  Kominfo "
reference: No. 84
domains: [T.ME., web.telegram.org]
expect: accessible
effective: 2017-08-10T00:00:00+07:00
grace: 3d
networks: [Telkomsel, Indosat Ooredoo]
supersedes: kominfo-block
sources: [https://example.org/a]
`))
	if err != nil {
		t.Fatal(err)
	}
	eff := time.Date(2017, 8, 9, 17, 0, 0, 0, time.UTC)
	if o.ID != "kominfo-test" || o.Title != "A test" || o.Authority != "Kominfo" || o.Reference != "No. 84" ||
		!slices.Equal(o.Domains, []string{"t.me", "web.telegram.org"}) || o.Expect != timeline.Accessible ||
		!o.Effective.Equal(eff) || o.Grace != 72*time.Hour || !slices.Equal(o.Networks, []string{"Telkomsel", "Indosat Ooredoo"}) ||
		o.Supersedes != "kominfo-block" || !slices.Equal(o.Sources, []string{"https://example.org/a"}) || o.File != "x.yaml" {
		t.Errorf("order = %+v", o)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseGrace(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want time.Duration
	}{{"", DefaultGrace}, {"grace:\n", DefaultGrace}, {"grace: 7d\n", 7 * 24 * time.Hour}, {"grace: 0s\n", 0}, {"grace: 90m\n", 90 * time.Minute}, {"grace: 2d\n", 48 * time.Hour}, {"grace: 1h30m\n", 90 * time.Minute}} {
		o, err := Parse("x.yaml", []byte(ok+"domains: [t.me]\n"+tc.yaml))
		if err != nil || o.Grace != tc.want {
			t.Errorf("%q: grace %v, %v; want %v", tc.yaml, o.Grace, err, tc.want)
		}
	}
}

func TestParseTargetList(t *testing.T) {
	o, err := Parse("testdata/x.yaml", []byte(ok+"target_list: lists/telegram.txt\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"t.me", "telegram.me", "telegram.org", "core.telegram.org"}; !slices.Equal(o.Domains, want) {
		t.Errorf("domains %q, want %q", o.Domains, want)
	}
	if o.TargetList != "lists/telegram.txt" || !slices.Equal(o.Skipped, []string{"tcp://149.154.167.51:443"}) {
		t.Errorf("target list %q, skipped %q", o.TargetList, o.Skipped)
	}
	o, err = Parse("testdata/x.yaml", []byte(ok+"target_list: lists/citizenlab.csv\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"t.me", "web.telegram.org"}; !slices.Equal(o.Domains, want) || o.Skipped != nil {
		t.Errorf("csv: domains %q, skipped %q", o.Domains, o.Skipped)
	}
}

// TestParseScheduleList takes the names of the probes' own Telegram list, bundled with
// Pantau (schedules/lists/ at the repository's root).
func TestParseScheduleList(t *testing.T) {
	o, err := Parse("x.yaml", []byte(ok+"target_list: bundled:lists/id-telegram-web-2017.txt\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Domains, telegram) || len(o.Skipped) != 5 || o.Skipped[0] != "tcp://149.154.175.50:443" {
		t.Errorf("domains %q, skipped %q", o.Domains, o.Skipped)
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("a", 65)
	tests := []struct{ name, yaml, want string }{
		{"empty", "# nothing\n", `x.yaml:1: empty file: want one order`},
		{"null document", "---\n", `x.yaml:1: empty file: want one order`},
		{"not a mapping", "- t.me\n", `x.yaml:1: want a mapping, found a list`},
		{"syntax", "id: x\n  expect: [\n", `x.yaml: line 2: mapping values are not allowed in this context`},
		{"two documents", ok + "domains: [t.me]\n---\nid: y\n", `x.yaml:8: a second YAML document: want one per file`},
		{"unknown key", ok + "domains: [t.me]\nexpects: blocked\n", `x.yaml:8: field "expects" not found`},
		{"repeated key", ok + "domains: [t.me]\nid: y\n", `x.yaml:8: id: given twice (first at line 1)`},
		{"missing everything", "title: T\n",
			"x.yaml:1: id: missing\nx.yaml:1: authority: missing\nx.yaml:1: reference: missing\nx.yaml:1: expect: missing\n" +
				"x.yaml:1: effective: missing\nx.yaml:1: networks: missing\nx.yaml:1: domains: missing: give domains or target_list"},
		{"null values", "id:\nauthority: ~\nreference: \" \"\nexpect:\neffective:\nnetworks:\ndomains:\n",
			"x.yaml:1: id: missing\nx.yaml:2: authority: missing\nx.yaml:3: reference: missing\nx.yaml:4: expect: missing\n" +
				"x.yaml:5: effective: missing\nx.yaml:6: networks: missing\nx.yaml:7: domains: missing: give domains or target_list"},
		{"bad id", strings.Replace(ok, "id: x", "id: Kominfo_2017", 1) + "domains: [t.me]\n",
			`x.yaml:1: id: "Kominfo_2017": want 1 to 64 of a-z, 0-9 and -, not starting with -`},
		{"id too long", strings.Replace(ok, "id: x", "id: "+long, 1) + "domains: [t.me]\n",
			`x.yaml:1: id: "` + long + `": want 1 to 64 of a-z, 0-9 and -, not starting with -`},
		{"id dash", strings.Replace(ok, "id: x", "id: -x", 1) + "domains: [t.me]\n",
			`x.yaml:1: id: "-x": want 1 to 64 of a-z, 0-9 and -, not starting with -`},
		{"id not a string", strings.Replace(ok, "id: x", "id: [x]", 1) + "domains: [t.me]\n", `x.yaml:1: id: want a string, found a list`},
		{"bad expect", strings.Replace(ok, "expect: blocked", "expect: down", 1) + "domains: [t.me]\n",
			`x.yaml:4: expect: "down": want blocked or accessible`},
		{"date only", strings.Replace(ok, "2017-07-14T00:00:00+07:00", "2017-07-14", 1) + "domains: [t.me]\n",
			`x.yaml:5: effective: "2017-07-14": want an RFC 3339 time with its zone, e.g. 2017-07-14T00:00:00+07:00`},
		{"no zone", strings.Replace(ok, "2017-07-14T00:00:00+07:00", "2017-07-14T00:00:00", 1) + "domains: [t.me]\n",
			`x.yaml:5: effective: "2017-07-14T00:00:00": want an RFC 3339 time with its zone, e.g. 2017-07-14T00:00:00+07:00`},
		{"bad grace", ok + "domains: [t.me]\ngrace: 2 days\n", `x.yaml:8: grace: "2 days" is not a duration (want e.g. 90s, 1m, 7d)`},
		{"bad grace days", ok + "domains: [t.me]\ngrace: 1.5d\n", `x.yaml:8: grace: "1.5d" is not a duration (want e.g. 90s, 1m, 7d)`},
		{"negative grace", ok + "domains: [t.me]\ngrace: -1h\n", `x.yaml:8: grace: "-1h" is negative`},
		{"domains and list", ok + "domains: [t.me]\ntarget_list: testdata/lists/telegram.txt\n",
			`x.yaml:8: target_list: give domains or target_list, not both`},
		{"domains not a list", ok + "domains: t.me\n", `x.yaml:7: domains: want a list, found "t.me"`},
		{"empty domains", ok + "domains: []\n", `x.yaml:7: domains: none: give at least one`},
		{"bad domains", ok + "domains:\n  - t.me\n  - exa mple.com\n  - 149.154.167.51\n  - https://t.me/\n  - -x.org\n  - ~\n  - T.Me.\n  - [x]\n",
			"x.yaml:9: domains[1]: \"exa mple.com\": bad character ' ' in label \"exa mple\"\n" +
				"x.yaml:10: domains[2]: \"149.154.167.51\": an IP address, not a host name\n" +
				"x.yaml:11: domains[3]: \"https://t.me/\": not a host name (give t.me, not https://t.me/)\n" +
				"x.yaml:12: domains[4]: \"-x.org\": bad character '-' in label \"-x\"\n" +
				"x.yaml:13: domains[5]: missing\n" +
				"x.yaml:14: domains[6]: \"t.me\" is also domains[0]\n" +
				"x.yaml:15: domains[7]: want a string, found a list"},
		{"bad networks", strings.Replace(ok, "networks: [Telkomsel]", "networks:\n  - Telkomsel\n  - \" XL\"\n  - Indosat  Ooredoo\n  - Telkomsel\n  - Tel/kom", 1) + "domains: [t.me]\n",
			"x.yaml:8: networks[1]: \" XL\": want 1 to 253 of letters, digits, '.', '_', '-' and single inner spaces\n" +
				"x.yaml:9: networks[2]: \"Indosat  Ooredoo\": want 1 to 253 of letters, digits, '.', '_', '-' and single inner spaces\n" +
				"x.yaml:10: networks[3]: \"Telkomsel\" is also networks[0]\n" +
				"x.yaml:11: networks[4]: \"Tel/kom\": want 1 to 253 of letters, digits, '.', '_', '-' and single inner spaces"},
		{"empty networks", strings.Replace(ok, "networks: [Telkomsel]", "networks: []", 1) + "domains: [t.me]\n",
			`x.yaml:6: networks: none: give at least one`},
		{"supersedes itself", ok + "domains: [t.me]\nsupersedes: x\n", `x.yaml:8: supersedes: "x" is the order itself`},
		{"bad supersedes", ok + "domains: [t.me]\nsupersedes: X\n", `x.yaml:8: supersedes: "X": want 1 to 64 of a-z, 0-9 and -, not starting with -`},
		{"bad sources", ok + "domains: [t.me]\nsources: [a, \"\", {b: c}]\n",
			"x.yaml:8: sources[2]: want a string, found a mapping\nx.yaml:8: sources[1]: empty"},
		{"list missing", ok + "target_list: testdata/lists/none.txt\n",
			`x.yaml:7: target_list: open testdata/lists/none.txt: no such file or directory`},
		{"list bad lines", ok + "target_list: testdata/lists/bad.txt\n",
			"testdata/lists/bad.txt:2: " + badLine + "\ntestdata/lists/bad.txt:3: " + badLine},
		{"list of addresses", ok + "target_list: testdata/lists/ips.txt\n", `x.yaml:7: target_list: testdata/lists/ips.txt holds no host names`},
		{"list empty path", ok + "target_list: \" \"\n",
			"x.yaml:1: domains: missing: give domains or target_list\nx.yaml:7: target_list: empty"},
	}
	for _, tc := range tests {
		o, err := Parse("x.yaml", []byte(tc.yaml))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error =\n%v\nwant\n%s", tc.name, err, tc.want)
		}
		if o.ID != "" {
			t.Errorf("%s: an order came back with the error: %+v", tc.name, o)
		}
	}
}

// badLine is the error of a bad line of a target list: it never quotes the line.
const badLine = "not a valid target line (want a domain, an http(s) URL, tcp://HOST:PORT or a Citizen Lab CSV row; the line is not shown)"

// TestParseTargetListConfined: an order's target_list is a relative path inside the
// order's folder or a bundled list. An absolute path, "..", or a symbolic link out of the
// folder is refused before anything is read, and the bad lines of a file that is no list
// (here the collector's config with its signing secret) are named by number only.
func TestParseTargetListConfined(t *testing.T) {
	outside := t.TempDir()
	secretFile := filepath.Join(outside, "collector.yaml")
	const secretLine = "secret: do-not-print-me-0123456789abcdef"
	if err := os.WriteFile(secretFile, []byte(secretLine+"\nadmin_token: also-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(secretFile, filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "lists"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lists", "config.txt"), []byte(secretLine+"\nt.me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "upload.yaml")
	for _, tc := range []struct{ list, want string }{
		{secretFile, name + `:7: target_list: "` + secretFile + `": want a relative path inside the orders folder (not absolute, no ..), or bundled:PATH`},
		{"/etc/passwd", name + `:7: target_list: "/etc/passwd": want a relative path inside the orders folder (not absolute, no ..), or bundled:PATH`},
		{"../x/collector.yaml", name + `:7: target_list: "../x/collector.yaml": want a relative path inside the orders folder (not absolute, no ..), or bundled:PATH`},
		{"lists/../../collector.yaml", name + `:7: target_list: "lists/../../collector.yaml": want a relative path inside the orders folder (not absolute, no ..), or bundled:PATH`},
		{"link.txt", name + ":7: target_list: open link.txt: path escapes from parent"},
		{"lists/config.txt", filepath.Join(dir, "lists", "config.txt") + ":1: " + badLine},
		{"bundled:../x.txt", name + `:7: target_list: "bundled:../x.txt": want bundled:PATH, a slash-separated path such as bundled:lists/id-telegram-web-2017.txt`},
		{"bundled:/etc/passwd", name + `:7: target_list: "bundled:/etc/passwd": want bundled:PATH, a slash-separated path such as bundled:lists/id-telegram-web-2017.txt`},
		{"bundled:lists/none.txt", name + ":7: target_list: open lists/none.txt: file does not exist"},
	} {
		_, err := Parse(name, []byte(ok+"target_list: "+tc.list+"\n"))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error =\n%v\nwant\n%s", tc.list, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "do-not-print-me") || strings.Contains(err.Error(), "also-secret")) {
			t.Errorf("%s: the error quotes the file: %v", tc.list, err)
		}
	}
}

// TestSourceURL: a source links to its last word when that is an http(s) URL; nothing
// else is ever a link, and a source written as a link of another scheme is refused.
func TestSourceURL(t *testing.T) {
	for _, tc := range []struct{ source, want string }{
		{"Liputan6, 14 Jul 2017: https://opera.liputan6.com/tekno/read/3023074/x", "https://opera.liputan6.com/tekno/read/3023074/x"},
		{"http://internetsehat.id/2017/07/x/", "http://internetsehat.id/2017/07/x/"},
		{"Kompas, print edition of 15 July 2017", ""},
		{"javascript:alert(1)", ""},
		{"see javascript:alert(document.cookie)", ""},
		{"data:text/html,<script>alert(1)</script>", ""},
		{"ftp://files.example.org/order.pdf", ""},
		{"https://user:pw@example.org/", ""},
		{"https:///no-host", ""},
		{"", ""},
	} {
		if got := SourceURL(tc.source); got != tc.want {
			t.Errorf("SourceURL(%q) = %q, want %q", tc.source, got, tc.want)
		}
	}
	_, err := Parse("x.yaml", []byte(ok+"domains: [t.me]\nsources:\n  - \"Gazette: https://example.org/a\"\n  - \"Archive: ftp://files.example.org/a.pdf\"\n  - \"javascript:alert(1)\"\n"))
	if want := `x.yaml:10: sources[1]: "ftp://files.example.org/a.pdf": a link must be an http or https URL with a host`; err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
}

func TestValidate(t *testing.T) {
	good, err := Parse("x.yaml", []byte(ok+"domains: [t.me]\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*Order)
		want   string
	}{
		{"zero order", func(o *Order) { *o = Order{} },
			"id: missing\nauthority: missing\nreference: missing\n" +
				"expect: missing\neffective: missing\nnetworks: missing\ndomains: missing: give domains or target_list"},
		{"domains", func(o *Order) { o.Domains = []string{"T.me", "t.me", "t.me", "a..b"} },
			"domains[0]: \"T.me\": bad character 'T' in label \"T\"\ndomains[2]: \"t.me\" is also domains[1]\ndomains[3]: \"a..b\": bad label \"\""},
		{"trailing dot", func(o *Order) { o.Domains = []string{"t.me."} }, `domains[0]: "t.me.": bad label ""`},
		{"networks", func(o *Order) { o.Networks = []string{"XL", "XL", ""} },
			"networks[1]: \"XL\" is also networks[0]\nnetworks[2]: \"\": want 1 to 253 of letters, digits, '.', '_', '-' and single inner spaces"},
		{"grace", func(o *Order) { o.Grace = -time.Second }, `grace: -1s is negative`},
		{"supersedes", func(o *Order) { o.Supersedes = "x" }, `supersedes: "x" is the order itself`},
		{"sources", func(o *Order) { o.Sources = []string{" "} }, `sources[0]: empty`},
	}
	for _, tc := range tests {
		o := good
		o.Domains, o.Networks = slices.Clone(good.Domains), slices.Clone(good.Networks)
		tc.change(&o)
		if err := o.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("%s: error =\n%v\nwant\n%s", tc.name, err, tc.want)
		}
	}
}
