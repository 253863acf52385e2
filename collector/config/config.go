// Package config holds the collector's YAML configuration (collector.yaml). Decoding is
// strict (internal/yamlconf); secrets may come from the environment instead of the file: PANTAU_SECRET (the
// token-signing key), PANTAU_ADMIN_TOKEN and PANTAU_INFLUX_TOKEN. Keys, defaults and an
// example: docs/collector-config.md.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/fleet"
	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/sign"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// Environment variables that override the file's secrets when set and not empty.
const (
	EnvSecret      = "PANTAU_SECRET"
	EnvAdminToken  = "PANTAU_ADMIN_TOKEN"
	EnvInfluxToken = "PANTAU_INFLUX_TOKEN"
)

// MinAdminToken is the shortest admin token accepted: the dashboard's login form can be
// tried by anyone (within the read rate limit).
const MinAdminToken = 16

// Config is the collector's configuration.
type Config struct {
	Listen string `yaml:"listen"`
	TLS    struct {
		Cert string `yaml:"cert"`
		Key  string `yaml:"key"`
	} `yaml:"tls"`
	// TrustProxy takes the source address from the last X-Forwarded-For entry: set it
	// only behind a reverse proxy that appends one.
	TrustProxy bool     `yaml:"trust_proxy"`
	Secret     string   `yaml:"secret"`
	AdminToken string   `yaml:"admin_token"`
	Revoked    []string `yaml:"revoked"`
	Influx     Influx   `yaml:"influx"`
	Limits     Limits   `yaml:"limits"`
	// HTTP bounds how long a client may hold a connection and how many one address may
	// hold at once.
	HTTP    HTTP    `yaml:"http"`
	GeoIP   string  `yaml:"geoip_mmdb"`
	Control Control `yaml:"control"`
	// SchedulesDir is served to probes at /api/v1/schedules; empty serves none.
	SchedulesDir string `yaml:"schedules_dir"`
	// OrdersDir holds the legal orders to verify (docs/orders.md), beside the bundled seed
	// orders; orders uploaded through the admin API are written there. Empty: seeds only,
	// and uploads are refused.
	OrdersDir string   `yaml:"orders_dir"`
	Timeline  Timeline `yaml:"timeline"`
	// Alerts posts webhooks on confirmed transitions and compliance changes
	// (docs/alerts.md); no webhooks: off.
	Alerts alert.Config `yaml:"alerts"`
	// Probes: who may see the probe list and when a probe is late or silent
	// (docs/operations.md, Probe states).
	Probes fleet.Config `yaml:"probes"`
	// Replicas tunes how collector replicas sharing one bucket see each other's writes and
	// orders (docs/scaling.md, Scale-out).
	Replicas Replicas `yaml:"replicas"`
	// Signing signs evidence bundles and compliance reports (docs/evidence.md).
	Signing Signing `yaml:"signing"`
	// Web configures the dashboard (docs/dashboard.md).
	Web Web `yaml:"web"`
}

// Web configures the dashboard.
type Web struct {
	// EmbedFrameAncestors may frame the dashboard's embed view (/embed): origins such as
	// https://news.example, or 'self'. Empty: no site may frame it.
	EmbedFrameAncestors []string `yaml:"embed_frame_ancestors"`
}

// validate checks that each frame ancestor is an origin or 'self'.
func (w Web) validate(bad func(field, format string, a ...any)) {
	for i, a := range w.EmbedFrameAncestors {
		if a == "'self'" {
			continue
		}
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(a, " ;,'*") {
			bad(fmt.Sprintf("web.embed_frame_ancestors[%d]", i), "%q is not an origin (https://host or https://host:port) or 'self'", a)
		}
	}
}

// Signing holds the evidence signing key.
type Signing struct {
	// KeyFile is an Ed25519 private key: PEM PKCS#8 (`collector evidence keygen`) or a
	// 32-byte seed, raw or hex. Empty: evidence and compliance reports are unsigned.
	KeyFile string `yaml:"key_file"`
}

