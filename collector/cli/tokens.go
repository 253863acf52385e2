package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/config"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// recordTimeout bounds the storage calls of the token commands.
const recordTimeout = 10 * time.Second

// tokenCommand is `collector token`: the probe tokens.
func tokenCommand(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:    "token",
		Summary: "issue probe tokens and enrolment codes, signed with the collector's secret; list and revoke them",
		Commands: []*cmdline.Command{{
			Name:    "issue",
			Summary: "print a probe token (or, with --enrol, a one-time enrolment code) signed with the secret of --config (else $PANTAU_SECRET)",
			Usage:   "--probe ID --network NAME --asn N --country CC [--expires D] [--enrol --url URL] [flags]",
			Details: "With --config the token is recorded in InfluxDB (never the token itself: its id and claims) for `collector token list`. " +
				"With --enrol it prints a code valid for --expires (default 24h) and the `probe enroll` command that redeems it once.",
			Examples: []string{
				"collector token issue --config collector.yaml --probe jkt-telkomsel-01 --network Telkomsel --asn 23693 --country ID --expires 8760h",
				"collector token issue --config collector.yaml --enrol --url https://collector.example.org --probe jkt-02 --network Telkomsel --asn 23693 --country ID",
				"PANTAU_SECRET=$(cat /etc/pantau/secret) collector token issue --probe lab-01 --network Lab --asn 64512 --country ID",
			},
			Setup: func(fs *flag.FlagSet) cmdline.Runner { return tokenIssueCmd(fs, e) },
		}, {
			Name:     "list",
			Summary:  "list the tokens recorded in InfluxDB with their state: active, expired or revoked",
			Usage:    "--config FILE",
			Examples: []string{"collector token list --config /etc/pantau/collector.yaml"},
			Setup:    func(fs *flag.FlagSet) cmdline.Runner { return tokenListCmd(fs, e) },
		}, {
			Name:    "revoke",
			Summary: "revoke tokens by id (or every token of a probe with --probe), for every collector of the fleet within 30s",
			Usage:   "--config FILE [--probe] ID...",
			Args:    true,
			Examples: []string{
				"collector token revoke --config /etc/pantau/collector.yaml KRUGKIDROVUWG2ZAMJZG653OEE",
				"collector token revoke --config /etc/pantau/collector.yaml --probe sby-02",
			},
			Setup: func(fs *flag.FlagSet) cmdline.Runner { return tokenRevokeCmd(fs, e) },
		}},
		Examples: []string{
			"collector token issue --config collector.yaml --probe jkt-01 --network Telkomsel --asn 23693 --country ID",
			"collector token list --config collector.yaml",
		},
	}
}

// openConfig loads the config at path and opens its store; the function returned closes it.
func openConfig(path string, e env) (*config.Config, *store.Store, func(), error) {
	c, err := config.Load(path, e.getenv)
	if err != nil {
		return nil, nil, nil, usageError("--config: %v", err)
	}
	st, err := store.New(store.Config{URL: c.Influx.URL, Org: c.Influx.Org, Bucket: c.Influx.Bucket, Token: c.Influx.Token, Timeout: c.Influx.Timeout.Duration}, nil)
	if err != nil {
		return nil, nil, nil, usageError("--config: influx: %v", err)
	}
	return c, st, st.Close, nil
}

// tokenIssueCmd registers the flags of `collector token issue` on fs and returns the
// command, which prints a signed probe token, or an enrolment code with --enrol.
func tokenIssueCmd(fs *flag.FlagSet, e env) cmdline.Runner {
	cfgPath := fs.String("config", "", "collector config `FILE` holding the secret (else PANTAU_SECRET)")
	probe := fs.String("probe", "", "probe `ID`, e.g. jkt-telkomsel-01")
	network := fs.String("network", "", "network (ISP) `NAME` as the fleet calls it, e.g. Telkomsel: letters, digits, '.', '_', '-' and single inner spaces")
	asn := fs.Uint("asn", 0, "the network's AS `NUMBER`")
	country := fs.String("country", "", "ISO 3166 country `CODE`, e.g. ID")
	expires := yamlconf.DurationFlag(fs, "expires", "validity (`DURATION`), e.g. 365d or 8760h (default: no expiry; with --enrol the code's, default 24h)")
	enrol := fs.Bool("enrol", false, "print a one-time enrolment code and the probe enroll command instead of a token")
	url := fs.String("url", "", "the collector's public `URL`, for the printed probe enroll command (required with --enrol)")
	noRecord := fs.Bool("no-record", false, "do not record the token in InfluxDB (collector token list will not show it)")
	return func(ctx context.Context, _ []string) error {
		secret := e.getenv("PANTAU_SECRET")
		var st *store.Store
		if *cfgPath != "" {
			c, s, closeStore, err := openConfig(*cfgPath, e)
			if err != nil {
				return err
			}
			defer closeStore()
			secret, st = c.Secret, s
		}
		if secret == "" {
			return usageError("no secret: give --config or set PANTAU_SECRET")
		}
		if *asn > 1<<32-1 {
			return usageError("--asn %d: out of range", *asn)
		}
		c := auth.Claims{Probe: *probe, Network: *network, Country: *country, ASN: uint32(*asn), IssuedAt: time.Now()}
		if *enrol {
			return issueCode(e.stdout, []byte(secret), c, *expires, *url, *cfgPath)
		}
		if *url != "" {
			return usageError("--url: only with --enrol")
		}
		if *expires > 0 {
			c.ExpiresAt = c.IssuedAt.Add(*expires)
		}
		c.ID = auth.NewID()
		if err := c.Validate(); err != nil {
			return usageError("%v", err)
		}
		tok, err := auth.Issue([]byte(secret), c)
		if err != nil {
			return usageError("%v", err)
		}
		fmt.Fprintln(e.stdout, tok)
		fmt.Fprintf(e.stderr, "token id: %s (collector token revoke %s revokes it)\n", c.ID, c.ID)
		if st != nil && !*noRecord {
			rctx, cancel := context.WithTimeout(ctx, recordTimeout)
			defer cancel()
			rec := store.TokenRecord{ID: c.ID, Issued: c.IssuedAt, Expires: c.ExpiresAt, Via: "cli",
				Probe: store.Identity{Probe: c.Probe, Network: c.Network, Country: c.Country, ASN: c.ASN}}
			if err := st.RecordToken(rctx, rec); err != nil {
				fmt.Fprintf(e.stderr, "warning: token not recorded in InfluxDB (collector token list will not show it): %v\n", err)
			}
		}
		return nil
	}
}

