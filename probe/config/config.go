// Package config holds the probe's YAML configuration (probe.yaml): resolvers, control
// helpers, lab ranges, timeouts and limits. Decoding is strict (internal/yamlconf): an
// unknown key or a bad value is an error naming the file, line and field.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"

	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/geo"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// Config is the probe's configuration. Command-line flags override it.
type Config struct {
	// ResolvConf is read for the system resolvers unless SystemResolvers is set.
	ResolvConf      string              `yaml:"resolv_conf"`
	SystemResolvers []dnsquery.Resolver `yaml:"system_resolvers"`
	Resolvers       []dnsquery.Resolver `yaml:"resolvers"`
	Controls        []string            `yaml:"controls"`
	// ControlToken (or the file ControlTokenFile) is the credential for the control
	// helpers; the collector's token goes only to a helper on the collector's origin.
	ControlToken     string `yaml:"control_token"`
	ControlTokenFile string `yaml:"control_token_file"`
	// ControlTokenPlainHTTP sends ControlToken to plain-http helpers beyond loopback too.
	ControlTokenPlainHTTP bool `yaml:"control_token_plain_http"`

	LabCIDRs     []yamlconf.Prefix `yaml:"lab_cidrs"`
	Fingerprints []string          `yaml:"fingerprints"`
	// BuiltinFingerprints switches the embedded Indonesian fingerprints (default on).
	BuiltinFingerprints *bool   `yaml:"builtin_fingerprints"`
	Whoami              *string `yaml:"whoami"`
	// ASNDB is an MMDB file (GeoLite2-ASN, DB-IP ASN Lite, IPinfo Lite) giving the AS
	// number of DNS answers, so DNS consistency can rest on ASN overlap. Empty: the
	// first of geo.DefaultASNPaths that exists; "none": no ASN lookups (ASNDatabase).
	ASNDB        string `yaml:"asn_db"`
	InnocuousSNI string `yaml:"innocuous_sni"`
	// Canary is the benign name resolved and fetched once per run to check the network
	// itself (nil: DefaultCanary; "": none); an internationalised name is allowed.
	Canary      *string `yaml:"canary"`
	Concurrency int     `yaml:"concurrency"`
	// MemoryLimitMB is the runtime's soft memory limit (nil: the command's default; 0: none).
	MemoryLimitMB *int64            `yaml:"memory_limit_mb"`
	DNSWait       yamlconf.Duration `yaml:"dns_wait"`
	Agent         Agent             `yaml:"agent"`
	Timeouts      Timeouts          `yaml:"timeouts"`
}

// Agent configures `probe run`, `probe once` and `probe status`.
type Agent struct {
	Collector       string            `yaml:"collector"`          // base URL; empty: measure and spool only
	Token           string            `yaml:"token"`              // or token_file, or $PANTAU_TOKEN
	TokenFile       string            `yaml:"token_file"`         //
	CollectorCA     string            `yaml:"collector_ca"`       // PEM file: pin the collector's CA
	StateDir        string            `yaml:"state_dir"`          // spool, synced schedules, state (default /var/lib/pantau)
	SchedulesDir    string            `yaml:"schedules_dir"`      // override the built-in schedules
	SpoolMaxMB      int64             `yaml:"spool_max_mb"`       // default 256
	SpoolAsideMaxMB int64             `yaml:"spool_aside_max_mb"` // spool's rejected/ + corrupt/, default spool_max_mb/4
	Heartbeat       yamlconf.Duration `yaml:"heartbeat"`          // default 5m
	Sync            yamlconf.Duration `yaml:"sync"`               // default 10m
	DrainRate       float64           `yaml:"drain_rate"`         // batches per second after an outage, default 5
	Grace           yamlconf.Duration `yaml:"grace"`              // default 30s
}

// Timeouts are the per-step timeouts and the per-target deadline.
type Timeouts struct {
	DNS    yamlconf.Duration `yaml:"dns"`
	TCP    yamlconf.Duration `yaml:"tcp"`
	TLS    yamlconf.Duration `yaml:"tls"`
	HTTP   yamlconf.Duration `yaml:"http"`
	Target yamlconf.Duration `yaml:"target"`
}

// Load reads and validates a config file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, b)
}

// Parse decodes and validates the YAML of the file called name. An empty document is the
// zero Config.
func Parse(name string, b []byte) (*Config, error) {
	var c Config
	f := yamlconf.NewFile(name)
	f.Decode(b, &c)
	f.Add(c.Validate())
	if err := f.Err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks the fields that are more than their type: each problem is a
// *yamlconf.FieldError, all joined.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, yamlconf.Errorf(field, format, a...)) }
	for i, s := range c.Controls {
		if err := checkURL(s); err != nil {
			bad(fmt.Sprintf("controls[%d]", i), "%v", err)
		}
	}
	if c.MemoryLimitMB != nil && *c.MemoryLimitMB < 0 {
		bad("memory_limit_mb", "%d is negative", *c.MemoryLimitMB)
	}
	if c.Agent.Collector != "" {
		if err := checkURL(c.Agent.Collector); err != nil {
			bad("agent.collector", "%v", err)
		}
	}
	if c.Agent.SpoolMaxMB < 0 {
		bad("agent.spool_max_mb", "%d is negative", c.Agent.SpoolMaxMB)
	}
	if c.Agent.SpoolAsideMaxMB < 0 {
		bad("agent.spool_aside_max_mb", "%d is negative", c.Agent.SpoolAsideMaxMB)
	}
	if c.Agent.DrainRate < 0 {
		bad("agent.drain_rate", "%g is negative", c.Agent.DrainRate)
	}
	if c.Concurrency < 0 {
		bad("concurrency", "%d is negative", c.Concurrency)
	}
	if c.Canary != nil && *c.Canary != "" {
		if _, err := ParseCanary(*c.Canary); err != nil {
			bad("canary", "%v", err)
		}
	}
	return errors.Join(errs...)
}

// ASNDatabase returns the ASN database to open: asn_db when set, else the first of
// geo.DefaultASNPaths that exists; "" when there is none or asn_db is "none".
func (c *Config) ASNDatabase() string {
	switch c.ASNDB {
	case "none":
		return ""
	case "":
		return geo.FindFile(geo.DefaultASNPaths())
	}
	return c.ASNDB
}

// DefaultCanary is the canary of a probe whose configuration names none.
const DefaultCanary = "example.org"

// CanaryName returns the canary to run, in A-labels: DefaultCanary when none is
// configured, "" when it is switched off. The config must have been validated.
func (c *Config) CanaryName() string {
	if c.Canary == nil {
		return DefaultCanary
	}
	if *c.Canary == "" {
		return ""
	}
	h, _ := ParseCanary(*c.Canary)
	return h
}

// ParseCanary returns the lookup form (A-labels) of a canary name, which must be a host
// name; the error says what is wrong with it.
func ParseCanary(s string) (string, error) {
	h, err := target.Host(s)
	if err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return "", fmt.Errorf("%q is an IP address; want a host name, resolved like a target's", s)
	}
	return h, nil
}

// checkURL accepts absolute http(s) URLs.
func checkURL(s string) error {
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http or https URL", s)
	}
	return nil
}