// Replicas tunes the report cache and the orders for several collectors on one bucket.
type Replicas struct {
	// CacheFresh: how long a day that is not settled is reused (default 30s).
	CacheFresh yamlconf.Duration `yaml:"cache_fresh"`
	// Revalidate: how often, at most, a settled day's ingest marks are read (default 10s).
	Revalidate yamlconf.Duration `yaml:"revalidate"`
	// OrdersReload: how often orders_dir is read again, for orders uploaded through
	// another replica sharing the folder (default 10s).
	OrdersReload yamlconf.Duration `yaml:"orders_reload"`
	// LookupReuse: how long ingest reuses a look-up of what a probe stored before asking
	// InfluxDB again (default 10s; 0: never). Another replica's write for the probe is
	// not seen within it (docs/storage.md, Immutable measurements).
	LookupReuse yamlconf.Duration `yaml:"lookup_reuse"`
}

// Known is LookupReuse as store.Config.Known takes it: negative for never.
func (r Replicas) Known() time.Duration {
	if r.LookupReuse.Duration == 0 {
		return -1
	}
	return r.LookupReuse.Duration
}

// Timeline tunes how states are confirmed (docs/timeline.md).
type Timeline struct {
	K          int               `yaml:"k"`           // consecutive agreeing measurements
	M          int               `yaml:"m"`           // from at least this many probes
	MaxSilence yamlconf.Duration `yaml:"max_silence"` // longer without data is a gap
}

// HTTP configures the collector's HTTP server: deadlines on every connection, so that a
// client that sends slowly (or not at all) cannot hold one for ever, and a cap on the
// connections one client address holds at once.
type HTTP struct {
	ReadHeaderTimeout yamlconf.Duration `yaml:"read_header_timeout"` // to read a request's headers
	ReadTimeout       yamlconf.Duration `yaml:"read_timeout"`        // to read a whole request, body included
	// WriteTimeout runs from the end of a request's headers to the end of its answer:
	// reading the body, the handler's work and writing the answer.
	WriteTimeout yamlconf.Duration `yaml:"write_timeout"`
	IdleTimeout  yamlconf.Duration `yaml:"idle_timeout"` // a kept-alive connection between requests
	// ConnsPerAddr caps the open connections of one client address (IPv6: per /64);
	// further ones are closed as soon as they are accepted. 0: no cap.
	ConnsPerAddr int `yaml:"conns_per_addr"`
}

// Influx says where measurements are stored. InfluxDB 2.x/3/Cloud: url, org, bucket,
// token. InfluxDB 1.8+: org empty, bucket "db/rp", token "user:password" (or empty).
type Influx struct {
	URL     string            `yaml:"url"`
	Org     string            `yaml:"org"`
	Bucket  string            `yaml:"bucket"`
	Token   string            `yaml:"token"`
	Timeout yamlconf.Duration `yaml:"timeout"`
}

// Limits bound what one request and one probe may send.
type Limits struct {
	BodyBytes    int64             `yaml:"body_bytes"`    // compressed and uncompressed request body cap
	BatchItems   int               `yaml:"batch_items"`   // measurements per request
	ProbeRate    float64           `yaml:"probe_rate"`    // requests per second per probe; 0: no limit
	ProbeBurst   int               `yaml:"probe_burst"`   // burst per probe
	QueryLimit   int               `yaml:"query_limit"`   // rows per query page
	MaxInFlight  int               `yaml:"max_in_flight"` // concurrent ingest writes
	ControlConns int               `yaml:"control_conns"` // concurrent control observations
	CacheTTL     yamlconf.Duration `yaml:"control_cache"` // control cache lifetime
	ReadRate     float64           `yaml:"read_rate"`     // public reads per second per client address; 0: no limit
	ReadBurst    int               `yaml:"read_burst"`    // burst per client address
	// ReportCache bounds the observations and heartbeats the report cache holds (about
	// 150 bytes each); -1 disables the cache.
	ReportCache int `yaml:"report_cache_items"`
	// NewDomainsPerHour and NewSchedulesPerHour cap the domains (measurements) and schedule
	// names (heartbeats) each probe may bring for the first time in an hour: each is new
	// series in InfluxDB (auth.SeriesCap). 0: no cap.
	NewDomainsPerHour   int `yaml:"new_domains_per_hour"`
	NewSchedulesPerHour int `yaml:"new_schedules_per_hour"`
	// BackdateSlack: a measurement that started more than this before its probe's token
	// was issued is refused (docs/auth.md, Backdating).
	BackdateSlack yamlconf.Duration `yaml:"backdate_slack"`
}

