// Package uplink submits measurements to a collector: gzip-compressed JSON batches with
// a bearer token, retried with exponential backoff and jitter (go-retryablehttp), honouring
// Retry-After. A 4xx other than 408 and 429 is not retried; items the collector rejects
// are returned to the caller with the collector's reason, never dropped silently.
package uplink

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// Options configure a Client.
type Options struct {
	// Collector is the collector's base URL, e.g. https://collector.example.org.
	Collector string
	Token     string
	// RootCAs pins the CAs the collector's certificate must chain to; nil: system roots.
	RootCAs  *x509.CertPool
	Retries  int           // default 4
	MinWait  time.Duration // default 1s
	MaxWait  time.Duration // default 30s
	Timeout  time.Duration // per attempt, default 30s
	Log      *slog.Logger
	Software string // User-Agent
}

// Client submits batches.
type Client struct {
	base     string // collector base URL without a trailing slash
	endpoint string
	token    string
	hc       *retryablehttp.Client
}

// Result is the collector's answer to one batch, per item.
type Result struct {
	Accepted []string // IDs stored
	Rejected []Rejection
}

// Rejection is one item the collector refused, with its reason.
type Rejection struct {
	ID     string
	Reason string
}

// ErrRejected means the collector refused the whole batch for good (a 4xx other than 408
// and 429): retrying the same bytes cannot succeed.
var ErrRejected = errors.New("collector rejected the batch")

// New returns a Client.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.Collector)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("collector URL %q: want an absolute http or https URL", o.Collector)
	}
	if o.Token == "" {
		return nil, errors.New("collector token: empty")
	}
	hc := retryablehttp.NewClient()
	hc.RetryMax = def(o.Retries, 4)
	hc.RetryWaitMin = def(o.MinWait, time.Second)
	hc.RetryWaitMax = def(o.MaxWait, 30*time.Second)
	hc.Backoff = jitterBackoff
	hc.CheckRetry = checkRetry
	hc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	if o.Log != nil {
		hc.Logger = o.Log
	} else {
		hc.Logger = nil
	}
	tr := hc.HTTPClient.Transport.(*http.Transport)
	tr.TLSClientConfig = &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	hc.HTTPClient.Timeout = def(o.Timeout, 30*time.Second)
	base := strings.TrimSuffix(u.String(), "/")
	return &Client{base: base, endpoint: base + "/api/v1/measurements", token: o.Token, hc: hc}, nil
}

func def[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}

// checkRetry retries transport errors, 408, 429 and 5xx (not 501), like the library's
// default, and never a 4xx otherwise.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if resp != nil && resp.StatusCode == http.StatusRequestTimeout {
		return true, nil
	}
	return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
}

// jitterBackoff is exponential backoff with full jitter, but a Retry-After from the
// collector (429, 503) is honoured as given.
func jitterBackoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		return retryablehttp.DefaultBackoff(min, max, attempt, resp)
	}
	return retryablehttp.LinearJitterBackoff(min, retryablehttp.DefaultBackoff(min, max, attempt, nil), attempt, nil)
}

// Submit sends one batch. It returns the per-item result when the collector answered
// (200 or 422); ErrRejected (wrapped, with the collector's message) for other 4xx; and
// another error when the collector could not be reached or stayed unavailable.
func (c *Client) Submit(ctx context.Context, batch []*measurement.Measurement) (Result, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(batch); err != nil {
		return Result{}, fmt.Errorf("encoding batch: %w", err)
	}
	if err := zw.Close(); err != nil {
		return Result{}, err
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, buf.Bytes())
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("submitting to %s: %w", c.endpoint, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnprocessableEntity:
		return parseResult(body, batch)
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != 408 && resp.StatusCode != 429:
		return Result{}, fmt.Errorf("%w: %s: %s", ErrRejected, resp.Status, errorText(body))
	default:
		return Result{}, fmt.Errorf("submitting to %s: %s: %s", c.endpoint, resp.Status, errorText(body))
	}
}

func parseResult(body []byte, batch []*measurement.Measurement) (Result, error) {
	var r struct {
		Items []struct {
			Index  int    `json:"index"`
			Status string `json:"status"`
			Error  string `json:"error"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &r); err != nil || len(r.Items) != len(batch) {
		return Result{}, fmt.Errorf("collector answer: %d items for a batch of %d (%v)", len(r.Items), len(batch), err)
	}
	var res Result
	for _, it := range r.Items {
		if it.Index < 0 || it.Index >= len(batch) {
			return Result{}, fmt.Errorf("collector answer: item index %d out of range", it.Index)
		}
		id := batch[it.Index].ID
		if it.Status == "accepted" {
			res.Accepted = append(res.Accepted, id)
		} else {
			res.Rejected = append(res.Rejected, Rejection{ID: id, Reason: it.Error})
		}
	}
	return res, nil
}

func errorText(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(body[:min(len(body), 200)]))
}
