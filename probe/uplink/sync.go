package uplink

// This file holds the probe's exchanges with its collector besides submissions:
// heartbeats (with the clock offset) and schedule sync.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// HeartbeatReply is the collector's answer to a heartbeat.
type HeartbeatReply struct {
	ServerTime time.Time `json:"server_time"`
}

// Heartbeat sends hb and returns the estimated clock offset (collector minus probe): the
// collector's time against the midpoint of the exchange.
func (c *Client) Heartbeat(ctx context.Context, hb *measurement.Heartbeat) (time.Duration, error) {
	b, err := json.Marshal(hb)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	_, body, err := c.do(ctx, http.MethodPost, c.base+"/api/v1/heartbeats", b, nil, http.StatusOK)
	if err != nil {
		return 0, err
	}
	end := time.Now()
	var r HeartbeatReply
	if err := json.Unmarshal(body, &r); err != nil || r.ServerTime.IsZero() {
		return 0, fmt.Errorf("heartbeat answer: no server_time (%v)", err)
	}
	mid := start.Add(end.Sub(start) / 2)
	return r.ServerTime.Sub(mid), nil
}

// ScheduleSet is the set of schedule files the collector serves.
type ScheduleSet struct {
	Hash  string            `json:"hash"`
	Files map[string]string `json:"files"`
}

// Schedules fetches the collector's schedule set unless it still has the ETag etag:
// then it returns (nil, etag, nil).
func (c *Client) Schedules(ctx context.Context, etag string) (*ScheduleSet, string, error) {
	hdr := map[string]string{}
	if etag != "" {
		hdr["If-None-Match"] = etag
	}
	h, body, err := c.do(ctx, http.MethodGet, c.base+"/api/v1/schedules", nil, hdr, http.StatusOK, http.StatusNotModified)
	if err != nil {
		return nil, "", err
	}
	if body == nil {
		return nil, etag, nil
	}
	var set ScheduleSet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, "", fmt.Errorf("schedules answer: %w", err)
	}
	return &set, h.Get("ETag"), nil
}

// do sends one request with the token and extra headers, and returns the response
// headers and the body of an expected status (a nil body for 304).
func (c *Client) do(ctx context.Context, method, url string, body []byte, hdr map[string]string, ok ...int) (http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if !slices.Contains(ok, resp.StatusCode) {
		return nil, nil, statusError(method, url, resp, b)
	}
	if resp.StatusCode == http.StatusNotModified {
		return resp.Header, nil, nil
	}
	return resp.Header, b, nil
}