// Control configures the control helper mounted at /api/v1/control.
type Control struct {
	Enabled         bool                `yaml:"enabled"`
	LabCIDRs        []yamlconf.Prefix   `yaml:"lab_cidrs"`
	SystemResolvers []dnsquery.Resolver `yaml:"system_resolvers"`
}

// Default returns the configuration with every default and nothing else.
func Default() *Config {
	c := &Config{Listen: "127.0.0.1:8080"}
	c.HTTP = HTTP{ReadHeaderTimeout: yamlconf.Duration{Duration: 10 * time.Second}, ReadTimeout: yamlconf.Duration{Duration: time.Minute},
		WriteTimeout: yamlconf.Duration{Duration: 2 * time.Minute}, IdleTimeout: yamlconf.Duration{Duration: 2 * time.Minute}, ConnsPerAddr: 64}
	c.Influx.Timeout.Duration = store.DefaultTimeout
	c.Limits = Limits{BodyBytes: 16 << 20, BatchItems: 1000, ProbeRate: 5, ProbeBurst: 20, QueryLimit: store.MaxLimit,
		MaxInFlight: 64, ControlConns: 16, CacheTTL: yamlconf.Duration{Duration: time.Minute}, ReadRate: 5, ReadBurst: 50,
		ReportCache: report.DefaultCacheItems, NewDomainsPerHour: auth.DefaultNewDomainsPerHour, NewSchedulesPerHour: auth.DefaultNewSchedulesPerHour}
	c.Limits.BackdateSlack.Duration = auth.DefaultBackdateSlack
	c.Replicas = Replicas{CacheFresh: yamlconf.Duration{Duration: report.DefaultCacheFresh},
		Revalidate: yamlconf.Duration{Duration: report.DefaultRevalidate}, OrdersReload: yamlconf.Duration{Duration: 10 * time.Second},
		LookupReuse: yamlconf.Duration{Duration: store.DefaultKnown}}
	p := timeline.DefaultParams()
	c.Timeline = Timeline{K: p.K, M: p.M, MaxSilence: yamlconf.Duration{Duration: p.MaxSilence}}
	return c
}

// Load reads path, applies environment secrets and defaults, and validates.
func Load(path string, getenv func(string) string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, b, getenv)
}

// Parse decodes the YAML of the file called name strictly over the defaults (a key given
// as 0 stays 0), applies the environment's secrets (getenv nil: os.Getenv) and
// validates.
func Parse(name string, b []byte, getenv func(string) string) (*Config, error) {
	c := Default()
	f := yamlconf.NewFile(name)
	f.Decode(b, c)
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, e := range []struct {
		name string
		dst  *string
	}{{EnvSecret, &c.Secret}, {EnvAdminToken, &c.AdminToken}, {EnvInfluxToken, &c.Influx.Token}} {
		if v := getenv(e.name); v != "" {
			*e.dst = v
		}
	}
	f.Add(c.Validate())
	if err := f.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks the fields that are more than their type: each problem is a
// *yamlconf.FieldError naming the field, all joined.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, yamlconf.Errorf(field, format, a...)) }
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		bad("listen", "%q is not HOST:PORT (e.g. 127.0.0.1:8080, :443)", c.Listen)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		bad("tls", "give both cert and key, or neither")
	}
	if len(c.Secret) < auth.MinSecretLen {
		bad("secret", "must be at least %d bytes, got %d (set it in the file or %s)", auth.MinSecretLen, len(c.Secret), EnvSecret)
	} else if _, err := auth.NewVerifier([]byte(c.Secret), c.Revoked); err != nil {
		errs = append(errs, err) // names the bad revoked entry
	}
	if c.AdminToken != "" && len(c.AdminToken) < MinAdminToken {
		bad("admin_token", "must be at least %d bytes, got %d (or leave it empty to disable the admin endpoints)", MinAdminToken, len(c.AdminToken))
	}
	if u, err := url.Parse(c.Influx.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("influx.url", "%q is not an http(s) URL", c.Influx.URL)
	}
	if c.Influx.Bucket == "" {
		bad("influx.bucket", "required (InfluxDB 1.8: \"db/rp\")")
	}
	if c.Influx.Timeout.Duration <= 0 {
		bad("influx.timeout", "must be positive")
	}
	if c.Timeline.K < 1 {
		bad("timeline.k", "%d is less than 1", c.Timeline.K)
	}
	if c.Timeline.M < 1 {
		bad("timeline.m", "%d is less than 1", c.Timeline.M)
	}
	if c.Timeline.MaxSilence.Duration < time.Minute {
		bad("timeline.max_silence", "%s is less than 1m", c.Timeline.MaxSilence.Duration)
	}
	c.Limits.validate(bad)
	c.HTTP.validate(bad)
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"cache_fresh", c.Replicas.CacheFresh.Duration}, {"revalidate", c.Replicas.Revalidate.Duration}, {"orders_reload", c.Replicas.OrdersReload.Duration}} {
		if d.v < 100*time.Millisecond {
			bad("replicas."+d.name, "%s is less than 100ms", d.v)
		}
	}
	if c.Signing.KeyFile != "" {
		if _, err := sign.LoadKey(c.Signing.KeyFile); err != nil {
			bad("signing.key_file", "%v", err)
		}
	}
	c.Web.validate(bad)
	return errors.Join(append(errs, c.Alerts.Validate(), c.Probes.Validate())...)
}

