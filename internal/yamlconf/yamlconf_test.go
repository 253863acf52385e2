package yamlconf_test

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// doc is a file of every kind of field the package decodes.
type doc struct {
	Name    string            `yaml:"name"`
	Count   int               `yaml:"count"`
	Rate    float64           `yaml:"rate"`
	On      bool              `yaml:"on"`
	Limit   *int64            `yaml:"limit"`
	Wait    yamlconf.Duration `yaml:"wait"`
	Nets    []yamlconf.Prefix `yaml:"nets"`
	Inner   inner             `yaml:"inner"`
	Items   []item            `yaml:"items"`
	Default string            `yaml:"default"`
	Skipped string            `yaml:"-"`
	NoTag   string
}

type inner struct {
	A yamlconf.Duration `yaml:"a"`
	B []string          `yaml:"b"`
}

// item is a path, or a mapping with a path and a flag.
type item struct {
	Path string `yaml:"path"`
	Flag bool   `yaml:"flag"`
}

func (i *item) UnmarshalScalar(n *yaml.Node) error {
	if strings.Contains(n.Value, " ") {
		return errors.New("no spaces")
	}
	i.Path = n.Value
	return nil
}

// validate is the checks across fields of doc.
func (d *doc) validate() error {
	var errs []error
	if d.Name == "" {
		errs = append(errs, yamlconf.Errorf("name", "missing"))
	}
	if d.Wait.Duration > 30*24*time.Hour {
		errs = append(errs, yamlconf.Errorf("wait", "%s is more than 30d", d.Wait.Duration))
	}
	for i, it := range d.Items {
		if it.Path == "" {
			errs = append(errs, yamlconf.Errorf(fmt.Sprintf("items[%d].path", i), "missing"))
		}
	}
	return errors.Join(errs...)
}

func load(name, y string) (doc, bool, error) {
	f := yamlconf.NewFile(name)
	d := doc{Default: "kept"}
	found := f.Decode([]byte(y), &d)
	if found {
		f.Add(d.validate())
	}
	return d, found, f.Err()
}

