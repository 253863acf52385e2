package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// Failure strings of the client, besides failure.Classify's.
const (
	// FailureUnavailable is Control.Failure when no helper answered.
	FailureUnavailable = "control_unavailable"
	// FailureInvalidResponse is an attempt whose 200 answer was not a valid Response.
	FailureInvalidResponse = "control_invalid_response"
	// failureStatusPrefix precedes the status code of a non-200 answer:
	// control_http_status_503.
	failureStatusPrefix = "control_http_status_"
)

// Client defaults and limits.
const (
	DefaultTimeout = 30 * time.Second
	// Cooldown is how long a helper that failed (transport error, 429 or 5xx) is tried
	// only after the others.
	Cooldown = time.Minute
	// maxResponse bounds a helper's answer.
	maxResponse = 8 << 20
)

// Client asks control helpers in order and returns the first answer, so no single helper
// can take the verdicts down. It is safe for concurrent use.
type Client struct {
	helpers []helper
	hc      *http.Client
	timeout time.Duration
	log     *slog.Logger
	creds   credentials

	mu     sync.Mutex
	failed map[int]time.Time // helper index → last failure, for the cooldown
}

// helper is one endpoint: the URL to post to, the form recorded in measurements
// (password hidden) and the Authorization header it gets ("" for none).
type helper struct {
	url  string
	name string
	auth string
}

// credentials are what NewClient decides each helper's Authorization from.
type credentials struct {
	helperToken     string // for helpers not on the collector's origin
	plainHTTP       bool   // helperToken may go over plain http to a non-loopback host
	collector       string // the collector's base URL as given
	collectorToken  string // only for helpers on the collector's origin
	collectorOrigin string
}

// ClientOption configures NewClient.
type ClientOption func(*Client)

// WithToken sends "Authorization: Bearer tok" to the helpers (the helper credential,
// `probe helper --token-file`). It is not sent over plain http to a host other than
// loopback unless WithPlainHTTPToken is given, and a helper on the collector's origin
// gets the collector token instead when WithCollector gives one.
func WithToken(tok string) ClientOption { return func(c *Client) { c.creds.helperToken = tok } }

// WithPlainHTTPToken lets the WithToken credential go to plain-http helpers on any host
// (an on-path observer can then read it).
func WithPlainHTTPToken() ClientOption { return func(c *Client) { c.creds.plainHTTP = true } }

// WithCollector names the collector (its base URL) and the probe's collector token. The
// token goes only to helpers on the collector's origin (scheme, host and port), where the
// collector serves the control API behind probe authentication; any other helper could
// write measurements as this probe with it.
func WithCollector(baseURL, tok string) ClientOption {
	return func(c *Client) { c.creds.collector, c.creds.collectorToken = baseURL, tok }
}

// NewClient returns a client for helpers, each the full endpoint URL (e.g.
// https://helper.example.org/api/v1/control). hc nil means a dedicated client that trusts
// the system roots (SSL_CERT_FILE is honoured), uses the environment's proxy and follows
// no redirects. Each attempt is bounded by timeout (DefaultTimeout when <= 0).
func NewClient(helpers []string, hc *http.Client, timeout time.Duration, log *slog.Logger, opts ...ClientOption) (*Client, error) {
	if len(helpers) == 0 {
		return nil, fmt.Errorf("no control URL")
	}
	c := &Client{hc: hc, timeout: timeout, log: logger(log), failed: map[int]time.Time{}}
	for _, o := range opts {
		o(c)
	}
	if c.creds.collector != "" {
		u, err := parseURL(c.creds.collector)
		if err != nil {
			return nil, fmt.Errorf("collector URL %q: %w", c.creds.collector, err)
		}
		c.creds.collectorOrigin = origin(u)
	}
	for _, s := range helpers {
		u, err := parseURL(s)
		if err != nil {
			return nil, fmt.Errorf("control URL %q: %w", s, err)
		}
		h := helper{url: u.String(), name: u.Redacted()}
		h.auth = c.authFor(u, h.name)
		c.helpers = append(c.helpers, h)
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		c.hc = &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return c, nil
}

// authFor returns the Authorization header for the helper at u (named name in logs):
// the collector token on the collector's origin, else the helper token unless it would
// cross a network in the clear, else none.
func (c *Client) authFor(u *url.URL, name string) string {
	cr := c.creds
	if cr.collectorToken != "" && origin(u) == cr.collectorOrigin {
		return "Bearer " + cr.collectorToken
	}
	if cr.helperToken == "" {
		return ""
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		if !cr.plainHTTP {
			c.log.Warn("control token not sent to a plain-http helper; use https, or allow it with control_token_plain_http", "helper", name)
			return ""
		}
		c.log.Warn("control token sent over plain http", "helper", name)
	}
	return "Bearer " + cr.helperToken
}

func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("scheme %q: want http or https", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("no host")
	case u.Fragment != "":
		return nil, fmt.Errorf("has a fragment")
	}
	return u, nil
}

