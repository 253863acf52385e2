package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/probe/config"
)

// enrollTimeout bounds the enrolment request. It is not retried: the code is used once,
// and a reply lost after the collector recorded it cannot be asked for again.
const enrollTimeout = 30 * time.Second

// enrollRequest is the body of the collector's POST /api/v1/enrol.
type enrollRequest struct {
	Code    string `json:"code"`
	Probe   string `json:"probe"`
	Network string `json:"network"`
	Country string `json:"country"`
	ASN     uint64 `json:"asn"`
}

// enrollReply is its answer.
type enrollReply struct {
	Token   string `json:"token"`
	TokenID string `json:"token_id"`
	Error   string `json:"error"`
}

// enrollCommand is `probe enroll`: redeem an enrolment code for a token and write the
// probe's config.
func enrollCommand(s streams) *cmdline.Command {
	return &cmdline.Command{
		Name:    "enroll",
		Summary: "fetch this probe's token with a one-time enrolment code and write its config file",
		Usage:   "--collector URL --code CODE --probe ID --network NAME --country CC --asn N [--config FILE] [--force]",
		Details: "The operator's `collector token issue --enrol` prints the exact command. The code works once and expires " +
			"(default 24h). An existing config file is kept unless --force.",
		Examples: []string{
			"probe enroll --collector https://collector.example.org --code ABCD-EFGH-IJKL-MNOP-QRST-UVWX --probe jkt-02 --network Telkomsel --country ID --asn 23693",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			var o enrollOptions
			fs.StringVar(&o.collector, "collector", "", "the collector's base `URL`")
			fs.StringVar(&o.req.Code, "code", "", "the enrolment `CODE` the operator gave")
			fs.StringVar(&o.req.Probe, "probe", "", "this probe's `ID`, as the operator issued the code for")
			fs.StringVar(&o.req.Network, "network", "", "the network `NAME`, as the operator issued the code for")
			fs.StringVar(&o.req.Country, "country", "", "the country `CODE`, as the operator issued the code for")
			fs.Uint64Var(&o.req.ASN, "asn", 0, "the AS `NUMBER`, as the operator issued the code for")
			fs.StringVar(&o.path, "config", "/etc/pantau/probe.yaml", "config `FILE` to write")
			fs.StringVar(&o.ca, "collector-ca", "", "PEM `FILE` of the CA the collector's certificate must chain to (also written to the config)")
			fs.BoolVar(&o.force, "force", false, "replace an existing config file")
			return func(ctx context.Context, _ []string) error { return enroll(ctx, o, s.stdout) }
		},
	}
}

type enrollOptions struct {
	collector, path, ca string
	force               bool
	req                 enrollRequest
}

// enroll checks the options, refuses to overwrite the config before asking (a used code
// cannot be asked for again), redeems the code and writes the config.
func enroll(ctx context.Context, o enrollOptions, stdout io.Writer) error {
	switch {
	case o.collector == "":
		return usageError("--collector is required")
	case o.req.Code == "":
		return usageError("--code is required")
	case o.req.Probe == "" || o.req.Network == "" || o.req.Country == "" || o.req.ASN == 0:
		return usageError("--probe, --network, --country and --asn are required (as the operator's command gives them)")
	}
	u, err := url.Parse(o.collector)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError("--collector %q: want the collector's http(s) URL", o.collector)
	}
	if !o.force {
		if _, err := os.Stat(o.path); !errors.Is(err, fs.ErrNotExist) {
			return usageError("--config %s: exists; --force replaces it", o.path)
		}
	}
	var roots *x509.CertPool
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return usageError("--collector-ca: %v", err)
		}
		if roots = x509.NewCertPool(); !roots.AppendCertsFromPEM(pem) {
			return usageError("--collector-ca: %s holds no PEM certificate", o.ca)
		}
	}
	base := strings.TrimRight(o.collector, "/")
	rep, err := redeemCode(ctx, base+"/api/v1/enrol", o.req, roots)
	if err != nil {
		return err
	}
	if err := writeProbeConfig(o, base, rep.Token); err != nil {
		// The code is used: without the token the operator must issue a new one.
		return fmt.Errorf("%w\nthe probe's token, to put in agent.token by hand: %s", err, rep.Token)
	}
	fmt.Fprintf(stdout, "enrolled probe %s (token id %s); wrote %s\n", o.req.Probe, rep.TokenID, o.path)
	if err := shareWithGroup(o.path, serviceGroup); err != nil {
		fmt.Fprintf(stdout, "note: %s is readable by its owner only (%v): the service must run as that user\n", o.path, err)
	}
	fmt.Fprintf(stdout, "start it with: probe run --config %s (packages: systemctl enable --now pantau-probe)\n", o.path)
	return nil
}

// redeemCode posts the request and returns the collector's reply.
func redeemCode(ctx context.Context, endpoint string, req enrollRequest, roots *x509.CertPool) (enrollReply, error) {
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, enrollTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return enrollReply{}, usageError("--collector: %v", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	resp, err := hc.Do(hr)
	if err != nil {
		return enrollReply{}, fmt.Errorf("enrolment request: %w", err)
	}
	defer resp.Body.Close()
	var rep enrollReply
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(b, &rep); err != nil && resp.StatusCode == http.StatusOK {
		return enrollReply{}, fmt.Errorf("enrolment: the collector's answer is not JSON: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := rep.Error
		if msg == "" {
			msg = strings.TrimSpace(string(b))
		}
		return enrollReply{}, fmt.Errorf("enrolment refused: %s: %s", resp.Status, msg)
	}
	if rep.Token == "" {
		return enrollReply{}, errors.New("enrolment: the collector's answer holds no token")
	}
	return rep, nil
}

// serviceGroup is the group the packaged service (pantau-probe.service) runs as.
const serviceGroup = "pantau"

// shareWithGroup gives path to group (mode 0640) when the group exists, so that the
// packaged service, which runs as user pantau, reads the config written as root.
func shareWithGroup(path, group string) error {
	g, err := user.LookupGroup(group)
	if err != nil {
		return fmt.Errorf("no group %s", group)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return fmt.Errorf("group %s: gid %q", group, g.Gid)
	}
	if err := os.Chown(path, -1, gid); err != nil {
		return err
	}
	return os.Chmod(path, 0o640)
}

// writeProbeConfig writes the agent's collector, token and CA to o.path (mode 0600: the
// token is a password), checked by the probe's own config parser first; without --force
// an existing file is never replaced, even one created meanwhile.
func writeProbeConfig(o enrollOptions, collector, token string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `probe enroll` at %s for probe %s (network %q, AS%d, %s).\n",
		time.Now().UTC().Format(time.RFC3339), o.req.Probe, o.req.Network, o.req.ASN, o.req.Country)
	fmt.Fprintf(&b, "# Other keys: docs/probe-config.md.\nagent:\n  collector: %q\n  token: %q\n", collector, token)
	if o.ca != "" {
		abs, err := filepath.Abs(o.ca)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "  collector_ca: %q\n", abs)
	}
	if _, err := config.Parse(o.path, []byte(b.String())); err != nil {
		return fmt.Errorf("the config written would not load: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(o.path), 0o755); err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if o.force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(o.path, flags, 0o600)
	if err != nil {
		return fmt.Errorf("writing the config (the token is lost with it: ask the operator for a new code): %w", err)
	}
	if err = f.Chmod(0o600); err == nil { // --force keeps the old file's mode otherwise
		_, err = f.WriteString(b.String())
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", o.path, err)
	}
	return nil
}