func TestDecode(t *testing.T) {
	y := "name: x\ncount: 0x10\nrate: 2\non: True\nlimit: 5\nwait: 7d\nnets: [10.77.1.2/16, \"fd00::/8\"]\n" +
		"inner:\n  a: 90s\n  b: [p, q]\nitems:\n  - a.txt\n  - {path: b.txt, flag: true}\nnotag: n\n"
	d, found, err := load("x.yaml", y)
	if err != nil || !found {
		t.Fatal(found, err)
	}
	limit := int64(5)
	want := doc{Name: "x", Count: 16, Rate: 2, On: true, Limit: &limit, Wait: yamlconf.Duration{Duration: 7 * 24 * time.Hour},
		Nets:  []yamlconf.Prefix{{Prefix: netip.MustParsePrefix("10.77.0.0/16")}, {Prefix: netip.MustParsePrefix("fd00::/8")}},
		Inner: inner{A: yamlconf.Duration{Duration: 90 * time.Second}, B: []string{"p", "q"}},
		Items: []item{{Path: "a.txt"}, {Path: "b.txt", Flag: true}}, Default: "kept", NoTag: "n"}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got  %+v\nwant %+v", d, want)
	}
	// Null and absent keys leave the field as it was; aliases are followed.
	d, _, err = load("x.yaml", "name: &n x\ndefault: ~\ninner: {b: [*n]}\nlimit:\n")
	if err != nil || d.Default != "kept" || d.Limit != nil || d.Inner.B[0] != "x" {
		t.Errorf("null and aliases: %+v, %v", d, err)
	}
	for _, y := range []string{"", "# nothing\n", "---\n", "~\n"} {
		if d, found, err := load("x.yaml", y); found || err != nil || d.Default != "kept" {
			t.Errorf("%q: found %v, %v, %+v", y, found, err, d)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "name: x\nnmae: y\ninner:\n  c: 1\n",
			"x.yaml:2: field \"nmae\" not found\nx.yaml:4: inner: field \"c\" not found"},
		{"repeated key", "name: x\ninner: {a: 1s}\nname: y\ninner: {a: 2s, a: 3s}\n",
			"x.yaml:3: name: given twice (first at line 1)\nx.yaml:4: inner: given twice (first at line 2)"},
		{"repeated key inside", "name: x\ninner: {a: 2s, a: 3s}\n", "x.yaml:2: inner.a: given twice (first at line 2)"},
		{"wrong kinds", "name: [x]\ncount: \"5\"\nrate: x\non: yes\nlimit: 1.5\ninner: 5\nnets: 10.0.0.0/8\nitems: [[a]]\n",
			"x.yaml:1: name: want a string, found a list\n" +
				"x.yaml:2: count: want a whole number, found \"5\"\n" +
				"x.yaml:3: rate: want a number, found \"x\"\n" +
				"x.yaml:4: on: want true or false, found \"yes\"\n" +
				"x.yaml:5: limit: want a whole number, found \"1.5\"\n" +
				"x.yaml:6: inner: want a mapping, found \"5\"\n" +
				"x.yaml:7: nets: want a list, found \"10.0.0.0/8\"\n" +
				"x.yaml:8: items[0]: want a mapping, found a list"},
		{"bad values", "name: x\nwait: 5\ninner:\n  a: -1m\nnets:\n  - 10.0.0.0/33\n  - [x]\nitems: [\"a b\"]\n",
			"x.yaml:2: wait: \"5\" is not a duration (want e.g. 90s, 1m, 7d)\n" +
				"x.yaml:4: inner.a: \"-1m\" is negative\n" +
				"x.yaml:6: nets[0]: \"10.0.0.0/33\" is not an address prefix (want e.g. 10.77.0.0/16)\n" +
				"x.yaml:7: nets[1]: want a string, found a list\n" +
				"x.yaml:8: items[0]: no spaces"},
		{"empty items", "name: x\nnets:\n  -\n  - ~\ninner: {b: [a, null]}\n",
			"x.yaml:3: nets[0]: missing\nx.yaml:4: nets[1]: missing\nx.yaml:5: inner.b[1]: missing"},
		{"checks after decoding", "\ncount: 1\nwait: 31d\nitems:\n  - {flag: true}\n",
			"x.yaml:2: name: missing\nx.yaml:3: wait: 744h0m0s is more than 30d\nx.yaml:5: items[0].path: missing"},
		// A check of a field that did not decode would only repeat its problem.
		{"checks skip what did not decode", "wait: 2 hours\nitems:\n  - {path: [x]}\n  - {flag: true}\n",
			"x.yaml:1: wait: \"2 hours\" is not a duration (want e.g. 90s, 1m, 7d)\n" +
				"x.yaml:1: name: missing\n" +
				"x.yaml:3: items[0].path: want a string, found a list\n" +
				"x.yaml:4: items[1].path: missing"},
		{"not a mapping", "- name\n", "x.yaml:1: want a mapping, found a list"},
		{"second document", "name: x\n---\nname: y\n", "x.yaml:2: a second YAML document: want one per file"},
		{"syntax", "name: x\n  count: [\n", "x.yaml: line 2: mapping values are not allowed in this context"},
		{"unquoted star", "count: 1\nname: */15 * * * *\n",
			`x.yaml: line 2: did not find expected alphabetic or numeric character (quote a value that starts with *: cron: "*/15 * * * *")`},
	} {
		_, _, err := load("x.yaml", tc.yaml)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error =\n%v\nwant\n%s", tc.name, err, tc.want)
		}
	}
}

func TestUnsupportedType(t *testing.T) {
	var v struct {
		M map[string]string `yaml:"m"`
	}
	f := yamlconf.NewFile("x.yaml")
	f.Decode([]byte("m: {a: b}\n"), &v)
	if err := f.Err(); err == nil || err.Error() != "x.yaml:1: m: a map[string]string cannot be read from YAML" {
		t.Errorf("error = %v", err)
	}
}

