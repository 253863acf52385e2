package cli

import (
	"flag"
	"log/slog"
	"math"
	"net/http"

	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// helperAccess are the flags of `probe helper` that decide who may use it and how much
// (docs/control.md, "Running a public helper").
type helperAccess struct {
	tokenFile string
	anonymous bool
	rate      float64
	burst     int
	proxies   listFlag
}

func (a *helperAccess) register(fs *flag.FlagSet) {
	fs.StringVar(&a.tokenFile, "token-file", "", "require one of the bearer tokens in `FILE` (one a line, at least 16 bytes; # comments)")
	fs.BoolVar(&a.anonymous, "allow-anonymous", false, "with --token-file, also serve clients without a token (rate limited, at most half the queue)")
	fs.Float64Var(&a.rate, "rate-limit", control.DefaultRate, "requests per second each anonymous client address (IPv6: /64) may make on average; 0: no limit")
	fs.IntVar(&a.burst, "rate-burst", control.DefaultBurst, "requests each anonymous client address may make at once")
	fs.Var(&a.proxies, "trusted-proxy", "believe X-Forwarded-For from this reverse proxy `CIDR` for the client address (repeatable)")
}

// apply checks the flags and sets the access options of o.
func (a *helperAccess) apply(o *control.HandlerOptions, log *slog.Logger) error {
	if a.rate < 0 || math.IsNaN(a.rate) || math.IsInf(a.rate, 0) {
		return usageError("--rate-limit %g: want a number of requests per second, 0 or more", a.rate)
	}
	if a.rate > 0 && a.burst < 1 {
		return usageError("--rate-burst %d: must be at least 1", a.burst)
	}
	if a.anonymous && a.tokenFile == "" {
		return usageError("--allow-anonymous: give --token-file (without it every client is anonymous)")
	}
	for _, s := range a.proxies {
		p, err := yamlconf.ParsePrefix(s)
		if err != nil {
			return usageError("--trusted-proxy: %v", err)
		}
		o.TrustedProxies = append(o.TrustedProxies, p)
	}
	if a.tokenFile != "" {
		toks, err := control.ReadTokens(a.tokenFile)
		if err != nil {
			return usageError("--token-file: %v", err)
		}
		o.Tokens, o.AllowAnonymous = toks, a.anonymous
	}
	o.Rate, o.Burst = a.rate, a.burst
	switch {
	case a.tokenFile != "" && !a.anonymous:
		log.Info("control helper: a token is required", "tokens", len(o.Tokens))
	case a.rate > 0:
		log.Info("control helper: anonymous clients rate limited", "per_second", a.rate, "burst", a.burst)
	default:
		log.Warn("control helper: anonymous clients without a rate limit")
	}
	return nil
}

// serveMetrics answers GET /metrics with the helper's refusal counters.
func serveMetrics(m *control.Metrics) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_ = m.WritePrometheus(w) // the client has gone if this fails
	}
}