// origin is u's scheme, host and port (the default port filled in; names lowercased
// without a final dot, IP addresses canonical), the unit a credential is scoped to.
func origin(u *url.URL) string {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.Unmap().String()
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + net.JoinHostPort(host, port)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// Len returns the number of helpers.
func (c *Client) Len() int { return len(c.helpers) }

// Control asks the helpers to measure t, also connecting to addrs (the probe's
// addresses; the first MaxAddrs are sent). It never returns nil: when no helper answered,
// Failure is FailureUnavailable. Helpers are tried in order, those that failed within
// the Cooldown last; each attempt is bounded by the timeout and ctx, and a cancelled
// ctx ends the search.
func (c *Client) Control(ctx context.Context, t target.Target, addrs []string) *measurement.Control {
	if len(addrs) > MaxAddrs {
		addrs = addrs[:MaxAddrs]
	}
	if addrs == nil {
		addrs = []string{}
	}
	body, err := json.Marshal(Request{Target: t.String(), Addrs: addrs})
	if err != nil { // cannot happen: strings only
		panic(err)
	}
	out := &measurement.Control{Attempts: []measurement.ControlAttempt{}}
	for _, i := range c.order(time.Now()) {
		h := c.helpers[i]
		start := time.Now()
		resp, f := c.attempt(ctx, h, body)
		out.Attempts = append(out.Attempts, measurement.ControlAttempt{
			Helper: h.name, Failure: measurement.Failure(f), TimeMS: measurement.Ms(time.Since(start)),
		})
		if f == "" {
			c.setFailed(i, false)
			out.Helper = h.name
			out.Observations = resp.Observations
			out.Observations.Normalise()
			if len(resp.Refused) > 0 {
				c.log.Debug("control helper refused addresses", "helper", h.name, "target", t.String(), "refused", resp.Refused)
			}
			return out
		}
		if ctx.Err() != nil {
			break // our own deadline or cancellation: not the helper's fault
		}
		if retryable(f) {
			c.setFailed(i, true)
		}
		c.log.Debug("control helper failed", "helper", h.name, "target", t.String(), "failure", f)
	}
	out.Failure = measurement.Failure(FailureUnavailable)
	out.Observations.Normalise()
	return out
}

// attempt posts body to one helper and returns its Response or a failure string.
func (c *Client) attempt(ctx context.Context, h helper, body []byte) (Response, string) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return Response{}, failure.Classify(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if h.auth != "" {
		req.Header.Set("Authorization", h.auth)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Response{}, failure.Classify(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
		return Response{}, fmt.Sprintf("%s%d", failureStatusPrefix, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return Response{}, failure.Classify(err)
	}
	var r Response
	if len(data) > maxResponse {
		c.log.Warn("control helper answer too large", "helper", h.name, "limit", maxResponse)
		return Response{}, FailureInvalidResponse
	}
	if err := json.Unmarshal(data, &r); err != nil {
		c.log.Warn("control helper answer invalid", "helper", h.name, "error", err)
		return Response{}, FailureInvalidResponse
	}
	return r, ""
}

// retryable reports whether failure f says the helper is unwell (transport failure,
// invalid answer, 429 or 5xx) rather than that it refused this request.
func retryable(f string) bool {
	code, ok := strings.CutPrefix(f, failureStatusPrefix)
	return !ok || code == "429" || strings.HasPrefix(code, "5")
}

// order returns the helper indexes to try: healthy ones first, in configured order, then
// those that failed within the Cooldown, least recently failed first.
func (c *Client) order(now time.Time) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ok, cooling []int
	for i := range c.helpers {
		if at, bad := c.failed[i]; bad && now.Sub(at) < Cooldown {
			cooling = append(cooling, i)
		} else {
			ok = append(ok, i)
		}
	}
	slices.SortStableFunc(cooling, func(a, b int) int { return c.failed[a].Compare(c.failed[b]) })
	return append(ok, cooling...)
}

func (c *Client) setFailed(i int, bad bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bad {
		c.failed[i] = time.Now()
	} else {
		delete(c.failed, i)
	}
}
