package cli

import (
	"context"
	"crypto/ed25519"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/pantau-dev/pantau/collector/sign"
	"github.com/pantau-dev/pantau/internal/cmdline"
)

// keyFetchTimeout bounds `evidence verify --url`'s request for the collector's key.
const keyFetchTimeout = 30 * time.Second

// evidenceCommand is `collector evidence`: the key that signs evidence bundles and
// compliance reports, and their offline verification (docs/evidence.md).
func evidenceCommand(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:    "evidence",
		Summary: "create the key that signs evidence bundles and compliance reports; verify a downloaded one offline",
		Commands: []*cmdline.Command{{
			Name:    "keygen",
			Summary: "write a new Ed25519 signing key to FILE (mode 0600) and its public key to FILE.pub; print the key ID",
			Usage:   "--out FILE",
			Details: "Neither file may exist. Set signing.key_file to FILE in collector.yaml (docs/collector-config.md); " +
				"publish FILE.pub (the collector also serves it at " + sign.WellKnownPath + ").",
			Examples: []string{"collector evidence keygen --out /etc/pantau/signing.key"},
			Setup: func(fs *flag.FlagSet) cmdline.Runner {
				out := fs.String("out", "", "`FILE` to write the private key to (required)")
				return func(context.Context, []string) error { return keygen(*out, e) }
			},
		}, {
			Name:    "verify",
			Summary: "check a downloaded evidence bundle, compliance report (JSON or CSV) or order bundle (zip) against the collector's public keys",
			Usage:   "(--key PUBFILE... | --url COLLECTOR) FILE",
			Details: "Exit 0: valid, and what was signed is printed. Exit 1: invalid, with the reason: unsigned, wrong key, " +
				"tampered content (naming the measurement whose raw JSON changed, or in an order bundle every changed, missing or added file) or bad signature. " +
				"--key may be given several times, and a PUBFILE may hold several PEM public keys (a collector's keys across rotations): " +
				"the file must be signed by the one whose key ID it names. " +
				"--url fetches the key the collector serves now (" + sign.WellKnownPath + "); a key kept from before (--key) proves more.",
			Args: true,
			Examples: []string{
				"collector evidence verify --key pantau-signing.pub evidence-t.me-Telkomsel-20170716T120000Z.json",
				"collector evidence verify --key signing-2026.pub --key signing-2027.pub compliance-kominfo-2017-telegram-block-20170720T000000Z.zip",
				"collector evidence verify --url https://collector.example.org compliance-kominfo-2017-telegram-block.csv",
			},
			Setup: func(fs *flag.FlagSet) cmdline.Runner {
				var keys []string
				fs.Func("key", "the collector's public key `PUBFILE` (PEM, as keygen writes FILE.pub; repeatable, several keys per file allowed)", func(v string) error {
					keys = append(keys, v)
					return nil
				})
				url := fs.String("url", "", "fetch the public key from the collector at `URL`")
				return func(ctx context.Context, args []string) error { return verifyEvidence(ctx, keys, *url, args, e) }
			},
		}, bundleCommand(e)},
	}
}

// keygen writes a new key pair to out and out.pub.
func keygen(out string, e env) error {
	if out == "" {
		return usageError("--out is required")
	}
	id, err := sign.Generate(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "private key %s (keep it secret), public key %s.pub\nkey ID %s\n\nIn collector.yaml:\n  signing:\n    key_file: %s\n", out, out, id, out)
	return nil
}

// verifyEvidence checks the file args[0] against the keys of keyFiles or of the collector
// at url, and prints what was signed.
func verifyEvidence(ctx context.Context, keyFiles []string, url string, args []string, e env) error {
	if len(args) != 1 {
		return usageError("give one FILE to verify, got %d", len(args))
	}
	if (len(keyFiles) == 0) == (url == "") {
		return usageError("give --key PUBFILE or --url COLLECTOR (one of them)")
	}
	keys, err := trustedKeys(ctx, keyFiles, url)
	if err != nil {
		return err
	}
	file, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	sig, err := sign.VerifyKeys(file, keys)
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	about := "order " + sig.Order
	if sig.Kind == "evidence" {
		about = sig.Domain + " on " + sig.Network
	}
	fmt.Fprintf(e.stdout, "valid: %s %s (%s) at %s, generated %s by collector %s, key ID %s\n",
		sig.Kind, about, sig.Format, sig.At, sig.GeneratedAt, sig.CollectorVersion, sig.KeyID)
	if sig.Format == sign.Zip {
		fmt.Fprintf(e.stdout, "every file matches %s, which the signature covers\n", sign.ManifestName)
	}
	return nil
}

// trustedKeys reads the public keys of keyFiles (each PEM block of each file), or fetches
// the key the collector at url serves.
func trustedKeys(ctx context.Context, keyFiles []string, url string) ([]ed25519.PublicKey, error) {
	if url != "" {
		ctx, cancel := context.WithTimeout(ctx, keyFetchTimeout)
		defer cancel()
		k, err := sign.FetchKey(ctx, http.DefaultClient, url)
		if err != nil {
			return nil, err
		}
		pub, err := sign.ParsePublicPEM([]byte(k.PEM))
		if err != nil {
			return nil, err
		}
		return []ed25519.PublicKey{pub}, nil
	}
	var keys []ed25519.PublicKey
	for _, f := range keyFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		ks, err := sign.ParsePublicPEMs(b)
		if err != nil {
			return nil, fmt.Errorf("--key %s: %w", f, err)
		}
		keys = append(keys, ks...)
	}
	return keys, nil
}
