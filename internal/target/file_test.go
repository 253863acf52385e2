package target

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/internal/target/targettest"
	"github.com/pantau-dev/pantau/internal/testref"
)

// citizenLab is a list in the format of Citizen Lab's test lists, written for these tests
// (the lists themselves are CC BY-NC-SA and stay outside the repository): 20 rows, five
// NEWS, two HUMR and four GRP, among them the Telegram names of Citizen Lab's global list.
const citizenLab = "testdata/citizenlab.csv"

// checkTestList reads path whole and by categories (matched in any case), comparing the
// number of targets with want or, when want is -1, with the independent count.
func checkTestList(t *testing.T, path string, tests []testListCase) {
	t.Helper()
	for _, tc := range tests {
		want := tc.want
		if want < 0 {
			want = targettest.CountCitizenLab(t, path, tc.codes...)
		}
		ts, err := ReadFile(path, tc.categories)
		if err != nil {
			t.Fatalf("%s %v: %v", path, tc.categories, err)
		}
		if len(ts) != want {
			t.Errorf("%s %v: %d targets, want %d", path, tc.categories, len(ts), want)
		}
		for _, x := range ts {
			if x.Category == "" || len(tc.categories) > 0 && !slices.ContainsFunc(tc.categories, func(c string) bool { return strings.EqualFold(c, x.Category) }) {
				t.Errorf("%s %v: %s has category %q", path, tc.categories, x, x.Category)
				break
			}
		}
	}
}

// checkTelegram checks that the GRP rows of path hold https://telegram.org/.
func checkTelegram(t *testing.T, path string) {
	t.Helper()
	ts, err := ReadFile(path, []string{"GRP"})
	if err != nil || !slices.ContainsFunc(ts, func(x Target) bool { return x.String() == "https://telegram.org/" }) {
		t.Errorf("%s: GRP lacks https://telegram.org/ (err %v)", path, err)
	}
}

// testListCase is one read of a test list: categories given to ReadFile, and want
// targets (-1: as many as the rows with one of codes).
type testListCase struct {
	categories []string
	codes      []string
	want       int
}

func TestReadFileTestList(t *testing.T) {
	checkTestList(t, citizenLab, []testListCase{
		{want: 20},
		{categories: []string{"NEWS"}, want: 5},
		{categories: []string{"news", "HUMR"}, want: 7},
		{categories: []string{"GRP"}, want: 4},
		{categories: []string{"grp"}, codes: []string{"GRP"}, want: -1},
		{categories: []string{"NO-SUCH-CODE"}, want: 0},
	})
	checkTelegram(t, citizenLab)
	if n := targettest.CountCitizenLab(t, citizenLab, "NEWS", "HUMR"); n != 7 {
		t.Errorf("%s has %d NEWS and HUMR rows, want 7: the independent count is broken", citizenLab, n)
	}
	ts, err := ReadFile(citizenLab, []string{"LGBT", "GMB"})
	want := []string{"https://casino.example.com/ GMB", "http://lgbt.example.org/ LGBT"}
	if err != nil || !slices.Equal(strs(ts), want) {
		t.Errorf("LGBT, GMB: %q, %v; want %q (notes quoted, with commas and line breaks)", strs(ts), err, want)
	}
}

// TestReadFileCitizenLabLists reads Citizen Lab's own current lists (optional: see
// package testref).
func TestReadFileCitizenLabLists(t *testing.T) {
	id := testref.File(t, "citizenlab-test-lists/id.csv")
	global := testref.File(t, "citizenlab-test-lists/global.csv")
	checkTestList(t, id, []testListCase{
		{want: 723},
		{categories: []string{"NEWS"}, codes: []string{"NEWS"}, want: -1},
		{categories: []string{"news", "HUMR"}, codes: []string{"NEWS", "HUMR"}, want: -1},
		{categories: []string{"NO-SUCH-CODE"}, want: 0},
	})
	if n := targettest.CountCitizenLab(t, id, "NEWS"); n < 100 {
		t.Errorf("id.csv has only %d NEWS rows: the independent count is broken", n)
	}
	checkTestList(t, global, []testListCase{
		{want: 1722},
		{categories: []string{"GRP"}, codes: []string{"GRP"}, want: -1},
	})
	checkTelegram(t, global)
}

