// Package uplink submits measurements to a collector: gzip-compressed JSON batches with
// a bearer token, retried with exponential backoff and jitter (go-retryablehttp), honouring
// Retry-After. Only the collector's answer about an item is final: items it rejects are
// returned to the caller with its reason. An answer about the request as a whole (a 4xx
// other than 408, 413 and 429: an expired token, a proxy's 404) is an ErrBlocked error
// that says nothing about the items, which the caller keeps; a 413 splits the batch.
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
	"unicode"

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

// ErrBlocked matches a StatusError whose status refuses the request as a whole and is not
// worth retrying at once: a 4xx other than 408 (timeout) and 429 (rate), e.g. 401 for an
// expired or revoked token, 403, a proxy's 404 or 405, 415. It says nothing about the
// measurements sent: the caller keeps them and tries again later, after the cause is
// fixed. (Submit never returns it for 413: it splits the batch instead.)
var ErrBlocked = errors.New("the collector refuses the probe's requests")

// StatusError is an answer of the collector with a status the request did not expect.
type StatusError struct {
	Method, URL string
	Code        int    // e.g. 401
	Status      string // e.g. "401 Unauthorized"
	Message     string // the collector's error text
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Method, e.URL, e.Cause())
}

// Cause is the status and the collector's message, e.g. "401 Unauthorized: token expired
// at 2025-01-01T00:00:00Z".
func (e *StatusError) Cause() string {
	if e.Message == "" {
		return e.Status
	}
	return e.Status + ": " + e.Message
}

// Is makes errors.Is(err, ErrBlocked) true for a refusing status.
func (e *StatusError) Is(target error) bool {
	return target == ErrBlocked && Blocking(e.Code)
}

// Blocking reports whether status refuses a request as a whole (see ErrBlocked).
func Blocking(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// statusError describes resp, whose body is body.
func statusError(method, url string, resp *http.Response, body []byte) *StatusError {
	return &StatusError{Method: method, URL: url, Code: resp.StatusCode, Status: resp.Status, Message: errorText(body)}
}

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

// Submit sends one batch and returns what the collector said about each item: accepted
// (stored) or rejected (final, with its reason). A batch the collector finds too large
// (413) is split in halves, down to single items; an item still too large on its own is
// rejected with the collector's reason. Any other failure is returned as an error, with
// the result of the parts of a split batch already answered: a *StatusError matching
// ErrBlocked when the collector refuses the request as a whole (the items are not at
// fault and must be kept), another error when it could not be reached or stayed
// unavailable (5xx, 429, 408 after the retries).
func (c *Client) Submit(ctx context.Context, batch []*measurement.Measurement) (Result, error) {
	res, err := c.post(ctx, batch)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusRequestEntityTooLarge {
		return res, err
	}
	if len(batch) == 1 {
		reason := "too large for the collector: " + se.Cause()
		return Result{Rejected: []Rejection{{ID: batch[0].ID, Reason: reason}}}, nil
	}
	half := len(batch) / 2
	res, err = c.Submit(ctx, batch[:half])
	if err != nil {
		return res, err
	}
	rest, err := c.Submit(ctx, batch[half:])
	res.Accepted = append(res.Accepted, rest.Accepted...)
	res.Rejected = append(res.Rejected, rest.Rejected...)
	return res, err
}

// post sends batch in one request and reads the collector's answer per item.
func (c *Client) post(ctx context.Context, batch []*measurement.Measurement) (Result, error) {
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
	switch resp.StatusCode {
	case http.StatusOK, http.StatusMultiStatus, http.StatusUnprocessableEntity:
		return parseResult(body, batch)
	case http.StatusConflict:
		// The collector's answer when every item of the batch is a conflict holds its
		// answer about each item, final; a 409 without them is about the request.
		if res, err := parseResult(body, batch); err == nil {
			return res, nil
		}
	}
	return Result{}, statusError(http.MethodPost, c.endpoint, resp, body)
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
	seen := make([]bool, len(batch))
	for _, it := range r.Items {
		if it.Index < 0 || it.Index >= len(batch) {
			return Result{}, fmt.Errorf("collector answer: item index %d out of range", it.Index)
		}
		if seen[it.Index] {
			return Result{}, fmt.Errorf("collector answer: item index %d given twice", it.Index)
		}
		seen[it.Index] = true
		id := batch[it.Index].ID
		switch it.Status {
		case "accepted":
			res.Accepted = append(res.Accepted, id)
		case "rejected":
			res.Rejected = append(res.Rejected, Rejection{ID: id, Reason: it.Error})
		case "conflict": // another measurement is stored under the ID
			res.Rejected = append(res.Rejected, Rejection{ID: id, Reason: "conflict: " + it.Error})
		default:
			// Not an answer this probe understands: the item is neither stored nor refused
			// for all it knows, so it stays with the caller.
			return Result{}, fmt.Errorf("collector answer: item %d: status %q is not accepted, rejected or conflict", it.Index, it.Status)
		}
	}
	return res, nil
}

func errorText(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return oneLine(e.Error)
	}
	return oneLine(string(body[:min(len(body), 200)]))
}

// oneLine makes s, a body from the collector or a proxy in front of it, fit for a log
// line, `probe status` and a heartbeat: valid UTF-8, control characters and runs of white
// space made single spaces.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
