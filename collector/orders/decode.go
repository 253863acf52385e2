package orders

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/internal/yamlnode"

	"github.com/pantau-dev/pantau/collector/timeline"
)

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// readFunc reads a target list given as the path to it from the order's folder.
type readFunc func(path string) ([]byte, error)

// Parse parses one order file strictly: an unknown or repeated key, a value of the wrong
// kind or a bad value is an error. Every problem is reported, as "NAME:LINE: FIELD: what
// is wrong", joined with errors.Join. A target_list is read relative to the folder of
// name (an uploaded order should be named as the file it will be written to).
func Parse(name string, data []byte) (Order, error) {
	d, err := parseFile(name, data)
	if err != nil {
		return Order{}, err
	}
	return d.o, nil
}

// parseFile is Parse, reading a target list from the disk.
func parseFile(name string, data []byte) (decoded, error) {
	dir := filepath.Dir(name)
	read := func(p string) ([]byte, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return os.ReadFile(p)
	}
	return parse(name, data, read)
}

// decoded is an order with the lines of the fields that Load checks across orders.
type decoded struct {
	o              Order
	idLine         int
	supersedesLine int
}

// parse decodes, reads the target list and validates.
func parse(name string, data []byte, read readFunc) (decoded, error) {
	d := &decoder{Errors: yamlnode.Errors{File: name}, read: read}
	out := d.decode(data)
	if len(d.Errs) == 0 {
		if err := out.o.Validate(); err != nil { // a safety net: decode checks all of it
			d.Errs = append(d.Errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if len(d.Errs) > 0 {
		return decoded{}, errors.Join(d.Errs...)
	}
	return out, nil
}

// decoder decodes one file and collects its errors, each "FILE:LINE: FIELD: what".
type decoder struct {
	yamlnode.Errors
	read readFunc
}

// syntax reports a YAML syntax error with the file name in front of its line.
func (d *decoder) syntax(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		d.Errs = append(d.Errs, fmt.Errorf("%s:%s: %s", d.File, m[1], msg[len(m[0]):]))
		return
	}
	d.Errs = append(d.Errs, fmt.Errorf("%s: %s", d.File, strings.TrimPrefix(msg, "yaml: ")))
}

// root decodes the single document of b and returns its mapping, or nil (reported).
func (d *decoder) root(b []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.Errorf(1, "", "empty file: want one order")
		} else {
			d.syntax(err)
		}
		return nil
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		d.Errorf(more.Line, "", "a second document: want one order per file")
	} else if !errors.Is(err, io.EOF) {
		d.syntax(err)
	}
	if len(doc.Content) == 0 || yamlnode.IsNull(yamlnode.Deref(doc.Content[0])) {
		d.Errorf(doc.Line, "", "empty file: want one order")
		return nil
	}
	root := yamlnode.Deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		d.Errorf(root.Line, "", "want a mapping of order fields, found %s", yamlnode.Kind(root))
		return nil
	}
	return root
}

// decode decodes the order's fields.
func (d *decoder) decode(b []byte) decoded {
	root := d.root(b)
	if root == nil {
		return decoded{}
	}
	out := decoded{o: Order{File: d.File, Grace: DefaultGrace}}
	o := &out.o
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], yamlnode.Deref(root.Content[i+1])
		if first, dup := seen[k.Value]; dup {
			d.Errorf(k.Line, k.Value, "given twice (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		switch k.Value {
		case "id":
			if s, ok := d.Required(v, "id"); ok {
				out.idLine = v.Line
				if err := checkID(s); err != nil {
					d.Errorf(v.Line, "id", "%v", err)
				} else {
					o.ID = s
				}
			}
		case "title":
			o.Title, _ = d.Scalar(v, "title")
		case "authority":
			o.Authority = d.text(v, "authority")
		case "reference":
			o.Reference = d.text(v, "reference")
		case "domains":
			o.Domains = d.domains(v)
		case "target_list":
			if p := d.text(v, "target_list"); p != "" {
				o.TargetList = p
				o.Domains, o.Skipped = d.targetList(v.Line, p)
			}
		case "expect":
			if s, ok := d.Required(v, "expect"); ok {
				if st := timeline.State(s); st == timeline.Blocked || st == timeline.Accessible {
					o.Expect = st
				} else {
					d.Errorf(v.Line, "expect", "%q: want blocked or accessible", s)
				}
			}
		case "effective":
			if s, ok := d.Required(v, "effective"); ok {
				t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
				if err != nil {
					d.Errorf(v.Line, "effective", "%q: want an RFC 3339 time with its zone, e.g. 2017-07-14T00:00:00+07:00", s)
				} else {
					o.Effective = t
				}
			}
		case "grace":
			if s, ok := d.Required(v, "grace"); ok {
				g, err := parseGrace(s)
				if err != nil {
					d.Errorf(v.Line, "grace", "%v", err)
				} else {
					o.Grace = g
				}
			}
		case "networks":
			o.Networks = d.networks(v)
		case "supersedes":
			if s, ok := d.Required(v, "supersedes"); ok {
				out.supersedesLine = v.Line
				if err := checkID(s); err != nil {
					d.Errorf(v.Line, "supersedes", "%v", err)
				} else {
					o.Supersedes = s
				}
			}
		case "sources":
			for j, item := range d.Seq(v, "sources") {
				if s := d.text(item, fmt.Sprintf("sources[%d]", j)); s != "" {
					o.Sources = append(o.Sources, s)
				}
			}
		default:
			d.Errorf(k.Line, "", "field %q not found", k.Value)
		}
	}
	for _, f := range []string{"id", "authority", "reference", "expect", "effective", "networks"} {
		if _, ok := seen[f]; !ok {
			d.Errorf(root.Line, f, "missing")
		}
	}
	_, hasDomains := seen["domains"]
	_, hasList := seen["target_list"]
	switch {
	case hasDomains && hasList:
		d.Errorf(seen["target_list"], "target_list", "give domains or target_list, not both")
	case !hasDomains && !hasList:
		d.Errorf(root.Line, "domains", "missing: give domains or target_list")
	}
	if o.Supersedes != "" && o.Supersedes == o.ID {
		d.Errorf(out.supersedesLine, "supersedes", "%q is the order itself", o.Supersedes)
	}
	return out
}

// parseGrace parses a Go duration ("72h", "90m") or whole days ("3d").
func parseGrace(raw string) (time.Duration, error) {
	s := strings.TrimSpace(raw)
	var g time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 3650 {
			return 0, fmt.Errorf("bad duration %q (want e.g. 48h, 90m or 3d)", raw)
		}
		g = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if g, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("bad duration %q (want e.g. 48h, 90m or 3d)", raw)
		}
	}
	if g < 0 {
		return 0, fmt.Errorf("negative duration %q", raw)
	}
	return g, nil
}
