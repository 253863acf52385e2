package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Headers sent with each event.
const (
	HeaderSignature = "X-Pantau-Signature" // sha256=<hex HMAC-SHA256 of the body with the secret>
	HeaderEvent     = "X-Pantau-Event"     // the event's type
	HeaderDelivery  = "X-Pantau-Delivery"  // the event's ID
)

// Sign returns the X-Pantau-Signature value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// hook is one webhook with its queue of undelivered events, oldest first. Its fields are
// guarded by the Watcher's mutex, except during flush, which only its own goroutine runs.
type hook struct {
	cfg     Webhook
	hc      *retryablehttp.Client
	queue   []Event
	sent    int64
	failed  int64
	dropped int64
}

func newHook(cfg Webhook, minWait, maxWait time.Duration) *hook {
	hc := retryablehttp.NewClient()
	hc.RetryMax = *cfg.Retries
	hc.RetryWaitMin = minWait
	hc.RetryWaitMax = maxWait
	hc.Backoff = jitterBackoff
	hc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	hc.HTTPClient.Timeout = cfg.Timeout.Duration
	hc.Logger = nil // its lines carry the URL, which may hold a token; Check logs failures
	return &hook{cfg: cfg, hc: hc}
}

// jitterBackoff is exponential backoff with jitter, but a receiver's Retry-After (429, 503)
// is honoured as given.
func jitterBackoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		return retryablehttp.DefaultBackoff(min, max, attempt, resp)
	}
	return retryablehttp.LinearJitterBackoff(min, retryablehttp.DefaultBackoff(min, max, attempt, nil), attempt, nil)
}

// enqueue adds e, dropping the oldest event when the queue is full; it returns how many
// were dropped.
func (h *hook) enqueue(e Event, limit int) int {
	h.queue = append(h.queue, e)
	n := len(h.queue) - limit
	if n <= 0 {
		return 0
	}
	h.queue = append([]Event(nil), h.queue[n:]...)
	h.dropped += int64(n)
	return n
}

// flush delivers the queued events in order and stops at the first that fails, which stays
// queued for the next check. It returns the events sent and the error that stopped it.
func (h *hook) flush(ctx context.Context, events []Event, now func() time.Time) (int, error) {
	for i, e := range events {
		if err := h.post(ctx, e, now()); err != nil {
			return i, fmt.Errorf("webhook %s: event %s: %w", h.cfg.Name, e.ID, err)
		}
	}
	return len(events), nil
}

// post sends one event, with retries; any answer but 2xx is a failure.
func (h *hook) post(ctx context.Context, e Event, sentAt time.Time) error {
	body, err := e.body(sentAt)
	if err != nil {
		return fmt.Errorf("encoding: %w", err)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "pantau-collector")
	req.Header.Set(HeaderEvent, e.Type)
	req.Header.Set(HeaderDelivery, e.ID)
	if h.cfg.Secret != "" {
		req.Header.Set(HeaderSignature, Sign([]byte(h.cfg.Secret), body))
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token
		}
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
