package schedules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/internal/yamlnode"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/target"
)

var (
	validName     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	validCategory = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	yamlLine      = regexp.MustCompile(`^yaml: line (\d+): `)
	unquotedStar  = regexp.MustCompile(`^\s*[\w.-]+:\s*\*`)
)

// decoded is one schedule file, decoded and checked, before its lists are read.
type decoded struct {
	s        *Schedule
	line     int // where the schedule's mapping starts
	nameLine int
	lists    []listRef
	unread   bool          // an absolute list was not read (Files)
	gap      time.Duration // the shortest time between two runs
}

// listRef is one entry of a schedule's lists.
type listRef struct {
	field        string // "lists[0]"
	line         int
	path         string // cleaned; absolute or relative to the set's root
	absolute     bool
	categories   []string
	optional     bool
	skipBadLines bool
}

// decoder decodes one file and collects its errors, each "FILE:LINE: FIELD: what".
type decoder struct {
	yamlnode.Errors
}

func (d *decoder) wrap(line int, field string, err error) {
	d.Errs = append(d.Errs, fmt.Errorf("%s:%d: %s: %w", d.File, line, field, err))
}

// syntax reports a YAML syntax error with the file name in front of its line, and a
// hint when the line has an unquoted value starting with * (a YAML alias).
func (d *decoder) syntax(err error, b []byte) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		hint := ""
		line, _ := strconv.Atoi(m[1])
		if lines := strings.Split(string(b), "\n"); line >= 1 && line <= len(lines) && unquotedStar.MatchString(lines[line-1]) {
			hint = ` (quote a value that starts with *: cron: "*/15 * * * *")`
		}
		d.Errs = append(d.Errs, fmt.Errorf("%s:%s: %s%s", d.File, m[1], msg[len(m[0]):], hint))
		return
	}
	d.Errs = append(d.Errs, fmt.Errorf("%s: %s", d.File, strings.TrimPrefix(msg, "yaml: ")))
}

// decodeFile decodes one schedule file strictly: an unknown or repeated key, a value of
// the wrong kind or a bad value is an error. It returns nil when the file holds no
// mapping to decode.
func decodeFile(name string, b []byte) (*decoded, []error) {
	d := &decoder{Errors: yamlnode.Errors{File: name}}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.Errorf(1, "", "empty file: want one schedule")
		} else {
			d.syntax(err, b)
		}
		return nil, d.Errs
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		d.Errorf(more.Line, "", "a second document: want one schedule per file")
	} else if !errors.Is(err, io.EOF) {
		d.syntax(err, b)
	}
	if len(doc.Content) == 0 || yamlnode.IsNull(yamlnode.Deref(doc.Content[0])) {
		d.Errorf(doc.Line, "", "empty file: want one schedule")
		return nil, d.Errs
	}
	root := yamlnode.Deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		d.Errorf(root.Line, "", "want a mapping of schedule fields, found %s", yamlnode.Kind(root))
		return nil, d.Errs
	}
	out := &decoded{s: &Schedule{File: name, Concurrency: DefaultConcurrency}, line: root.Line}
	s := out.s
	var jitterNode *yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], yamlnode.Deref(root.Content[i+1])
		if !d.once(seen, k, "") {
			continue
		}
		switch k.Value {
		case "name":
			if n, ok := d.Required(v, "name"); ok {
				out.nameLine = v.Line
				if !validName.MatchString(n) {
					d.Errorf(v.Line, "name", "%q: want 1 to 63 of a-z, 0-9 and -, not starting with -", n)
				} else {
					s.Name = n
				}
			}
		case "description":
			s.Description, _ = d.Scalar(v, "description")
		case "cron":
			out.gap = d.cron(s, v)
		case "jitter":
			if j, ok := d.duration(v, "jitter"); ok {
				s.Jitter, jitterNode = j, v
			}
		case "targets":
			for j, item := range d.Seq(v, "targets") {
				field := fmt.Sprintf("targets[%d]", j)
				if raw, ok := d.Required(item, field); ok {
					t, err := target.Parse(raw)
					if err != nil {
						d.wrap(item.Line, field, err)
						continue
					}
					s.Targets = append(s.Targets, t)
				}
			}
		case "lists":
			for j, item := range d.Seq(v, "lists") {
				if ref, ok := d.list(item, fmt.Sprintf("lists[%d]", j)); ok {
					out.lists = append(out.lists, ref)
				}
			}
		case "resolvers":
			for j, item := range d.Seq(v, "resolvers") {
				field := fmt.Sprintf("resolvers[%d]", j)
				if raw, ok := d.Required(item, field); ok {
					if _, err := dnsquery.ParseResolver(raw); err != nil {
						d.wrap(item.Line, field, err)
						continue
					}
					s.Resolvers = append(s.Resolvers, strings.TrimSpace(raw))
				}
			}
		case "timeouts":
			d.timeouts(&s.Timeouts, v)
		case "concurrency":
			d.concurrency(s, v)
		default:
			d.Errorf(k.Line, "", "field %q not found", k.Value)
		}
	}
	if _, ok := seen["name"]; !ok {
		d.Errorf(root.Line, "name", "missing")
	}
	if _, ok := seen["cron"]; !ok {
		d.Errorf(root.Line, "cron", "missing")
	}
	if s.spec != nil && jitterNode != nil && s.Jitter >= out.gap {
		d.Errorf(jitterNode.Line, "jitter", "%s is not shorter than the %s between runs", jitterNode.Value, out.gap)
	}
	return out, d.Errs
}

