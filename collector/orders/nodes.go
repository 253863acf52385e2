package orders

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/internal/yamlnode"

	"github.com/pantau-dev/pantau/internal/target"
)

// domains decodes the domains list: each one checked and normalised (lower case, no
// trailing dot); a repeated one is an error.
func (d *decoder) domains(n *yaml.Node) []string {
	items := d.Seq(n, "domains")
	if len(items) == 0 && n.Kind == yaml.SequenceNode || yamlnode.IsNull(n) {
		d.Errorf(n.Line, "domains", "none: give at least one")
		return nil
	}
	var out []string
	first := map[string]int{}
	for j, item := range items {
		field := fmt.Sprintf("domains[%d]", j)
		raw, ok := d.Required(item, field)
		if !ok {
			continue
		}
		h := normalDomain(raw)
		if err := checkDomain(h); err != nil {
			d.Errorf(item.Line, field, "%q: %v", raw, err)
			continue
		}
		if line, dup := first[h]; dup {
			d.Errorf(item.Line, field, "%q is given twice (first at line %d)", h, line)
			continue
		}
		first[h] = item.Line
		out = append(out, h)
	}
	return out
}

// networks decodes the networks list; a repeated one is an error.
func (d *decoder) networks(n *yaml.Node) []string {
	items := d.Seq(n, "networks")
	if len(items) == 0 && n.Kind == yaml.SequenceNode || yamlnode.IsNull(n) {
		d.Errorf(n.Line, "networks", "none: give at least one")
		return nil
	}
	var out []string
	first := map[string]int{}
	for j, item := range items {
		field := fmt.Sprintf("networks[%d]", j)
		s, ok := d.Required(item, field)
		if !ok {
			continue
		}
		if err := checkNetwork(s); err != nil {
			d.Errorf(item.Line, field, "%q: %v", s, err)
			continue
		}
		if line, dup := first[s]; dup {
			d.Errorf(item.Line, field, "%q is given twice (first at line %d)", s, line)
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
		d.Errorf(line, "target_list", "%v", err)
		return nil, nil
	}
	name := p
	if !filepath.IsAbs(p) {
		name = filepath.Join(filepath.Dir(d.File), p)
	}
	ts, err := target.Read(bytes.NewReader(b), name, nil)
	if err != nil {
		d.Errs = append(d.Errs, err)
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
		d.Errorf(line, "target_list", "%s holds no host names", name)
	}
	return hosts, skipped
}

// text is required for a string that must not be empty or blank; it is trimmed.
func (d *decoder) text(n *yaml.Node, field string) string {
	s, ok := d.Required(n, field)
	if !ok {
		return ""
	}
	if s = strings.TrimSpace(s); s == "" {
		d.Errorf(n.Line, field, "empty")
	}
	return s
}