func TestAdd(t *testing.T) {
	f := yamlconf.NewFile("x.yaml")
	var d doc
	f.Decode([]byte("name: x\ninner:\n  b:\n    - p\n"), &d)
	f.Add(errors.Join(yamlconf.Errorf("inner.b[0]", "bad"), errors.New("about the file"),
		errors.Join(yamlconf.Errorf("inner.b[3]", "where its list is"), yamlconf.Errorf("", "at the top"))))
	f.Errorf("inner.a", "not given: where inner is")
	want := "x.yaml: about the file\nx.yaml:1: at the top\nx.yaml:2: inner.a: not given: where inner is\n" +
		"x.yaml:3: inner.b[3]: where its list is\nx.yaml:4: inner.b[0]: bad"
	if err := f.Err(); err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
	// A check of a field around one that did not decode is kept; one of the field itself,
	// or of a field inside it, is not.
	f = yamlconf.NewFile("x.yaml")
	f.Decode([]byte("inner:\n  a: 1 hour\n  b: x\n"), &d)
	f.Add(errors.Join(yamlconf.Errorf("inner", "kept"), yamlconf.Errorf("inner.a", "dropped"), yamlconf.Errorf("inner.b[0]", "dropped")))
	want = "x.yaml:1: inner: kept\nx.yaml:2: inner.a: \"1 hour\" is not a duration (want e.g. 90s, 1m, 7d)\nx.yaml:3: inner.b: want a list, found \"x\""
	if err := f.Err(); err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
	if f.Name() != "x.yaml" || f.Line("inner.b") != 3 || f.Line("nothing.here") != 1 {
		t.Errorf("name %q, lines %d %d", f.Name(), f.Line("inner.b"), f.Line("nothing.here"))
	}
	if err := yamlconf.Errorf("a.b", "bad %d", 1); err.Error() != "a.b: bad 1" {
		t.Errorf("FieldError = %q", err)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"7d", 7 * 24 * time.Hour, ""},
		{"0d", 0, ""},
		{"36500d", 36500 * 24 * time.Hour, ""},
		{"48h", 48 * time.Hour, ""},
		{"1m30s", 90 * time.Second, ""},
		{" 90s ", 90 * time.Second, ""},
		{"0", 0, ""},
		{"-7d", 0, `"-7d" is negative`},
		{"-1s", 0, `"-1s" is negative`},
		{"36501d", 0, `"36501d" is not a duration (want e.g. 90s, 1m, 7d)`},
		{"1.5d", 0, `"1.5d" is not a duration (want e.g. 90s, 1m, 7d)`},
		{"d", 0, `"d" is not a duration (want e.g. 90s, 1m, 7d)`},
		{"1w", 0, `"1w" is not a duration (want e.g. 90s, 1m, 7d)`},
		{"10", 0, `"10" is not a duration (want e.g. 90s, 1m, 7d)`},
		{"", 0, `"" is not a duration (want e.g. 90s, 1m, 7d)`},
	} {
		got, err := yamlconf.ParseDuration(tt.in)
		if (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) || got != tt.want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestDurationFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	d := yamlconf.DurationFlag(fs, "expires", "validity")
	if err := fs.Parse([]string{"--expires", "7d"}); err != nil || *d != 7*24*time.Hour {
		t.Errorf("--expires 7d: %s, %v", *d, err)
	}
	err := fs.Parse([]string{"--expires", "-1h"})
	if want := `invalid value "-1h" for flag -expires: "-1h" is negative`; err == nil || err.Error() != want {
		t.Errorf("--expires -1h: %v, want %s", err, want)
	}
}

func TestParsePrefix(t *testing.T) {
	if p, err := yamlconf.ParsePrefix("10.77.1.2/16"); err != nil || p != netip.MustParsePrefix("10.77.0.0/16") {
		t.Errorf("ParsePrefix = %v, %v", p, err)
	}
	if _, err := yamlconf.ParsePrefix("192.0.2.1"); err == nil || err.Error() != `"192.0.2.1" is not an address prefix (want e.g. 10.77.0.0/16)` {
		t.Errorf("ParsePrefix(address) error = %v", err)
	}
}
