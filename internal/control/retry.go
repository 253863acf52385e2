package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

// Retry bounds of the client.
const (
	// MaxAttempts bounds the requests for one target, over all helpers.
	MaxAttempts = 12
	// minRemaining is the least time left before the target's deadline for another
	// attempt to be worth starting: a helper needs some to observe.
	minRemaining = 3 * time.Second
	// backoffBase and backoffMax bound the wait after a round in which no helper answered
	// and none said when to come back: backoffBase doubling per round, at most backoffMax,
	// jittered.
	backoffBase = 250 * time.Millisecond
	backoffMax  = 8 * time.Second
	// defaultRetryAfter is how long a helper that answered 429 or 503 without a usable
	// Retry-After is left alone; maxRetryAfter caps what a helper may ask.
	defaultRetryAfter = time.Second
	maxRetryAfter     = 5 * time.Minute
)

// outcome is one attempt's result: the failure ("" for none) and, for a busy helper,
// how long it asked to be left alone.
type outcome struct {
	failure    string
	busy       bool // 429 or 503: saturated or limiting this client
	retryAfter time.Duration
}

// Control asks the helpers to measure t, also connecting to addrs (the probe's
// addresses; the first MaxAddrs are sent). It never returns nil: when no helper answered,
// Failure is FailureUnavailable. Helpers are tried in order, those that failed within the
// Cooldown last and those still in a Retry-After not at all; when a round of them failed
// with something that may pass, it waits (the Retry-After, else a doubling backoff,
// jittered so that the requests turned away together do not come back together) and
// tries again, while the target's deadline (ctx) leaves time and at most MaxAttempts in
// all: a busy helper (429, 503) until then, one that failed otherwise (5xx, transport,
// invalid answer) once more unless it timed out. Every attempt is recorded in Attempts.
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
	// done are the helpers not to ask again for this target: they refused it (4xx), timed
	// out, or failed otherwise twice. failed counts the other failures.
	done, failed := map[int]bool{}, map[int]int{}
	var last string
	for round := 0; ; round++ {
		if c.tryRound(ctx, t, body, out, done, failed, &last) {
			c.count(out, "")
			return out
		}
		wait, ok := c.nextWait(ctx, round, done, len(out.Attempts))
		if !ok || !sleep(ctx, wait) {
			break
		}
	}
	out.Failure = measurement.Failure(FailureUnavailable)
	out.Observations.Normalise()
	c.count(out, last)
	return out
}

// tryRound asks each helper that is neither done nor in a Retry-After, in order, until
// one answers (true). last is set to each failure.
func (c *Client) tryRound(ctx context.Context, t target.Target, body []byte, out *measurement.Control, done map[int]bool, failed map[int]int, last *string) bool {
	for _, i := range c.order(time.Now()) {
		if done[i] || c.busyUntil(i).After(time.Now()) || len(out.Attempts) >= MaxAttempts {
			continue
		}
		h := c.helpers[i]
		start := time.Now()
		resp, o := c.attempt(ctx, h, body)
		out.Attempts = append(out.Attempts, measurement.ControlAttempt{
			Helper: h.name, Failure: measurement.Failure(o.failure), TimeMS: measurement.Ms(time.Since(start)),
		})
		if o.failure == "" {
			c.recovered(i)
			out.Helper = h.name
			out.Observations = resp.Observations
			out.Observations.Normalise()
			if len(resp.Refused) > 0 {
				c.log.Debug("control helper refused addresses", "helper", h.name, "target", t.String(), "refused", resp.Refused)
			}
			return true
		}
		*last = o.failure
		if ctx.Err() != nil {
			return false // our own deadline or cancellation: not the helper's fault
		}
		c.note(i, o)
		switch {
		case o.busy: // asked again after its Retry-After, while the deadline allows
		case retryable(o.failure) && !strings.Contains(o.failure, "timeout") && failed[i] == 0:
			failed[i]++ // once more: a reset or a proxy's 502 may pass; a dead helper must not hold the target
		default:
			done[i] = true
		}
		c.log.Debug("control helper failed", "helper", h.name, "target", t.String(), "failure", o.failure, "retry_after", o.retryAfter)
	}
	return false
}

// nextWait says how long to wait before the next round and whether one is worth it: some
// helper is not done, attempts remain, and the deadline leaves minRemaining after it.
func (c *Client) nextWait(ctx context.Context, round int, done map[int]bool, attempts int) (time.Duration, bool) {
	if attempts >= MaxAttempts || ctx.Err() != nil {
		return 0, false
	}
	now := time.Now()
	var soonest time.Time // when the first helper that may be asked again is free
	eligible := false
	for i := range c.helpers {
		if done[i] {
			continue
		}
		if b := c.busyUntil(i); !eligible || b.Before(soonest) {
			soonest = b
		}
		eligible = true
	}
	if !eligible {
		return 0, false // no helper is to be asked again
	}
	wait := jitter(min(backoffBase<<min(round, 10), backoffMax))
	if d := soonest.Sub(now); d > 0 {
		wait = max(wait, jitter(d))
	}
	if dl, ok := ctx.Deadline(); ok && dl.Sub(now) < wait+minRemaining {
		return 0, false
	}
	return wait, true
}

// jitter spreads d over [d, 1.5d): requests turned away together come back apart.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + rand.N(d/2+1)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// note records a failed attempt of helper i: a busy helper is left alone for its
// Retry-After, one that failed otherwise but may recover cools down, a 404 is logged as
// the configuration error it is (once per helper).
func (c *Client) note(i int, o outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case o.busy:
		c.stats.Busy++
		c.busy[i] = time.Now().Add(o.retryAfter)
	case retryable(o.failure):
		c.failed[i] = time.Now()
	case o.failure == failureStatusPrefix+"404" && !c.notFound[i]:
		c.notFound[i] = true
		c.log.Error("control helper answered 404 Not Found: the URL is not a control endpoint (want the helper's "+DefaultPath+")", "helper", c.helpers[i].name)
	}
}

func (c *Client) busyUntil(i int) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy[i]
}

// attempt posts body to one helper and returns its Response or what went wrong.
func (c *Client) attempt(ctx context.Context, h helper, body []byte) (Response, outcome) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return Response{}, outcome{failure: failure.Classify(err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if h.auth != "" {
		req.Header.Set("Authorization", h.auth)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Response{}, outcome{failure: failure.Classify(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
		o := outcome{failure: fmt.Sprintf("%s%d", failureStatusPrefix, resp.StatusCode)}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			o.busy = true
			o.retryAfter = RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return Response{}, o
	}
	var r Response
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxResponse+1))
	if err := dec.Decode(&r); err != nil {
		c.log.Warn("control helper answer invalid", "helper", h.name, "error", err, "limit", maxResponse)
		return Response{}, outcome{failure: FailureInvalidResponse}
	}
	return r, outcome{}
}

// RetryAfter parses a Retry-After header value, delay-seconds or an HTTP date (RFC 9110
// §10.2.3), into how long to wait from now: at most five minutes, one second when the
// value is missing, malformed or already past, so a busy helper is never asked again at
// once.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(max(n, 0), int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return defaultRetryAfter
	}
	return min(d, maxRetryAfter)
}