func TestReadFilePlain(t *testing.T) {
	for _, categories := range [][]string{nil, {"NEWS"}} { // a plain list has no categories: all kept
		ts, err := ReadFile("testdata/plain.txt", categories)
		wantErr := `testdata/plain.txt:6: target "exa mple.com": not a domain; give a URL with a scheme
testdata/plain.txt:9: target "ftp://files.example.org/": unsupported scheme "ftp" (want http, https or tcp)
testdata/plain.txt:10: target "http://example.com:99999/": bad port "99999"`
		if err == nil || err.Error() != wantErr {
			t.Errorf("error = %v\nwant %s", err, wantErr)
		}
		want := []string{"https://t.me/", "https://telegram.org/", "https://web.telegram.org/k/#@durov",
			"tcp://149.154.167.50:443", "https://desktop.telegram.org/"}
		if got := strs(ts); !slices.Equal(got, want) {
			t.Errorf("targets = %q\nwant %q", got, want)
		}
	}
}

func TestReadFileBadTestList(t *testing.T) {
	ts, err := ReadFile("testdata/list.csv", nil)
	wantErr := `testdata/list.csv:3: target "https://bad host.example/": parse "https://bad host.example/": invalid character " " in host name
testdata/list.csv:4: wrong number of fields: got 2, want 6
testdata/list.csv:7: target "http://bad_-.example/": bad character '-' in domain label "bad_-"`
	if err == nil || err.Error() != wantErr {
		t.Errorf("error = %v\nwant %s", err, wantErr)
	}
	got := strs(ts)
	want := []string{"https://www.example.org/ NEWS", "https://blog.example.net/ HUMR", "http://www.example.com/news news"}
	if !slices.Equal(got, want) {
		t.Errorf("targets = %q\nwant %q", got, want)
	}
	// Filtered-out rows are not parsed, so their errors do not show.
	ts, err = ReadFile("testdata/list.csv", []string{"HUMR"})
	wantErr = `testdata/list.csv:3: target "https://bad host.example/": parse "https://bad host.example/": invalid character " " in host name
testdata/list.csv:4: wrong number of fields: got 2, want 6`
	if err == nil || err.Error() != wantErr || !slices.Equal(strs(ts), []string{"https://blog.example.net/ HUMR"}) {
		t.Errorf("HUMR: %q, %v", strs(ts), err)
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		err      string
	}{
		{name: "empty", in: ""},
		{name: "only comments", in: "# nothing\n\n   \n"},
		{name: "BOM and CRLF", in: "\ufeffexample.com\r\nexample.org # org\r\n", want: []string{"https://example.com/", "https://example.org/"}},
		{name: "no final newline", in: "example.com", want: []string{"https://example.com/"}},
		{name: "test list header only", in: "url,category_code,category_description,date_added,source,notes\n"},
		{name: "test list with BOM", in: "\ufeffurl,category_code,category_description,date_added,source,notes\nhttp://x.example/,NEWS,News Media,2014-04-15,citizenlab,\n",
			want: []string{"http://x.example/ NEWS"}},
		{name: "test list quote error", in: "url,category_code\nhttp://x.example/,NEWS\nhttp://y.example/,\"NE\"WS\nhttp://z.example/,GRP\n",
			want: []string{"http://x.example/ NEWS", "http://z.example/ GRP"}, err: `in.csv:3:22: extraneous or missing " in quoted-field`},
		// An internationalised name is a target like any other; a bad one fails its line only.
		{name: "IDN lines", in: "яндекс.рф\nhttps://ЯНДЕКС.РФ/path # Yandex\nxn--zz\nbérita.example\n",
			want: []string{"https://xn--d1acpjx3f.xn--p1ai/", "https://xn--d1acpjx3f.xn--p1ai/path", "https://xn--brita-bsa.example/"},
			err:  `in.csv:3: target "xn--zz": invalid internationalised domain name: idna: invalid label "zz"`},
		{name: "IDN test list", in: "url,category_code\nhttp://bérita.example/,NEWS\nhttp://aא.example/,NEWS\n",
			want: []string{"http://xn--brita-bsa.example/ NEWS"},
			err:  `in.csv:3: target "http://aא.example/": invalid internationalised domain name: idna: invalid label "aא.example"`},
	}
	for _, tc := range tests {
		ts, err := Read(strings.NewReader(tc.in), "in.csv", nil)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || err.Error() != tc.err) {
			t.Errorf("%s: error = %v, want %q", tc.name, err, tc.err)
		}
		if got := strs(ts); !slices.Equal(got, tc.want) {
			t.Errorf("%s: targets = %q, want %q", tc.name, got, tc.want)
		}
	}
	if _, err := ReadFile("testdata/missing.txt", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error = %v", err)
	}
}

// strs renders targets as "URL" or "URL CATEGORY".
func strs(ts []Target) []string {
	var out []string
	for _, x := range ts {
		out = append(out, strings.TrimSpace(x.String()+" "+x.Category))
	}
	return out
}