// issueCode prints an enrolment code for c valid for ttl (default auth.DefaultCodeTTL) and
// the command that redeems it.
func issueCode(w io.Writer, secret []byte, c auth.Claims, ttl time.Duration, url, cfgPath string) error {
	if url == "" || !(strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "http://")) {
		return usageError("--url %q: want the collector's public http(s) URL with --enrol", url)
	}
	if ttl == 0 {
		ttl = auth.DefaultCodeTTL
	}
	code, en, err := auth.IssueCode(secret, c, c.IssuedAt, c.IssuedAt.Add(ttl))
	if err != nil {
		return usageError("%v", err)
	}
	revoke := "collector token revoke"
	if cfgPath != "" {
		revoke += " --config " + shellQuote(cfgPath)
	}
	fmt.Fprintf(w, "code:     %s\nexpires:  %s (single use)\ntoken id: %s (%s %s revokes it)\n\nOn the probe, run:\n\n",
		code, en.Expires.Format(time.RFC3339), en.TokenID(), revoke, en.TokenID())
	fmt.Fprintf(w, "  probe enroll --collector %s --code %s --probe %s --network %s --country %s --asn %d\n",
		shellQuote(strings.TrimRight(url, "/")), code, c.Probe, shellQuote(c.Network), c.Country, c.ASN)
	return nil
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tokenListCmd is `collector token list`: the recorded tokens and their state.
func tokenListCmd(fs *flag.FlagSet, e env) cmdline.Runner {
	cfgPath := fs.String("config", "", "collector config `FILE` (required: the secret, InfluxDB and the revoked list)")
	return func(ctx context.Context, _ []string) error {
		if *cfgPath == "" {
			return usageError("--config is required")
		}
		c, st, closeStore, err := openConfig(*cfgPath, e)
		if err != nil {
			return err
		}
		defer closeStore()
		ctx, cancel := context.WithTimeout(ctx, recordTimeout)
		defer cancel()
		recs, err := st.Tokens(ctx)
		if err != nil {
			return fmt.Errorf("reading the tokens: %w", err)
		}
		v, err := revocations(ctx, c, st)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPROBE\tNETWORK\tASN\tCOUNTRY\tISSUED\tEXPIRES\tVIA\tSTATE")
		now := time.Now()
		for _, r := range recs {
			exp, state := "never", "active"
			if !r.Expires.IsZero() {
				exp = r.Expires.Format(time.RFC3339)
			}
			switch {
			case v.IsRevoked(r.ID, r.Probe.Probe):
				state = "revoked"
			case !r.Expires.IsZero() && !now.Before(r.Expires):
				state = "expired"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Probe.Probe, r.Probe.Network, r.Probe.ASN,
				r.Probe.Country, r.Issued.Format(time.RFC3339), exp, r.Via, state)
		}
		return tw.Flush()
	}
}

// revocations is a verifier holding the config's and the stored revocation lists.
func revocations(ctx context.Context, c *config.Config, st *store.Store) (*auth.Verifier, error) {
	v, err := auth.NewVerifier([]byte(c.Secret), c.Revoked)
	if err != nil {
		return nil, err
	}
	stored, err := st.StoredRevocations(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the revocations: %w", err)
	}
	if err := v.SetStoredRevoked(stored); err != nil {
		return nil, fmt.Errorf("stored revocations: %w", err)
	}
	return v, nil
}

// tokenRevokeCmd is `collector token revoke`: store revocation entries that every
// collector reads (refreshRevoked).
func tokenRevokeCmd(fs *flag.FlagSet, e env) cmdline.Runner {
	cfgPath := fs.String("config", "", "collector config `FILE` (required: InfluxDB)")
	byProbe := fs.Bool("probe", false, "the arguments are probe IDs: revoke every token of each, now and later")
	return func(ctx context.Context, args []string) error {
		if *cfgPath == "" {
			return usageError("--config is required")
		}
		if len(args) == 0 {
			return usageError("give at least one token id (or probe id with --probe)")
		}
		kind := "id:"
		if *byProbe {
			kind = "probe:"
		}
		entries := make([]string, len(args))
		for i, a := range args {
			entries[i] = kind + a
		}
		c, st, closeStore, err := openConfig(*cfgPath, e)
		if err != nil {
			return err
		}
		defer closeStore()
		if _, err := auth.NewVerifier([]byte(c.Secret), entries); err != nil {
			return usageError("%v", err)
		}
		ctx, cancel := context.WithTimeout(ctx, recordTimeout)
		defer cancel()
		if err := st.Revoke(ctx, time.Now(), entries...); err != nil {
			return fmt.Errorf("storing the revocation: %w", err)
		}
		for _, en := range entries {
			fmt.Fprintf(e.stdout, "revoked %s (every collector refuses it within %s)\n", en, revokedRefresh)
		}
		return nil
	}
}
