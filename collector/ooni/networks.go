package ooni

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// defaultNetworks is the embedded ASN → network map for Indonesia's main ISPs.
//
//go:embed networks.yaml
var defaultNetworks []byte

// Networks names OONI's probe networks as the fleet does: ASN → network name. An ASN it
// does not list is named "AS<number>", so that what OONI calls a network (its name for
// an ASN changes over the years) never splits one network into several.
type Networks map[uint32]string

// DefaultNetworks returns the embedded map of Indonesia's main ISPs (networks.yaml). A
// test guarantees that it parses, so an error here is a build defect and panics.
func DefaultNetworks() Networks {
	n, err := ParseNetworks(defaultNetworks, "networks.yaml")
	if err != nil {
		panic("ooni: embedded networks.yaml: " + err.Error())
	}
	return n
}

// LoadNetworks reads a networks file: a YAML mapping of ASN ("AS7713" or 7713) to the
// fleet's network name.
func LoadNetworks(path string) (Networks, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseNetworks(b, path)
}

// ParseNetworks decodes a networks file called name, strictly: every key an ASN given
// once, every value a valid network name (auth.ValidNetwork). Each problem reads
// "NAME:LINE: ASN: what is wrong".
func ParseNetworks(b []byte, name string) (Networks, error) {
	f := yamlconf.NewFile(name)
	var doc networksDoc
	if !f.Decode(b, &doc) {
		if err := f.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: empty: want a mapping of ASN to network name", name)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if len(doc.problems) > 0 {
		for i := range doc.problems {
			doc.problems[i] = fmt.Errorf("%s:%w", name, doc.problems[i])
		}
		return nil, errors.Join(doc.problems...)
	}
	return doc.m, nil
}

// networksDoc decodes the mapping itself (yamlconf decodes structs and lists, not maps)
// and keeps its problems with their lines, to be reported all at once.
type networksDoc struct {
	m        Networks
	problems []error
}

func (d *networksDoc) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return errors.New("want a mapping of ASN to network name")
	}
	d.m = Networks{}
	first := map[uint32]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		asn, err := ParseASN(k.Value)
		switch {
		case err != nil:
			d.problems = append(d.problems, fmt.Errorf("%d: %s: %w", k.Line, k.Value, err))
			continue
		case first[asn] != 0:
			d.problems = append(d.problems, fmt.Errorf("%d: %s: given twice (first at line %d)", k.Line, k.Value, first[asn]))
			continue
		case v.Kind != yaml.ScalarNode || v.Tag == "!!null" || !auth.ValidNetwork(v.Value):
			d.problems = append(d.problems, fmt.Errorf("%d: %s: %q is not a network name (letters, digits, '.', '_', '-' and single inner spaces, at most %d bytes)",
				v.Line, k.Value, v.Value, auth.MaxNetworkLen))
			continue
		}
		first[asn] = k.Line
		d.m[asn] = v.Value
	}
	return nil
}

// ParseASN parses "AS7713", "as7713" or "7713".
func ParseASN(s string) (uint32, error) {
	digits := s
	if len(s) > 2 && strings.EqualFold(s[:2], "AS") {
		digits = s[2:]
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || digits == "" || digits[0] == '+' {
		return 0, fmt.Errorf("%q is not an AS number (want AS7713 or 7713)", s)
	}
	return uint32(n), nil
}

// Name returns the fleet's name of asn: the mapped one, else "AS<number>".
func (n Networks) Name(asn uint32) string {
	if name, ok := n[asn]; ok {
		return name
	}
	return "AS" + strconv.FormatUint(uint64(asn), 10)
}