// once reports whether key k is seen for the first time in its mapping.
func (d *decoder) once(seen map[string]int, k *yaml.Node, parent string) bool {
	if first, dup := seen[k.Value]; dup {
		field := k.Value
		if parent != "" {
			field = parent + "." + k.Value
		}
		d.Errorf(k.Line, field, "given twice (first at line %d)", first)
		return false
	}
	seen[k.Value] = k.Line
	return true
}

// cron parses and checks the cron spec, and returns the shortest time between runs.
func (d *decoder) cron(s *Schedule, v *yaml.Node) time.Duration {
	spec, ok := d.Required(v, "cron")
	if !ok {
		return 0
	}
	spec = strings.TrimSpace(spec)
	if spec == "" {
		d.Errorf(v.Line, "cron", "empty")
		return 0
	}
	c, err := parseCron(spec)
	if err != nil {
		d.Errorf(v.Line, "cron", "%q: %s", spec, err)
		return 0
	}
	gap := shortestGap(c)
	switch {
	case gap == 0:
		d.Errorf(v.Line, "cron", "%q: never runs", spec)
	default:
		s.Cron, s.spec = spec, c
	}
	return gap
}

// list decodes one entry of lists: a path, or a mapping with path, categories,
// optional and skip_bad_lines.
func (d *decoder) list(n *yaml.Node, field string) (listRef, bool) {
	ref := listRef{field: field, line: n.Line}
	var pathNode *yaml.Node
	switch {
	case n.Kind == yaml.ScalarNode && !yamlnode.IsNull(n):
		pathNode = n
	case n.Kind == yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], yamlnode.Deref(n.Content[i+1])
			if !d.once(seen, k, field) {
				continue
			}
			switch k.Value {
			case "path":
				pathNode = v
			case "categories":
				for j, item := range d.Seq(v, field+".categories") {
					f := fmt.Sprintf("%s.categories[%d]", field, j)
					if c, ok := d.Required(item, f); ok {
						if !validCategory.MatchString(c) {
							d.Errorf(item.Line, f, "bad category code %q", c)
							continue
						}
						ref.categories = append(ref.categories, c)
					}
				}
			case "optional":
				ref.optional, _ = d.boolean(v, field+".optional")
			case "skip_bad_lines":
				ref.skipBadLines, _ = d.boolean(v, field+".skip_bad_lines")
			default:
				d.Errorf(k.Line, field, "field %q not found", k.Value)
			}
		}
		if pathNode == nil {
			d.Errorf(n.Line, field+".path", "missing")
			return ref, false
		}
	default:
		d.Errorf(n.Line, field, "want a path or a mapping with path, found %s", yamlnode.Kind(n))
		return ref, false
	}
	f := field
	if n.Kind == yaml.MappingNode {
		f += ".path"
	}
	p, ok := d.Required(pathNode, f)
	if !ok {
		return ref, false
	}
	ref.line = pathNode.Line
	switch {
	case strings.TrimSpace(p) == "":
		d.Errorf(pathNode.Line, f, "empty")
		return ref, false
	case filepath.IsAbs(p):
		ref.path, ref.absolute = filepath.Clean(p), true
	default:
		ref.path = path.Clean(p)
		if !fs.ValidPath(ref.path) || ref.path == "." {
			d.Errorf(pathNode.Line, f, "%q is outside the schedules folder", p)
			return ref, false
		}
	}
	return ref, true
}

// timeouts decodes the timeouts mapping.
func (d *decoder) timeouts(t *Timeouts, n *yaml.Node) {
	if yamlnode.IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n.Line, "timeouts", "want a mapping, found %s", yamlnode.Kind(n))
		return
	}
	fields := map[string]*time.Duration{"dns": &t.DNS, "tcp": &t.TCP, "tls": &t.TLS, "http": &t.HTTP, "target": &t.Target}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlnode.Deref(n.Content[i+1])
		if !d.once(seen, k, "timeouts") {
			continue
		}
		dst, ok := fields[k.Value]
		if !ok {
			d.Errorf(k.Line, "timeouts", "field %q not found", k.Value)
			continue
		}
		if v, ok := d.duration(v, "timeouts."+k.Value); ok {
			*dst = v
		}
	}
}

// concurrency decodes and bounds the concurrency.
func (d *decoder) concurrency(s *Schedule, n *yaml.Node) {
	raw, ok := d.Scalar(n, "concurrency")
	if !ok {
		return
	}
	c, err := strconv.Atoi(raw)
	switch {
	case err != nil || n.Tag != "!!int":
		d.Errorf(n.Line, "concurrency", "want a whole number, found %q", raw)
	case c < 0:
		d.Errorf(n.Line, "concurrency", "%d is negative", c)
	case c > MaxConcurrency:
		d.Errorf(n.Line, "concurrency", "%d is above %d", c, MaxConcurrency)
	case c > 0:
		s.Concurrency = c
	}
}

// duration parses a Go duration ("90s", "2m"); negative is an error.
func (d *decoder) duration(n *yaml.Node, field string) (time.Duration, bool) {
	raw, ok := d.Scalar(n, field)
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(strings.TrimSpace(raw))
	if err != nil {
		d.Errorf(n.Line, field, "bad duration %q (want e.g. 90s, 2m or 1h30m)", raw)
		return 0, false
	}
	if v < 0 {
		d.Errorf(n.Line, field, "negative duration %q", raw)
		return 0, false
	}
	return v, true
}

// boolean parses true or false.
func (d *decoder) boolean(n *yaml.Node, field string) (bool, bool) {
	raw, ok := d.Scalar(n, field)
	if !ok {
		return false, false
	}
	switch {
	case n.Tag == "!!bool" && strings.EqualFold(raw, "true"):
		return true, true
	case n.Tag == "!!bool" && strings.EqualFold(raw, "false"):
		return false, true
	}
	d.Errorf(n.Line, field, "want true or false, found %q", raw)
	return false, false
}
