// Package cli is the collector's command line: `serve`, `token issue` and `query`. Exit
// codes: 0 done, 2 usage or configuration error, 1 a failure while running. The
// subcommand table, the help and the version are internal/cmdline's, shared with the
// probe.
package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/config"
	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// env is where the commands write and how they read the environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// Main runs the command in args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return cmdline.Main(ctx, program(env{stdout: stdout, stderr: stderr, getenv: getenv}), args, stdout, stderr)
}

// program is the collector's table of commands.
func program(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:     "collector",
		Summary:  "receive measurements from probes into InfluxDB and serve them back; issue probe tokens; query a running collector",
		Commands: []*cmdline.Command{serveCommand(e), tokenCommand(e), queryCommand(e)},
		Examples: []string{
			"collector serve --config /etc/pantau/collector.yaml",
			"collector query changes --url https://collector.example.org --since 7d",
		},
	}
}

// usageError is a usage error (exit 2) with the formatted message.
func usageError(format string, a ...any) error { return cmdline.Usagef(format, a...) }

// tokenCommand is `collector token`: the probe tokens.
func tokenCommand(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:    "token",
		Summary: "issue probe tokens, signed with the collector's secret",
		Commands: []*cmdline.Command{{
			Name:    "issue",
			Summary: "print a probe token signed with the secret of --config (else $PANTAU_SECRET)",
			Usage:   "--probe ID --network NAME --asn N --country CC [--expires D] [flags]",
			Examples: []string{
				"collector token issue --config collector.yaml --probe jkt-telkomsel-01 --network Telkomsel --asn 23693 --country ID --expires 8760h",
				"PANTAU_SECRET=$(cat /etc/pantau/secret) collector token issue --probe lab-01 --network Lab --asn 64512 --country ID",
			},
			Setup: func(fs *flag.FlagSet) cmdline.Runner { return tokenIssueCmd(fs, e.stdout, e.getenv) },
		}},
		Examples: []string{
			"collector token issue --config collector.yaml --probe jkt-01 --network Telkomsel --asn 23693 --country ID",
		},
	}
}

// tokenIssueCmd registers the flags of `collector token issue` on fs and returns the
// command, which prints a signed probe token. The secret comes from --config or
// PANTAU_SECRET.
func tokenIssueCmd(fs *flag.FlagSet, stdout io.Writer, getenv func(string) string) cmdline.Runner {
	cfgPath := fs.String("config", "", "collector config `FILE` holding the secret (else PANTAU_SECRET)")
	probe := fs.String("probe", "", "probe `ID`, e.g. jkt-telkomsel-01")
	network := fs.String("network", "", "network (ISP) `NAME` as the fleet calls it, e.g. Telkomsel: letters, digits, '.', '_', '-' and single inner spaces")
	asn := fs.Uint("asn", 0, "the network's AS `NUMBER`")
	country := fs.String("country", "", "ISO 3166 country `CODE`, e.g. ID")
	expires := yamlconf.DurationFlag(fs, "expires", "validity (`DURATION`), e.g. 365d or 8760h (default: no expiry)")
	return func(context.Context, []string) error {
		secret := getenv("PANTAU_SECRET")
		if *cfgPath != "" {
			c, err := config.Load(*cfgPath, getenv)
			if err != nil {
				return usageError("--config: %v", err)
			}
			secret = c.Secret
		}
		if secret == "" {
			return usageError("no secret: give --config or set PANTAU_SECRET")
		}
		if *asn > 1<<32-1 {
			return usageError("--asn %d: out of range", *asn)
		}
		c := auth.Claims{Probe: *probe, Network: *network, Country: *country, ASN: uint32(*asn), IssuedAt: time.Now()}
		if *expires > 0 {
			c.ExpiresAt = c.IssuedAt.Add(*expires)
		}
		if err := c.Validate(); err != nil {
			return usageError("%v", err)
		}
		tok, err := auth.Issue([]byte(secret), c)
		if err != nil {
			return usageError("%v", err)
		}
		fmt.Fprintln(stdout, tok)
		return nil
	}
}
