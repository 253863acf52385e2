package cli

import (
	"flag"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/fingerprint"
	"github.com/pantau-dev/pantau/internal/geo"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/yamlconf"
	"github.com/pantau-dev/pantau/probe/config"
)

// engineFlags are the flags that configure the engine, shared by measure and helper.
// A flag given on the command line overrides the config file's key.
type engineFlags struct {
	configPath      string
	resolvConf      string
	systemResolvers listFlag
	resolvers       listFlag
	labCIDRs        listFlag
	fingerprints    listFlag
	noBuiltinFP     bool
	whoami          string
	asnDB           string
	innocuousSNI    string
	canary          *string // nil: not given
	dnsWait         time.Duration
	t               engine.Timeouts
	logLevel        string
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.configPath, "config", "", "YAML config `FILE` (keys in docs/probe-config.md)")
	fs.StringVar(&f.resolvConf, "resolv-conf", "", "`FILE` to read the system resolvers from (default /etc/resolv.conf)")
	fs.Var(&f.systemResolvers, "system-resolver", "use this `RESOLVER` as the system resolver instead of resolv.conf (repeatable)")
	fs.Var(&f.resolvers, "resolver", "also query this `RESOLVER`: IP[:PORT], udp://, tcp://, tls:// (DoT) or https:// (DoH) (repeatable)")
	fs.Var(&f.labCIDRs, "lab-cidr", "declare this reserved range (`CIDR`) public, for testbeds (repeatable; config key lab_cidrs)")
	fs.Var(&f.fingerprints, "fingerprints", "OONI blocking-fingerprints CSV `FILE` to match (repeatable)")
	fs.BoolVar(&f.noBuiltinFP, "no-builtin-fingerprints", false, "do not match the built-in Indonesian fingerprints")
	fs.StringVar(&f.whoami, "whoami", "", "`NAME` looked up to learn each resolver's egress address (default whoami.akamai.net; \"-\" disables)")
	fs.StringVar(&f.asnDB, "asn-db", "", "MMDB `FILE` (GeoLite2-ASN, DB-IP ASN Lite or IPinfo Lite) to look up the ASN of DNS answers (default /var/lib/pantau/asn.mmdb, else /usr/share/GeoIP/GeoLite2-ASN.mmdb, when present; \"none\" for none)")
	fs.StringVar(&f.innocuousSNI, "innocuous-sni", "", "server `NAME` of the SNI swap (default example.com)")
	fs.Func("canary", "benign `NAME` that each run (measure, run, once) resolves and fetches (http://NAME/) to check the network itself, e.g. for a captive portal (default example.org; \"\" for none)", func(s string) error {
		if s != "" {
			if _, err := config.ParseCanary(s); err != nil {
				return err
			}
		}
		f.canary = &s
		return nil
	})
	fs.DurationVar(&f.dnsWait, "dns-wait", -1, "keep UDP sockets open this long after the first reply to catch injected replies (default 1s; probe helper: 0)")
	fs.DurationVar(&f.t.Target, "timeout", 0, "deadline for one whole target (default 60s)")
	fs.DurationVar(&f.t.DNS, "dns-timeout", 0, "timeout of one DNS question (default 5s)")
	fs.DurationVar(&f.t.TCP, "tcp-timeout", 0, "timeout of one connect (default 10s)")
	fs.DurationVar(&f.t.TLS, "tls-timeout", 0, "timeout of one TLS handshake (default 10s)")
	fs.DurationVar(&f.t.HTTP, "http-timeout", 0, "timeout of one fetch with its redirects (default 15s)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "`LEVEL` of the logs on stderr: debug, info, warn or error")
}

// load reads the config file (if any) and lays the flags over it. dnsWait is the
// late-reply window when neither says.
func (f *engineFlags) load(dnsWait time.Duration) (*config.Config, error) {
	c := &config.Config{}
	if f.configPath != "" {
		var err error
		if c, err = config.Load(f.configPath); err != nil {
			return nil, usageError("--config: %v", err)
		}
	}
	if err := f.overrideLists(c); err != nil {
		return nil, err
	}
	if f.resolvConf != "" {
		c.ResolvConf = f.resolvConf
	}
	if f.noBuiltinFP {
		off := false
		c.BuiltinFingerprints = &off
	}
	if f.whoami != "" {
		c.Whoami = &f.whoami
	}
	if f.innocuousSNI != "" {
		c.InnocuousSNI = f.innocuousSNI
	}
	if f.canary != nil {
		c.Canary = f.canary
	}
	if f.asnDB != "" {
		c.ASNDB = f.asnDB
	}
	if f.dnsWait >= 0 {
		c.DNSWait.Duration = f.dnsWait
	} else if c.DNSWait.Duration == 0 {
		c.DNSWait.Duration = dnsWait
	}
	for _, p := range []struct {
		flag time.Duration
		dst  *time.Duration
	}{{f.t.DNS, &c.Timeouts.DNS.Duration}, {f.t.TCP, &c.Timeouts.TCP.Duration}, {f.t.TLS, &c.Timeouts.TLS.Duration},
		{f.t.HTTP, &c.Timeouts.HTTP.Duration}, {f.t.Target, &c.Timeouts.Target.Duration}} {
		if p.flag < 0 {
			return nil, usageError("negative timeout %s", p.flag)
		}
		if p.flag > 0 {
			*p.dst = p.flag
		}
	}
	if err := c.Validate(); err != nil {
		return nil, usageError("%v", err)
	}
	return c, nil
}

