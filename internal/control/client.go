package control

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
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
	// maxIdlePerHelper bounds the kept-alive connections to one helper.
	maxIdlePerHelper = 256
	// DefaultPath is the control endpoint's path, appended to a helper URL without one
	// (https://helper.example.org → https://helper.example.org/api/v1/control).
	DefaultPath = "/api/v1/control"
)

// Client asks control helpers in order and returns the first answer, so no single helper
// can take the verdicts down; a helper that is busy (429, 503) is asked again after its
// Retry-After, or another one meanwhile (retry.go). It is safe for concurrent use.
type Client struct {
	helpers []helper
	hc      *http.Client
	timeout time.Duration
	log     *slog.Logger
	creds   credentials

	mu       sync.Mutex
	failed   map[int]time.Time // helper index → last failure, for the cooldown
	busy     map[int]time.Time // helper index → when its Retry-After ends
	notFound map[int]bool      // helpers that answered 404, logged once each
	stats    Stats
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
// https://helper.example.org/api/v1/control) or the helper's base URL without a path, to
// which DefaultPath is appended. hc nil means a dedicated client that trusts
// the system roots (SSL_CERT_FILE is honoured), uses the environment's proxy and follows
// no redirects. Each attempt is bounded by timeout (DefaultTimeout when <= 0).
func NewClient(helpers []string, hc *http.Client, timeout time.Duration, log *slog.Logger, opts ...ClientOption) (*Client, error) {
	if len(helpers) == 0 {
		return nil, fmt.Errorf("no control URL")
	}
	c := &Client{hc: hc, timeout: timeout, log: logger(log), failed: map[int]time.Time{}, busy: map[int]time.Time{},
		notFound: map[int]bool{}, stats: Stats{Reasons: map[string]int64{}}}
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
		if u.Path == "" || u.Path == "/" {
			u.Path = DefaultPath // a helper's base URL: its control endpoint is meant
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
		// Keep a connection to each helper for every request in flight: the default of 2
		// idle connections per host made a busy probe open (and, over https, handshake)
		// a new connection for most requests.
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 0, maxIdlePerHelper
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

// recovered clears helper i's cooldown and Retry-After: it has just answered.
func (c *Client) recovered(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.failed, i)
	delete(c.busy, i)
}
