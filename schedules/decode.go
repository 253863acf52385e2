package schedules

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

var (
	validName     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	validCategory = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// file is a schedule file as written (schedules/README.md).
type file struct {
	Name        string              `yaml:"name"`
	Description string              `yaml:"description"`
	Cron        cronSpec            `yaml:"cron"`
	Jitter      yamlconf.Duration   `yaml:"jitter"`
	Targets     []inlineTarget      `yaml:"targets"`
	Lists       []listRef           `yaml:"lists"`
	Resolvers   []dnsquery.Resolver `yaml:"resolvers"`
	Timeouts    fileTimeouts        `yaml:"timeouts"`
	Concurrency int                 `yaml:"concurrency"`
}

type fileTimeouts struct {
	DNS    yamlconf.Duration `yaml:"dns"`
	TCP    yamlconf.Duration `yaml:"tcp"`
	TLS    yamlconf.Duration `yaml:"tls"`
	HTTP   yamlconf.Duration `yaml:"http"`
	Target yamlconf.Duration `yaml:"target"`
}

// cronSpec is a cron spec that parses and fires.
type cronSpec struct {
	spec  string // as written, trimmed
	sched cron.Schedule
	gap   time.Duration // the shortest time between two runs
}

// UnmarshalYAML parses the spec.
func (c *cronSpec) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlconf.ParseScalar(n, parseCronSpec)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

func parseCronSpec(raw string) (cronSpec, error) {
	spec := strings.TrimSpace(raw)
	if spec == "" {
		return cronSpec{}, errors.New("empty")
	}
	sched, err := parseCron(spec)
	if err != nil {
		return cronSpec{}, fmt.Errorf("%q: %s", spec, err)
	}
	gap := shortestGap(sched)
	if gap == 0 {
		return cronSpec{}, fmt.Errorf("%q: never runs", spec)
	}
	return cronSpec{spec: spec, sched: sched, gap: gap}, nil
}

// inlineTarget is a target given in the schedule file, parsed like a line of a list.
type inlineTarget struct{ target.Target }

// UnmarshalYAML parses the target.
func (t *inlineTarget) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlconf.ParseScalar(n, target.Parse)
	if err != nil {
		return err
	}
	t.Target = v
	return nil
}

// listRef is one entry of lists: a path, or a mapping with the path and its options.
type listRef struct {
	Path         listPath `yaml:"path"`
	Categories   []string `yaml:"categories"`
	Optional     bool     `yaml:"optional"`
	SkipBadLines bool     `yaml:"skip_bad_lines"`
}

// UnmarshalScalar takes an entry written as its path alone.
func (r *listRef) UnmarshalScalar(n *yaml.Node) error { return r.Path.UnmarshalYAML(n) }

// listPath is where a list is: an absolute path on the machine that runs the schedule,
// or a path relative to the set's root that stays inside it.
type listPath struct {
	path     string // cleaned
	absolute bool
}

// UnmarshalYAML parses and checks the path.
func (p *listPath) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlconf.ParseScalar(n, parseListPath)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

func parseListPath(raw string) (listPath, error) {
	switch {
	case strings.TrimSpace(raw) == "":
		return listPath{}, errors.New("empty")
	case filepath.IsAbs(raw):
		return listPath{path: filepath.Clean(raw), absolute: true}, nil
	}
	p := path.Clean(raw)
	if !fs.ValidPath(p) || p == "." {
		return listPath{}, fmt.Errorf("%q is outside the schedules folder", raw)
	}
	return listPath{path: p}, nil
}

// validate checks what the types of the fields do not: each problem is a
// *yamlconf.FieldError.
func (sf *file) validate() error {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, yamlconf.Errorf(field, format, a...)) }
	switch {
	case sf.Name == "":
		bad("name", "missing")
	case !validName.MatchString(sf.Name):
		bad("name", "%q: want 1 to 63 of a-z, 0-9 and -, not starting with -", sf.Name)
	}
	switch {
	case sf.Cron.sched == nil:
		bad("cron", "missing")
	case sf.Jitter.Duration >= sf.Cron.gap:
		bad("jitter", "%s is not shorter than the %s between runs", sf.Jitter.Duration, sf.Cron.gap)
	}
	for i, l := range sf.Lists {
		if l.Path.path == "" {
			bad(fmt.Sprintf("lists[%d].path", i), "missing")
		}
		for j, c := range l.Categories {
			if !validCategory.MatchString(c) {
				bad(fmt.Sprintf("lists[%d].categories[%d]", i, j), "bad category code %q", c)
			}
		}
	}
	switch {
	case sf.Concurrency < 0:
		bad("concurrency", "%d is negative", sf.Concurrency)
	case sf.Concurrency > MaxConcurrency:
		bad("concurrency", "%d is above %d", sf.Concurrency, MaxConcurrency)
	}
	return errors.Join(errs...)
}

// schedule returns the Schedule of the file called name, its lists not read yet.
func (sf *file) schedule(name string) *Schedule {
	t := sf.Timeouts
	s := &Schedule{
		Name: sf.Name, Description: sf.Description, Cron: sf.Cron.spec, spec: sf.Cron.sched, Jitter: sf.Jitter.Duration,
		Resolvers: sf.Resolvers, Concurrency: sf.Concurrency, File: name,
		Timeouts: Timeouts{DNS: t.DNS.Duration, TCP: t.TCP.Duration, TLS: t.TLS.Duration, HTTP: t.HTTP.Duration, Target: t.Target.Duration},
	}
	if s.Concurrency == 0 {
		s.Concurrency = DefaultConcurrency
	}
	for _, t := range sf.Targets {
		if t.URL != nil { // nil: it did not parse (reported)
			s.Targets = append(s.Targets, t.Target)
		}
	}
	return s
}

// decoded is one schedule file, decoded and checked, before its lists are read.
type decoded struct {
	s      *Schedule      // nil when the file holds no schedule
	f      *yamlconf.File // the file's problems, and where its fields are
	lists  []listRef      // as in the file, by index
	unread bool           // an absolute list was not read (Files)
}

// decodeFile decodes one schedule file strictly (internal/yamlconf) and checks it.
func decodeFile(name string, b []byte) *decoded {
	d := &decoded{f: yamlconf.NewFile(name)}
	var sf file
	if !d.f.Decode(b, &sf) {
		d.f.Errorf("", "empty file: want one schedule")
		return d
	}
	d.f.Add(sf.validate())
	d.s, d.lists = sf.schedule(name), sf.Lists
	return d
}
