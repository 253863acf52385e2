// Package config holds the probe's YAML configuration (probe.yaml): resolvers, control
// helpers, lab ranges, timeouts and limits. Decoding is strict: an unknown key or a bad
// value is an error naming the file, line and field.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pantau-dev/pantau/internal/bogon"
	"github.com/pantau-dev/pantau/internal/dnsquery"
)

// Config is the probe's configuration. Command-line flags override it.
type Config struct {
	// ResolvConf is read for the system resolvers unless SystemResolvers is set.
	ResolvConf      string   `yaml:"resolv_conf"`
	SystemResolvers []string `yaml:"system_resolvers"`
	Resolvers       []string `yaml:"resolvers"`
	Controls        []string `yaml:"controls"`
	LabCIDRs        []string `yaml:"lab_cidrs"`
	Fingerprints    []string `yaml:"fingerprints"`
	// BuiltinFingerprints switches the embedded Indonesian fingerprints (default on).
	BuiltinFingerprints *bool   `yaml:"builtin_fingerprints"`
	Whoami              *string `yaml:"whoami"`
	// ASNDB is an MMDB file (GeoLite2-ASN, DB-IP ASN Lite, IPinfo Lite) giving the AS
	// number of DNS answers, so DNS consistency can rest on ASN overlap.
	ASNDB        string `yaml:"asn_db"`
	InnocuousSNI string `yaml:"innocuous_sni"`
	Concurrency  int    `yaml:"concurrency"`
	// MemoryLimitMB is the runtime's soft memory limit (nil: the command's default; 0: none).
	MemoryLimitMB *int64   `yaml:"memory_limit_mb"`
	DNSWait       Duration `yaml:"dns_wait"`
	Agent         Agent    `yaml:"agent"`
	Timeouts      Timeouts `yaml:"timeouts"`
}

// Agent configures `probe run`, `probe once` and `probe status`.
type Agent struct {
	Collector       string   `yaml:"collector"`          // base URL; empty: measure and spool only
	Token           string   `yaml:"token"`              // or token_file, or $PANTAU_TOKEN
	TokenFile       string   `yaml:"token_file"`         //
	CollectorCA     string   `yaml:"collector_ca"`       // PEM file: pin the collector's CA
	StateDir        string   `yaml:"state_dir"`          // spool, synced schedules, state (default /var/lib/pantau)
	SchedulesDir    string   `yaml:"schedules_dir"`      // override the built-in schedules
	SpoolMaxMB      int64    `yaml:"spool_max_mb"`       // default 256
	SpoolAsideMaxMB int64    `yaml:"spool_aside_max_mb"` // spool's rejected/ + corrupt/, default spool_max_mb/4
	Heartbeat       Duration `yaml:"heartbeat"`          // default 5m
	Sync            Duration `yaml:"sync"`               // default 10m
	DrainRate       float64  `yaml:"drain_rate"`         // batches per second after an outage, default 5
	Grace           Duration `yaml:"grace"`              // default 30s
}

// Timeouts are the per-step timeouts and the per-target deadline.
type Timeouts struct {
	DNS    Duration `yaml:"dns"`
	TCP    Duration `yaml:"tcp"`
	TLS    Duration `yaml:"tls"`
	HTTP   Duration `yaml:"http"`
	Target Duration `yaml:"target"`
}

// Duration is a time.Duration written as "5s" in YAML.
type Duration struct{ time.Duration }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: bad duration %q", n.Line, s)
	}
	if v < 0 {
		return fmt.Errorf("line %d: negative duration %q", n.Line, s)
	}
	d.Duration = v
	return nil
}

// Load reads and validates a config file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and validates YAML. An empty document is the zero Config.
func Parse(b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks every field, naming the bad one.
func (c *Config) Validate() error {
	var errs []error
	for i, s := range c.SystemResolvers {
		if _, err := dnsquery.ParseResolver(s); err != nil {
			errs = append(errs, fmt.Errorf("system_resolvers[%d]: %w", i, err))
		}
	}
	for i, s := range c.Resolvers {
		if _, err := dnsquery.ParseResolver(s); err != nil {
			errs = append(errs, fmt.Errorf("resolvers[%d]: %w", i, err))
		}
	}
	for i, s := range c.Controls {
		if err := checkURL(s); err != nil {
			errs = append(errs, fmt.Errorf("controls[%d]: %w", i, err))
		}
	}
	for i, s := range c.LabCIDRs {
		if _, err := bogon.ParseCIDRs([]string{s}); err != nil {
			errs = append(errs, fmt.Errorf("lab_cidrs[%d]: %w", i, err))
		}
	}
	if c.MemoryLimitMB != nil && *c.MemoryLimitMB < 0 {
		errs = append(errs, fmt.Errorf("memory_limit_mb: %d is negative", *c.MemoryLimitMB))
	}
	if c.Agent.Collector != "" {
		if err := checkURL(c.Agent.Collector); err != nil {
			errs = append(errs, fmt.Errorf("agent.collector: %w", err))
		}
	}
	if c.Agent.SpoolMaxMB < 0 || c.Agent.DrainRate < 0 {
		errs = append(errs, fmt.Errorf("agent: spool_max_mb and drain_rate must not be negative"))
	}
	if c.Agent.SpoolAsideMaxMB < 0 {
		errs = append(errs, fmt.Errorf("agent.spool_aside_max_mb: %d is negative", c.Agent.SpoolAsideMaxMB))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency: %d is negative", c.Concurrency))
	}
	return errors.Join(errs...)
}

// checkURL accepts absolute http(s) URLs.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("control URL %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("control URL %q: want an absolute http or https URL", s)
	}
	return nil
}
