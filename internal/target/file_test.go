package target

import (
	"encoding/csv"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
)

// testLists holds the Citizen Lab test lists beside the repository (never copied into it).
const testLists = "../../../shared/data/citizenlab-test-lists/"

// countCategory counts the rows of a test list with one of the category codes, read
// independently of Read with encoding/csv.
func countCategory(t *testing.T, path string, codes ...string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("Citizen Lab lists must be present beside the repo: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows[1:] {
		if slices.Contains(codes, r[1]) {
			n++
		}
	}
	return n
}

func TestReadFileTestLists(t *testing.T) {
	tests := []struct {
		file       string
		categories []string
		want       int
	}{
		{file: "id.csv", want: 723},
		{file: "global.csv", want: 1722},
		{file: "id.csv", categories: []string{"NEWS"}, want: countCategory(t, testLists+"id.csv", "NEWS")},
		{file: "id.csv", categories: []string{"news", "HUMR"}, want: countCategory(t, testLists+"id.csv", "NEWS", "HUMR")},
		{file: "global.csv", categories: []string{"GRP"}, want: countCategory(t, testLists+"global.csv", "GRP")},
		{file: "id.csv", categories: []string{"NO-SUCH-CODE"}, want: 0},
	}
	for _, tc := range tests {
		ts, err := ReadFile(testLists+tc.file, tc.categories)
		if err != nil {
			t.Fatalf("%s %v: %v", tc.file, tc.categories, err)
		}
		if len(ts) != tc.want {
			t.Errorf("%s %v: %d targets, want %d", tc.file, tc.categories, len(ts), tc.want)
		}
		for _, x := range ts {
			if x.Category == "" || len(tc.categories) > 0 && !slices.ContainsFunc(tc.categories, func(c string) bool { return strings.EqualFold(c, x.Category) }) {
				t.Errorf("%s %v: %s has category %q", tc.file, tc.categories, x, x.Category)
				break
			}
		}
	}
	if tc := countCategory(t, testLists+"id.csv", "NEWS"); tc < 100 {
		t.Errorf("id.csv has only %d NEWS rows: the independent count is broken", tc)
	}
	ts, err := ReadFile(testLists+"global.csv", []string{"GRP"})
	if err != nil || !slices.ContainsFunc(ts, func(x Target) bool { return x.String() == "https://telegram.org/" }) {
		t.Errorf("global.csv GRP lacks https://telegram.org/ (err %v)", err)
	}
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
