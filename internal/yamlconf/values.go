package yamlconf

import (
	"flag"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxDays bounds a duration given in days: 100 years.
const maxDays = 100 * 365

// Duration is a non-negative time.Duration written as a Go duration ("90s", "1m30s",
// "48h") or a whole number of days ("7d"), in YAML files and, as a flag.Value, on the
// command line.
type Duration struct{ time.Duration }

// ParseDuration parses a non-negative Go duration or a whole number of days followed by
// "d" (at most 100 years).
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var d time.Duration
	if n, ok := strings.CutSuffix(t, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days > maxDays {
			return 0, fmt.Errorf("%q is not a duration (want e.g. 90s, 1m, 7d)", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(t); err != nil {
			return 0, fmt.Errorf("%q is not a duration (want e.g. 90s, 1m, 7d)", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// UnmarshalYAML parses the duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseScalar(n, ParseDuration)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// Set parses the duration of a flag.
func (d *Duration) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// DurationFlag defines a Duration flag on fs, zero unless given, and returns where its
// value is kept.
func DurationFlag(fs *flag.FlagSet, name, usage string) *time.Duration {
	d := new(Duration)
	fs.Var(d, name, usage)
	return &d.Duration
}

// Prefix is an IP address prefix written as "10.77.0.0/16"; its host bits are cleared.
type Prefix struct{ netip.Prefix }

// ParsePrefix parses an address prefix and clears its host bits.
func ParsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address prefix (want e.g. 10.77.0.0/16)", s)
	}
	return p.Masked(), nil
}

// UnmarshalYAML parses the prefix.
func (p *Prefix) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseScalar(n, ParsePrefix)
	if err != nil {
		return err
	}
	p.Prefix = v
	return nil
}
