// Package engine turns one target into raw observations (DNS, TCP, TLS, HTTP) and,
// with a control vantage point, a verdict. Each step lives in its own file and records
// what it saw in the measurement, failed or not; the verdict is derived afterwards by
// package verdict. Both programs import it: the probe measures, the control helper
// observes.
package engine

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/internal/bogon"
	"github.com/pantau-dev/pantau/internal/dnsquery"
	"github.com/pantau-dev/pantau/internal/fingerprint"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// Timeouts bound each step; Target bounds a whole target and is applied where work enters.
type Timeouts struct {
	DNS    time.Duration // one DNS question, including the late-reply window
	TCP    time.Duration // one connect
	TLS    time.Duration // one handshake (connect included)
	HTTP   time.Duration // one whole fetch with its redirects
	Target time.Duration // the whole target
}

// DefaultTimeouts are the timeouts of `probe measure` without flags.
var DefaultTimeouts = Timeouts{DNS: 5 * time.Second, TCP: 10 * time.Second, TLS: 10 * time.Second, HTTP: 15 * time.Second, Target: 60 * time.Second}

// Config configures an Engine.
type Config struct {
	// SystemResolvers are the resolvers of /etc/resolv.conf (or an override); Resolvers
	// are the extra ones the operator configured, any transport.
	SystemResolvers []dnsquery.Resolver
	Resolvers       []dnsquery.Resolver
	// LateWait is how long a UDP socket stays open after the first reply to catch late or
	// duplicate replies (on-path injection). Zero disables the wait.
	LateWait time.Duration
	// WhoamiName is looked up (A) on each resolver once to learn its egress address.
	WhoamiName string
	Timeouts   Timeouts
	// BodyCap caps each HTTP body read (bytes).
	BodyCap int64
	// RootCAs verifies certificates; nil means the system pool (which honours SSL_CERT_FILE).
	RootCAs *x509.CertPool
	// LabCIDRs are declared public (testbeds).
	LabCIDRs []netip.Prefix
	// Fingerprints matched against DNS answers and HTTP responses; nil matches nothing.
	Fingerprints *fingerprint.Set
	// InnocuousSNI is the server name of the SNI swap.
	InnocuousSNI string
	// DialGuard, when set, is asked before every connect; an error refuses the address
	// (the control helper refuses private destinations with it).
	DialGuard func(netip.Addr) error
	// ASN, when set, gives the AS number of an address (0: unknown); DNS answers, the
	// probe's and the control's, are annotated with it so verdicts can use ASN overlap.
	ASN func(netip.Addr) uint32
	// Software identifies the program in each measurement.
	Software measurement.Software
	// UserAgent is sent with each HTTP request.
	UserAgent string
	// Canary is a benign host name nobody censors (A-labels), resolved and fetched over
	// plain HTTP once per Run and recorded in each of its measurements; "" runs none.
	Canary string
}

// Engine measures targets. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	bogons *bogon.Checker
	dns    *dnsquery.Client
	whoami whoami
	bufs   *sync.Pool // of *fetchBuf: a busy probe reuses a few sets of HTTP buffers
	// verified remembers the certificate chains verified lately (tls.go).
	verified verifyCache
	// canaryPort, when not 0, is the port the canary is fetched on instead of 80 (tests).
	canaryPort int
}

// step is one stage of measuring a target: it reads what earlier steps recorded in the
// run and appends its own observations. Every step honours ctx and its own timeout.
type step func(ctx context.Context, r *run)

// New returns an Engine for cfg. Zero values in cfg take their defaults.
func New(cfg Config, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	def := DefaultTimeouts
	for _, p := range []struct {
		v *time.Duration
		d time.Duration
	}{
		{&cfg.Timeouts.DNS, def.DNS}, {&cfg.Timeouts.TCP, def.TCP}, {&cfg.Timeouts.TLS, def.TLS},
		{&cfg.Timeouts.HTTP, def.HTTP}, {&cfg.Timeouts.Target, def.Target},
	} {
		if *p.v <= 0 {
			*p.v = p.d
		}
	}
	if cfg.BodyCap <= 0 {
		cfg.BodyCap = 512 << 10
	}
	if cfg.InnocuousSNI == "" {
		cfg.InnocuousSNI = "example.com"
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
	}
	b := bogon.New(cfg.LabCIDRs)
	return &Engine{
		cfg:    cfg,
		log:    log,
		bogons: b,
		bufs:   &sync.Pool{New: newFetchBuf},
		dns:    dnsquery.NewClient(dnsquery.Options{RootCAs: cfg.RootCAs, LateWait: cfg.LateWait, Bogons: b}),
	}
}
