package yamlnode

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a non-negative time.Duration written in YAML as a Go duration ("90s",
// "1m30s") or a whole number of days ("7d").
type Duration struct{ time.Duration }

// ParseDuration parses a non-negative Go duration or a whole number of days followed by
// "d" (at most 100 years).
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d < 0 || d > 100*365 {
			return 0, fmt.Errorf("%q is not a duration (want e.g. 90s, 1m, 7d)", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (want e.g. 90s, 1m, 7d)", s)
	}
	return d, nil
}

// UnmarshalYAML parses a duration; a bad one is a *yaml.TypeError naming the line, so
// that the decoder reports it beside the file's other problems.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (want e.g. 90s, 1m, 7d)", n.Line, n.Value)}}
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
