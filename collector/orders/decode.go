package orders

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/yamlconf"
	"github.com/pantau-dev/pantau/schedules"
)

// readFunc reads a target list given as a local path (filepath.IsLocal) from the
// order's folder; it must not leave that folder.
type readFunc func(path string) ([]byte, error)

// BundledList prefixes a target_list that names a list bundled with Pantau (the probes'
// built-in lists, schedules.Builtin), e.g. "bundled:lists/id-telegram-web-2017.txt".
const BundledList = "bundled:"

// Parse parses one order file strictly (internal/yamlconf): an unknown or repeated key, a
// value of the wrong kind or a bad value is an error. Every problem is reported, as
// "NAME:LINE: FIELD: what is wrong", joined with errors.Join. A target_list is a relative
// path inside the folder of name (an uploaded order should be named as the file it will
// be written to), or a bundled list.
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
	return parse(name, data, func(p string) ([]byte, error) { return readInside(dir, p) })
}

// readInside reads the file at the local path p of dir through an os.Root, so that
// neither ".." nor a symbolic link takes the read out of dir.
func readInside(dir, p string) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	b, err := root.ReadFile(p)
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return nil, fmt.Errorf("open %s: %w", p, pe.Err)
	}
	return b, err
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
	Zone       string             `yaml:"zone"`
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
	checkSourceLinks(f, o.Sources)
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
		Zone:  of.Zone,
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
// Lab CSV), each once; IP targets go to o.Skipped. The list is a relative path inside the
// order's folder (read) or a bundled list (BundledList); anything else, a list that
// cannot be read, or one that holds no host name is a problem of the order's file. The
// bad lines of a list are returned as "LIST:LINE: …", the list named from the order's
// folder, without their content: a list may be any file of the folder, and an upload's
// errors are shown to whoever uploads.
func readTargetList(f *yamlconf.File, o *Order, read readFunc) []error {
	name, b, err := o.TargetList, []byte(nil), error(nil)
	if rest, ok := strings.CutPrefix(name, BundledList); ok {
		if !fs.ValidPath(rest) {
			f.Errorf("target_list", "%q: want %sPATH, a slash-separated path such as %slists/id-telegram-web-2017.txt", name, BundledList, BundledList)
			return nil
		}
		b, err = fs.ReadFile(schedules.Builtin(), rest)
	} else {
		if !filepath.IsLocal(name) {
			f.Errorf("target_list", "%q: want a relative path inside the orders folder (not absolute, no ..), or %sPATH", name, BundledList)
			return nil
		}
		b, err = read(name)
		name = filepath.Join(filepath.Dir(f.Name()), name)
	}
	if err != nil {
		f.Errorf("target_list", "%v", err)
		return nil
	}
	ts, err := target.Read(bytes.NewReader(b), name, nil)
	if err != nil {
		return listErrors(name, err)
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

// listErrors turns the errors of target.Read on the list called name into one error per
// bad line, "NAME:LINE: not a valid target line (…)", without the line's content.
func listErrors(name string, err error) []error {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var out []error
	seen := map[int]bool{}
	for _, e := range errs {
		rest, _ := strings.CutPrefix(e.Error(), name+":")
		digits, _, _ := strings.Cut(rest, ":")
		line, convErr := strconv.Atoi(digits)
		switch {
		case convErr != nil || line < 1:
			out = append(out, fmt.Errorf("%s: not a target list (the file is not shown)", name))
		case !seen[line]:
			seen[line] = true
			out = append(out, fmt.Errorf("%s:%d: not a valid target line (want a domain, an http(s) URL, tcp://HOST:PORT or a Citizen Lab CSV row; the line is not shown)", name, line))
		}
	}
	return out
}

// SourceURL returns the link of an order's source: its last word when that is an
// absolute http or https URL with a host and no user name ("Liputan6, 14 Jul 2017:
// https://…"); "" otherwise. The dashboard links a source only to this URL: html/template
// rightly refuses the whole text as a link (it reads "Liputan6, 14 Jul 2017" as an unknown
// URL scheme), and any other scheme (javascript:, data:) is never a link.
func SourceURL(source string) string {
	words := strings.Fields(source)
	if len(words) == 0 {
		return ""
	}
	last := words[len(words)-1]
	u, err := url.Parse(last)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	return u.String()
}

// checkSourceLinks refuses a source whose last word is written as a link ("scheme://…")
// that SourceURL does not take: it would not be shown as one.
func checkSourceLinks(f *yamlconf.File, sources []string) {
	for i, s := range sources {
		words := strings.Fields(s)
		if len(words) > 0 && strings.Contains(words[len(words)-1], "://") && SourceURL(s) == "" {
			f.Errorf(fmt.Sprintf("sources[%d]", i), "%q: a link must be an http or https URL with a host", words[len(words)-1])
		}
	}
}
