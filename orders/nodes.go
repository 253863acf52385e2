package orders

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/target"
)

// domains decodes the domains list: each one checked and normalised (lower case, no
// trailing dot); a repeated one is an error.
func (d *decoder) domains(n *yaml.Node) []string {
	items := d.seq(n, "domains")
	if len(items) == 0 && n.Kind == yaml.SequenceNode || isNull(n) {
		d.errorf(n.Line, "domains", "none: give at least one")
		return nil
	}
	var out []string
	first := map[string]int{}
	for j, item := range items {
		field := fmt.Sprintf("domains[%d]", j)
		raw, ok := d.required(item, field)
		if !ok {
			continue
		}
		h := normalDomain(raw)
		if err := checkDomain(h); err != nil {
			d.errorf(item.Line, field, "%q: %v", raw, err)
			continue
		}
		if line, dup := first[h]; dup {
			d.errorf(item.Line, field, "%q is given twice (first at line %d)", h, line)
			continue
		}
		first[h] = item.Line
		out = append(out, h)
	}
	return out
}

// networks decodes the networks list; a repeated one is an error.
func (d *decoder) networks(n *yaml.Node) []string {
	items := d.seq(n, "networks")
	if len(items) == 0 && n.Kind == yaml.SequenceNode || isNull(n) {
		d.errorf(n.Line, "networks", "none: give at least one")
		return nil
	}
	var out []string
	first := map[string]int{}
	for j, item := range items {
		field := fmt.Sprintf("networks[%d]", j)
		s, ok := d.required(item, field)
		if !ok {
			continue
		}
		if err := checkNetwork(s); err != nil {
			d.errorf(item.Line, field, "%q: %v", s, err)
			continue
		}
		if line, dup := first[s]; dup {
			d.errorf(item.Line, field, "%q is given twice (first at line %d)", s, line)
			continue
		}
		first[s] = item.Line
		out = append(out, s)
	}
	return out
}

// targetList reads the host names of a target list (plain or Citizen Lab CSV). IP
// targets are returned as skipped; a host name that appears twice is taken once. Bad
// lines are reported as "LIST:LINE: what is wrong", the list named from the order's folder.
func (d *decoder) targetList(line int, p string) (hosts, skipped []string) {
	b, err := d.read(p)
	if err != nil {
		d.errorf(line, "target_list", "%v", err)
		return nil, nil
	}
	name := p
	if !filepath.IsAbs(p) {
		name = filepath.Join(filepath.Dir(d.file), p)
	}
	ts, err := target.Read(bytes.NewReader(b), name, nil)
	if err != nil {
		d.errs = append(d.errs, err)
		return nil, nil
	}
	seen := map[string]bool{}
	for _, t := range ts {
		switch {
		case t.IsIP():
			skipped = append(skipped, t.Raw)
		case !seen[t.Domain]:
			seen[t.Domain] = true
			hosts = append(hosts, t.Domain)
		}
	}
	if len(hosts) == 0 {
		d.errorf(line, "target_list", "%s holds no host names", name)
	}
	return hosts, skipped
}

// text is required for a string that must not be empty or blank; it is trimmed.
func (d *decoder) text(n *yaml.Node, field string) string {
	s, ok := d.required(n, field)
	if !ok {
		return ""
	}
	if s = strings.TrimSpace(s); s == "" {
		d.errorf(n.Line, field, "empty")
	}
	return s
}

// scalar returns a scalar's value; ok is false when n is null (absent) or not a scalar
// (reported).
func (d *decoder) scalar(n *yaml.Node, field string) (string, bool) {
	n = deref(n)
	if isNull(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n.Line, field, "want a string, found %s", kind(n))
		return "", false
	}
	return n.Value, true
}

// required is scalar for a value that must be given: null is reported as missing.
func (d *decoder) required(n *yaml.Node, field string) (string, bool) {
	if isNull(deref(n)) {
		d.errorf(n.Line, field, "missing")
		return "", false
	}
	return d.scalar(n, field)
}

// seq returns a sequence's items (aliases resolved); null is an empty sequence.
func (d *decoder) seq(n *yaml.Node, field string) []*yaml.Node {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, field, "want a list, found %s", kind(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		out[i] = deref(item)
	}
	return out
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// kind names a node's kind for error messages.
func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}
