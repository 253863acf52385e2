package orders

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// readFunc reads a target list given as the path to it from the order's folder.
type readFunc func(path string) ([]byte, error)

// Parse parses one order file strictly (internal/yamlconf): an unknown or repeated key, a
// value of the wrong kind or a bad value is an error. Every problem is reported, as
// "NAME:LINE: FIELD: what is wrong", joined with errors.Join. A target_list is read
// relative to the folder of name (an uploaded order should be named as the file it will
// be written to).
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

// decoded is an order with its file, which says where its fields are for the checks
// that Load makes across orders.
type decoded struct {
	o Order
	f *yamlconf.File
}

// orderFile is an order file as written (docs/orders.md).
type orderFile struct {
	ID         string             `yaml:"id"`
	Title      string             `yaml:"title"`
	Authority  string             `yaml:"authority"`
	Reference  string             `yaml:"reference"`
	Domains    *[]string          `yaml:"domains"` // nil: not given
	TargetList string             `yaml:"target_list"`
	Expect     string             `yaml:"expect"`
	Effective  effective          `yaml:"effective"`
	Grace      *yamlconf.Duration `yaml:"grace"` // nil: DefaultGrace
	Networks   []string           `yaml:"networks"`
	Supersedes string             `yaml:"supersedes"`
	Sources    []string           `yaml:"sources"`
}

// effective is an RFC 3339 time with its zone.
type effective struct{ time.Time }

// UnmarshalYAML parses the time.
func (e *effective) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlconf.ParseScalar(n, func(s string) (time.Time, error) {
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
		if err != nil {
			return t, fmt.Errorf("%q: want an RFC 3339 time with its zone, e.g. 2017-07-14T00:00:00+07:00", s)
		}
		return t, nil
	})
	if err != nil {
		return err
	}
	e.Time = v
	return nil
}

// parse decodes, reads the target list and validates.
func parse(name string, data []byte, read readFunc) (decoded, error) {
	f := yamlconf.NewFile(name)
	var of orderFile
	if !f.Decode(data, &of) {
		f.Errorf("", "empty file: want one order")
		return decoded{}, f.Err()
	}
	o := of.order(name)
	var listErrs []error
	switch {
	case of.Domains != nil && of.TargetList != "":
		f.Errorf("target_list", "give domains or target_list, not both")
	case of.TargetList != "" && o.TargetList == "":
		f.Errorf("target_list", "empty")
	case o.TargetList != "":
		listErrs = readTargetList(f, &o, read)
	}
	f.Add(o.Validate())
	if err := errors.Join(append([]error{f.Err()}, listErrs...)...); err != nil {
		return decoded{}, err
	}
	return decoded{o: o, f: f}, nil
}

// order returns the Order of the file called name: texts trimmed, domains normalised,
// the grace defaulted; its target list not read yet.
func (of *orderFile) order(name string) Order {
	o := Order{
		ID: of.ID, Title: of.Title, Authority: strings.TrimSpace(of.Authority), Reference: strings.TrimSpace(of.Reference),
		TargetList: strings.TrimSpace(of.TargetList), Expect: timeline.State(of.Expect), Effective: of.Effective.Time,
		Grace: DefaultGrace, Networks: of.Networks, Supersedes: of.Supersedes, Sources: of.Sources, File: name,
	}
	if of.Domains != nil {
		o.Domains = make([]string, len(*of.Domains))
		for i, d := range *of.Domains {
			o.Domains[i] = normalDomain(d)
		}
	}
	if of.Grace != nil {
		o.Grace = of.Grace.Duration
	}
	return o
}

// readTargetList sets o's domains to the host names of its target list (plain or Citizen
// Lab CSV), each once; IP targets go to o.Skipped. A list that cannot be read, or holds no
// host name, is a problem of the order's file; the bad lines of a list are returned, as
// "LIST:LINE: what is wrong", the list named from the order's folder.
func readTargetList(f *yamlconf.File, o *Order, read readFunc) []error {
	b, err := read(o.TargetList)
	if err != nil {
		f.Errorf("target_list", "%v", err)
		return nil
	}
	name := o.TargetList
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(f.Name()), name)
	}
	ts, err := target.Read(bytes.NewReader(b), name, nil)
	if err != nil {
		return []error{err}
	}
	seen := map[string]bool{}
	for _, t := range ts {
		switch {
		case t.IsIP():
			o.Skipped = append(o.Skipped, t.Raw)
		case !seen[t.Domain]:
			seen[t.Domain] = true
			o.Domains = append(o.Domains, t.Domain)
		}
	}
	if len(o.Domains) == 0 {
		f.Errorf("target_list", "%s holds no host names", name)
	}
	return nil
}
