// Package cli is the collector's command line: `serve`, `token issue` and `query`. Exit
// codes: 0 done, 2 usage or configuration error, 1 a failure while running.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
	"github.com/pantau-dev/pantau/collector/config"
)

// Version is set at build time.
var Version = "dev"

const usage = `usage: collector <command> [flags]

commands:
  serve --config collector.yaml      run the collector
  token issue --probe ID --network NAME --asn N --country CC [--expires D]
                                     print a probe token signed with the secret
  query timeline --domain D [--network N] [--from T] [--to T]
  query changes [--since T] [--to T]
  query compliance --order ID [--at T]
                                     ask a running collector (--url, $PANTAU_COLLECTOR);
                                     print a table, or --format json|csv
  version                            print the version
`

var errUsage = errors.New("usage")

func usageError(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

// Main runs the command in args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	name := args[0]
	switch {
	case args[0] == "serve":
		err = serveCmd(ctx, args[1:], stderr, getenv)
	case args[0] == "token" && len(args) > 1 && args[1] == "issue":
		name = "token issue"
		err = tokenIssueCmd(args[2:], stdout, stderr, getenv)
	case args[0] == "query":
		name = strings.Join(args[:min(2, len(args))], " ")
		err = queryCmd(ctx, args[1:], stdout, stderr, getenv)
	case args[0] == "version":
		fmt.Fprintln(stdout, "pantau collector", Version)
	case args[0] == "-h" || args[0] == "--help" || args[0] == "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "collector: unknown command %q\n%s", strings.Join(args[:min(2, len(args))], " "), usage)
		return 2
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "collector %s: %s\n", name, strings.TrimPrefix(err.Error(), "usage: "))
		return 2
	default:
		fmt.Fprintf(stderr, "collector %s: %v\n", name, err)
		return 1
	}
}

// parse parses args. -h prints the flags to stderr; any other flag error is returned as
// one usage error line, without the flag package's own output.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	var out strings.Builder
	fs.SetOutput(&out)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, out.String())
			return err
		}
		return usageError("%v (see %s -h)", err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// tokenIssueCmd prints a signed probe token. The secret comes from --config or
// PANTAU_SECRET.
func tokenIssueCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("collector token issue", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "collector config file holding the secret (else PANTAU_SECRET)")
	probe := fs.String("probe", "", "probe ID, e.g. jkt-telkomsel-01")
	network := fs.String("network", "", "network (ISP) name as the fleet calls it, e.g. Telkomsel")
	asn := fs.Uint("asn", 0, "the network's AS number")
	country := fs.String("country", "", "ISO 3166 country code, e.g. ID")
	expires := fs.Duration("expires", 0, "validity, e.g. 8760h (default: no expiry)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
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
	if *expires < 0 {
		return usageError("--expires %s: negative", *expires)
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
