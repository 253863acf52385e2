package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/internal/cmdline"
)

// maxBundle bounds the order bundle `evidence bundle` downloads.
const maxBundle = 4 << 30

// bundleCommand is `collector evidence bundle`: download an order's bundle from a
// collector's API (GET /api/v1/orders/{id}/bundle).
func bundleCommand(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:    "bundle",
		Summary: "download an order's bundle (zip: the signed compliance report, a printable page, every measurement behind it, manifest, signature)",
		Usage:   "--order ID [--at T] --out FILE [--url COLLECTOR]",
		Details: "The same as GET /api/v1/orders/{id}/bundle?at=T (docs/api.md). FILE must not exist. " +
			"Check it offline with `collector evidence verify --key PUBFILE FILE`.",
		Examples: []string{
			"collector evidence bundle --url https://collector.example.org --order kominfo-2017-telegram-block --at 2017-07-20T00:00:00Z --out bundle.zip",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			base := fs.String("url", "", "the collector's base `URL` (default $"+EnvCollector+", else "+defaultCollector+")")
			order := fs.String("order", "", "order `ID` (required)")
			at := fs.String("at", "", "the report's time `T`: RFC 3339, a date (2017-07-20) or a duration back from now (7d) (default: now)")
			out := fs.String("out", "", "`FILE` to write the zip to (required, must not exist)")
			timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the bundle")
			return func(ctx context.Context, _ []string) error {
				return downloadBundle(ctx, bundleFlags{*base, *order, *at, *out, *timeout}, e)
			}
		},
	}
}

type bundleFlags struct {
	base, order, at, out string
	timeout              time.Duration
}

// downloadBundle fetches the bundle into a new file.
func downloadBundle(ctx context.Context, f bundleFlags, e env) error {
	if f.order == "" || f.out == "" {
		return usageError("--order and --out are required")
	}
	base, err := collectorURL(f.base, e.getenv)
	if err != nil {
		return err
	}
	u := strings.TrimRight(base, "/") + "/api/v1/orders/" + url.PathEscape(f.order) + "/bundle"
	if at, err := parseWhen(f.at, time.Now()); err != nil {
		return usageError("--at: %v", err)
	} else if !at.IsZero() {
		u += "?at=" + url.QueryEscape(at.UTC().Format(time.RFC3339))
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("bundle: %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	n, err := writeNewFile(f.out, io.LimitReader(resp.Body, maxBundle))
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	fmt.Fprintf(e.stdout, "wrote %s (%d bytes)\ncheck it with: collector evidence verify --key PUBFILE %s\n", f.out, n, f.out)
	return nil
}

// writeNewFile copies r into a file that must not exist yet; on failure the file is removed.
func writeNewFile(path string, r io.Reader) (int64, error) {
	fl, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(fl, r)
	if cerr := fl.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, errors.Join(err, os.Remove(path))
	}
	return n, nil
}