// validate checks the server's deadlines and connection cap.
func (h HTTP) validate(bad func(field, format string, a ...any)) {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"read_header_timeout", h.ReadHeaderTimeout.Duration}, {"read_timeout", h.ReadTimeout.Duration},
		{"write_timeout", h.WriteTimeout.Duration}, {"idle_timeout", h.IdleTimeout.Duration}} {
		if d.v <= 0 {
			bad("http."+d.name, "must be positive (a connection without a deadline can be held for ever)")
		}
	}
	if h.ReadHeaderTimeout.Duration > h.ReadTimeout.Duration {
		bad("http.read_header_timeout", "%s is longer than read_timeout %s", h.ReadHeaderTimeout.Duration, h.ReadTimeout.Duration)
	}
	// The write deadline runs from the end of the headers: shorter than read_timeout, a
	// body still arriving in time could not be answered.
	if h.WriteTimeout.Duration < h.ReadTimeout.Duration {
		bad("http.write_timeout", "%s is shorter than read_timeout %s", h.WriteTimeout.Duration, h.ReadTimeout.Duration)
	}
	if h.ConnsPerAddr < 0 {
		bad("http.conns_per_addr", "%d is negative (0 disables the cap)", h.ConnsPerAddr)
	}
}

// validate checks the limits.
func (l Limits) validate(bad func(field, format string, a ...any)) {
	for _, p := range []struct {
		name   string
		v, min int64
	}{
		{"body_bytes", l.BodyBytes, 1024}, {"batch_items", int64(l.BatchItems), 1}, {"probe_burst", int64(l.ProbeBurst), 1},
		{"query_limit", int64(l.QueryLimit), 1}, {"max_in_flight", int64(l.MaxInFlight), 1}, {"control_conns", int64(l.ControlConns), 1},
		{"read_burst", int64(l.ReadBurst), 1},
	} {
		if p.v < p.min {
			bad("limits."+p.name, "%d is less than %d", p.v, p.min)
		}
	}
	if l.QueryLimit > store.MaxLimit {
		bad("limits.query_limit", "%d is more than %d", l.QueryLimit, store.MaxLimit)
	}
	if l.ProbeRate < 0 {
		bad("limits.probe_rate", "%g is negative (0 disables the limit)", l.ProbeRate)
	}
	if l.ReportCache < -1 || l.ReportCache == 0 {
		bad("limits.report_cache_items", "%d is not -1 (no cache) or a positive number", l.ReportCache)
	}
	if l.ReadRate < 0 {
		bad("limits.read_rate", "%g is negative (0 disables the limit)", l.ReadRate)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"new_domains_per_hour", l.NewDomainsPerHour}, {"new_schedules_per_hour", l.NewSchedulesPerHour}} {
		if p.v < 0 {
			bad("limits."+p.name, "%d is negative (0 disables the cap)", p.v)
		}
	}
	if l.BackdateSlack.Duration < time.Minute {
		bad("limits.backdate_slack", "%s is less than 1m", l.BackdateSlack.Duration)
	}
}

// TimelineParams returns the timeline parameters the config sets.
func (c *Config) TimelineParams() timeline.Params {
	return timeline.Params{K: c.Timeline.K, M: c.Timeline.M, MaxSilence: c.Timeline.MaxSilence.Duration}
}
