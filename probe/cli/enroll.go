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

	"gopkg.in/yaml.v3"

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
			"(default 24h). The token goes to its own file (mode 0640, group pantau when that group exists); the config " +
			"names it. An existing config or token file is kept unless --force, which updates the config's agent keys only.",
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
			fs.StringVar(&o.path, "config", "/etc/pantau/probe.yaml", "config `FILE` to write (with --force: to update)")
			fs.StringVar(&o.tokenPath, "token-file", "", "`FILE` to write the token to (default probe.token beside the config)")
			fs.StringVar(&o.ca, "collector-ca", "", "PEM `FILE` of the CA the collector's certificate must chain to (also written to the config)")
			fs.BoolVar(&o.force, "force", false, "set agent.collector and agent.token_file in an existing config (its other keys and comments kept), and replace an existing token file")
			return func(ctx context.Context, _ []string) error { return enroll(ctx, o, s.stdout) }
		},
	}
}

type enrollOptions struct {
	collector, path, ca, tokenPath string
	force                          bool
	req                            enrollRequest
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
	if o.tokenPath == "" {
		o.tokenPath = filepath.Join(filepath.Dir(o.path), "probe.token")
	}
	if abs, err := filepath.Abs(o.tokenPath); err == nil {
		o.tokenPath = abs
	}
	if !o.force {
		for _, p := range []struct{ flag, path string }{{"--config", o.path}, {"--token-file", o.tokenPath}} {
			if _, err := os.Stat(p.path); !errors.Is(err, fs.ErrNotExist) {
				return usageError("%s %s: exists; --force sets the collector and token in it (keeping its other keys)", p.flag, p.path)
			}
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
	if err := writeFiles(o, base, rep.Token, stdout); err != nil {
		// The code is used: without the token the operator must issue a new one.
		return fmt.Errorf("%w\nthe probe's token, to put in agent.token_file by hand: %s", err, rep.Token)
	}
	fmt.Fprintf(stdout, "enrolled probe %s (token id %s); wrote %s and %s\n", o.req.Probe, rep.TokenID, o.tokenPath, o.path)
	fmt.Fprintf(stdout, "start it with: probe run --config %s (packages: systemctl enable --now pantau-probe; OpenWrt: service pantau-probe enable && service pantau-probe start)\n", o.path)
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

// serviceGroup is the group the packaged service (pantau-probe.service, the OpenWrt init
// script) runs as.
const serviceGroup = "pantau"

// shareWithGroup gives path to group (mode 0640) when the group exists, so that the
// packaged service, which runs as user pantau, reads the token written as root.
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

// writeFiles writes the token to o.tokenPath (mode 0600, then 0640 for the service's
// group when there is one) and the config: a new one with agent.collector, token_file and
// collector_ca, or with --force the existing one with those keys set and every other key
// and comment kept (a packaged config carries the device's tuning). The config is checked
// by the probe's own parser before anything is written.
func writeFiles(o enrollOptions, collector, token string, stdout io.Writer) error {
	var ca string
	if o.ca != "" {
		var err error
		if ca, err = filepath.Abs(o.ca); err != nil {
			return err
		}
	}
	cfg, err := configWithAgent(o, collector, ca)
	if err != nil {
		return err
	}
	if _, err := config.Parse(o.path, cfg); err != nil {
		return fmt.Errorf("the config written would not load: %w", err)
	}
	if err := writeNew(o.tokenPath, []byte(token+"\n"), 0o600, o.force); err != nil {
		return err
	}
	if err := shareWithGroup(o.tokenPath, serviceGroup); err != nil {
		fmt.Fprintf(stdout, "note: %s is readable by its owner only (%v): run the probe as that user\n", o.tokenPath, err)
	}
	return writeNew(o.path, cfg, 0o644, o.force)
}

// configWithAgent returns the config to write: o.path's with the agent's collector,
// token_file and collector_ca set (--force), or a new one.
func configWithAgent(o enrollOptions, collector, ca string) ([]byte, error) {
	old, err := os.ReadFile(o.path)
	if errors.Is(err, fs.ErrNotExist) {
		var b strings.Builder
		fmt.Fprintf(&b, "# Written by `probe enroll` at %s for probe %s (network %q, AS%d, %s).\n",
			time.Now().UTC().Format(time.RFC3339), o.req.Probe, o.req.Network, o.req.ASN, o.req.Country)
		fmt.Fprintf(&b, "# Other keys: docs/probe-config.md.\nagent:\n  collector: %q\n  token_file: %q\n", collector, o.tokenPath)
		if ca != "" {
			fmt.Fprintf(&b, "  collector_ca: %q\n", ca)
		}
		return []byte(b.String()), nil
	}
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(old, &doc); err != nil {
		return nil, fmt.Errorf("--config %s: not YAML (%w): move it away and enroll again", o.path, err)
	}
	if doc.Kind == 0 { // an empty file
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("--config %s: not a mapping of keys: move it away and enroll again", o.path)
	}
	agent := mapValue(root, "agent", &yaml.Node{Kind: yaml.MappingNode})
	if agent.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("--config %s: agent is not a mapping", o.path)
	}
	deleteKey(agent, "token") // token_file holds it now
	setScalar(agent, "collector", collector)
	setScalar(agent, "token_file", o.tokenPath)
	if ca != "" {
		setScalar(agent, "collector_ca", ca)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	return b.Bytes(), nil
}

// mapValue returns the value of key in the mapping m, adding def under key when absent.
func mapValue(m *yaml.Node, key string, def *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, def)
	return def
}

func setScalar(m *yaml.Node, key, value string) {
	v := mapValue(m, key, &yaml.Node{Kind: yaml.ScalarNode})
	*v = yaml.Node{Kind: yaml.ScalarNode, Value: value, Style: yaml.DoubleQuotedStyle, LineComment: v.LineComment}
}

func deleteKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// writeNew writes b to path with perm: a new file, or with replace the existing one.
func writeNew(path string, b []byte, perm os.FileMode, replace bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if replace {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, perm)
	if err != nil {
		return err
	}
	if err = f.Chmod(perm); err == nil { // a replaced file keeps its old mode otherwise
		_, err = f.Write(b)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