// overrideLists parses the list flags given and lays them over the config's lists.
func (f *engineFlags) overrideLists(c *config.Config) error {
	var err error
	if len(f.systemResolvers) > 0 {
		if c.SystemResolvers, err = parseList(f.systemResolvers, dnsquery.ParseResolver); err != nil {
			return usageError("--system-resolver: %v", err)
		}
	}
	if len(f.resolvers) > 0 {
		if c.Resolvers, err = parseList(f.resolvers, dnsquery.ParseResolver); err != nil {
			return usageError("--resolver: %v", err)
		}
	}
	if len(f.labCIDRs) > 0 {
		parse := func(s string) (yamlconf.Prefix, error) {
			p, err := yamlconf.ParsePrefix(s)
			return yamlconf.Prefix{Prefix: p}, err
		}
		if c.LabCIDRs, err = parseList(f.labCIDRs, parse); err != nil {
			return usageError("--lab-cidr: %v", err)
		}
	}
	if len(f.fingerprints) > 0 {
		c.Fingerprints = f.fingerprints
	}
	return nil
}

// parseList parses each of ss.
func parseList[T any](ss []string, parse func(string) (T, error)) ([]T, error) {
	out := make([]T, len(ss))
	for i, s := range ss {
		var err error
		if out[i], err = parse(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// engineConfig turns a validated config into the engine's.
func engineConfig(c *config.Config, name string) (engine.Config, error) {
	ec := engine.Config{
		LateWait:     c.DNSWait.Duration,
		WhoamiName:   "whoami.akamai.net",
		InnocuousSNI: c.InnocuousSNI,
		Canary:       c.CanaryName(),
		Software:     measurement.Software{Name: name, Version: cmdline.Version},
		Timeouts: engine.Timeouts{DNS: c.Timeouts.DNS.Duration, TCP: c.Timeouts.TCP.Duration, TLS: c.Timeouts.TLS.Duration,
			HTTP: c.Timeouts.HTTP.Duration, Target: c.Timeouts.Target.Duration},
	}
	if c.Whoami != nil {
		ec.WhoamiName = *c.Whoami
		if ec.WhoamiName == "-" {
			ec.WhoamiName = ""
		}
	}
	var err error
	if len(c.SystemResolvers) > 0 {
		for _, r := range c.SystemResolvers {
			r.System = true
			ec.SystemResolvers = append(ec.SystemResolvers, r)
		}
	} else {
		path := c.ResolvConf
		if path == "" {
			path = "/etc/resolv.conf"
		}
		if ec.SystemResolvers, err = dnsquery.SystemResolvers(path); err != nil {
			return ec, usageError("system resolvers: %v (give --system-resolver)", err)
		}
	}
	ec.Resolvers = c.Resolvers
	for _, p := range c.LabCIDRs {
		ec.LabCIDRs = append(ec.LabCIDRs, p.Prefix)
	}
	var sets [][]fingerprint.Fingerprint
	if c.BuiltinFingerprints == nil || *c.BuiltinFingerprints {
		sets = append(sets, fingerprint.Builtin())
	}
	for _, p := range c.Fingerprints {
		fps, err := fingerprint.LoadFile(p)
		if err != nil {
			return ec, usageError("--fingerprints: %v", err)
		}
		sets = append(sets, fps)
	}
	ec.Fingerprints = fingerprint.NewSet(sets...)
	if path := c.ASNDatabase(); path != "" {
		db, err := geo.Open(path)
		if err != nil {
			return ec, usageError("--asn-db: %v", err)
		}
		ec.ASN = func(a netip.Addr) uint32 {
			info, err := db.Lookup(a)
			if err != nil {
				return 0
			}
			return info.ASN
		}
	}
	return ec, nil
}

// newLogger builds the logger of --log-level.
func (f *engineFlags) newLogger(w io.Writer) (*slog.Logger, error) {
	return cmdline.NewLogger(w, f.logLevel)
}
