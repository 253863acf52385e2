// Package config holds the collector's YAML configuration (collector.yaml). Decoding is
// strict; secrets may come from the environment instead of the file: PANTAU_SECRET (the
// token-signing key), PANTAU_ADMIN_TOKEN and PANTAU_INFLUX_TOKEN.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the collector's configuration. Keys are documented in docs/collector-config.md.
type Config struct {
	Listen string `yaml:"listen"`
	TLS    struct {
		Cert string `yaml:"cert"`
		Key  string `yaml:"key"`
	} `yaml:"tls"`
	Secret     string   `yaml:"secret"`
	AdminToken string   `yaml:"admin_token"`
	Revoked    []string `yaml:"revoked"`
	Influx     Influx   `yaml:"influx"`
	Limits     Limits   `yaml:"limits"`
	GeoIP      string   `yaml:"geoip_mmdb"`
	Control    Control  `yaml:"control"`
	// SchedulesDir is served to probes at /api/v1/schedules.
	SchedulesDir string `yaml:"schedules_dir"`
}

// Influx says where measurements are stored. InfluxDB 2.x/3/Cloud: url, org, bucket,
// token. InfluxDB 1.8+: org empty, bucket "db/rp", token "user:password" (or empty).
type Influx struct {
	URL     string   `yaml:"url"`
	Org     string   `yaml:"org"`
	Bucket  string   `yaml:"bucket"`
	Token   string   `yaml:"token"`
	Timeout Duration `yaml:"timeout"`
}

// Limits bound what one request and one probe may send.
type Limits struct {
	BodyBytes    int64    `yaml:"body_bytes"`    // compressed and uncompressed request body cap
	BatchItems   int      `yaml:"batch_items"`   // measurements per request
	ProbeRate    float64  `yaml:"probe_rate"`    // requests per second per probe
	ProbeBurst   int      `yaml:"probe_burst"`   // burst per probe
	QueryLimit   int      `yaml:"query_limit"`   // rows per query page
	MaxInFlight  int      `yaml:"max_in_flight"` // concurrent ingest writes
	ControlConns int      `yaml:"control_conns"` // concurrent control observations
	CacheTTL     Duration `yaml:"control_cache"` // control cache lifetime
}

// Control configures the control helper mounted at /api/v1/control.
type Control struct {
	Enabled         bool     `yaml:"enabled"`
	LabCIDRs        []string `yaml:"lab_cidrs"`
	SystemResolvers []string `yaml:"system_resolvers"`
}

// Duration is a time.Duration written as "5s".
type Duration struct{ time.Duration }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: bad duration %q", n.Line, s)
	}
	d.Duration = v
	return nil
}

// Load reads path, applies environment secrets and defaults, and validates.
func Load(path string, getenv func(string) string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b, getenv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes YAML (strictly), applies environment secrets and defaults, and validates.
func Parse(b []byte, getenv func(string) string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, e := range []struct {
		name string
		dst  *string
	}{{"PANTAU_SECRET", &c.Secret}, {"PANTAU_ADMIN_TOKEN", &c.AdminToken}, {"PANTAU_INFLUX_TOKEN", &c.Influx.Token}} {
		if v := getenv(e.name); v != "" {
			*e.dst = v
		}
	}
	c.defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) defaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.Influx.Timeout.Duration == 0 {
		c.Influx.Timeout.Duration = 10 * time.Second
	}
	l := &c.Limits
	for _, p := range []struct {
		v *int
		d int
	}{{&l.BatchItems, 1000}, {&l.ProbeBurst, 20}, {&l.QueryLimit, 1000}, {&l.MaxInFlight, 64}, {&l.ControlConns, 16}} {
		if *p.v == 0 {
			*p.v = p.d
		}
	}
	if l.BodyBytes == 0 {
		l.BodyBytes = 16 << 20
	}
	if l.ProbeRate == 0 {
		l.ProbeRate = 5
	}
	if l.CacheTTL.Duration == 0 {
		l.CacheTTL.Duration = time.Minute
	}
}

// Validate checks every field and names the bad ones.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		bad("tls: give both cert and key, or neither")
	}
	if len(c.Secret) < 32 {
		bad("secret: must be at least 32 bytes (set it in the file or PANTAU_SECRET)")
	}
	if u, err := url.Parse(c.Influx.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("influx.url: %q is not an http(s) URL", c.Influx.URL)
	}
	if c.Influx.Bucket == "" {
		bad("influx.bucket: required (InfluxDB 1.8: \"db/rp\")")
	}
	l := c.Limits
	if l.BodyBytes < 1024 || l.BatchItems < 1 || l.ProbeRate < 0 || l.ProbeBurst < 1 || l.QueryLimit < 1 || l.MaxInFlight < 1 || l.ControlConns < 1 {
		bad("limits: every limit must be positive (body_bytes at least 1024)")
	}
	for i, s := range c.Control.LabCIDRs {
		if _, err := netip.ParsePrefix(s); err != nil {
			bad("control.lab_cidrs[%d]: %q is not a CIDR", i, s)
		}
	}
	for i, r := range c.Revoked {
		if strings.TrimSpace(r) == "" {
			bad("revoked[%d]: empty entry", i)
		}
	}
	return errors.Join(errs...)
}
