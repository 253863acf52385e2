package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Group commit: concurrent Write calls hand their encoded points to a committer, which
// merges the parts waiting into shared write requests of up to maxRequestPoints points
// and maxRequestBytes bytes, at most Config.Writes of them in flight. Each caller returns
// when the requests holding its points were answered: nil only if InfluxDB accepted them.
// When nothing else is being written a part is written at once; when other writes are in
// flight, a small batch waits up to Config.Linger for more parts to share its request.

// DefaultWrites and DefaultLinger are the group commit's settings for zero Config fields.
const (
	DefaultWrites = 4
	DefaultLinger = 2 * time.Millisecond
)

// part is one caller's line protocol for one write request.
type part struct {
	body   []byte
	points int
	done   chan error // buffered: the writer never blocks on a caller that gave up
	// failed says a request holding body failed, even if a retry succeeded: its HTTP
	// transport may still read body. Set before done is sent.
	failed bool
}

func newPart(body []byte, points int) *part {
	return &part{body: body, points: points, done: make(chan error, 1)}
}

// committer merges parts into shared writes.
type committer struct {
	// write sends one request, the concatenation of body, with its number of points.
	write     func(ctx context.Context, body [][]byte, points int) error
	maxPoints int
	maxBytes  int
	maxWrites int
	linger    time.Duration

	mu        sync.Mutex
	queue     []*part
	points    int // in queue
	inflight  int // writes started (a lingering writer counts)
	lingering bool
	wake      chan struct{} // a part was queued while a writer lingers
}

func newCommitter(write func(context.Context, [][]byte, int) error, maxWrites int, linger time.Duration) *committer {
	return &committer{write: write, maxPoints: maxRequestPoints, maxBytes: maxRequestBytes,
		maxWrites: maxWrites, linger: linger, wake: make(chan struct{}, 1)}
}

// commit queues parts and waits until each was written or ctx is done; it returns the
// first error in the order of parts.
func (c *committer) commit(ctx context.Context, parts []*part) error {
	c.mu.Lock()
	for _, p := range parts {
		c.queue = append(c.queue, p)
		c.points += p.points
	}
	c.dispatch()
	c.mu.Unlock()
	var first error
	for _, p := range parts {
		select {
		case err := <-p.done:
			if first == nil {
				first = err
			}
		case <-ctx.Done():
			// The write may still succeed; the caller acknowledges nothing either way.
			return fmt.Errorf("%w: waiting for the write: %w", ErrUnavailable, ctx.Err())
		}
	}
	return first
}

// dispatch starts writers for the queue; c.mu is held.
func (c *committer) dispatch() {
	if c.lingering {
		select {
		case c.wake <- struct{}{}:
		default:
		}
		return
	}
	for len(c.queue) > 0 && c.inflight < c.maxWrites {
		c.inflight++
		if c.inflight > 1 && c.linger > 0 && c.points < c.maxPoints {
			c.lingering = true
			go c.lingerThenWrite()
			return
		}
		go c.run(c.take())
	}
}

// take removes the parts of the next request from the queue; c.mu is held.
func (c *committer) take() []*part {
	n, points, size := 0, 0, 0
	for _, p := range c.queue {
		if n > 0 && (points+p.points > c.maxPoints || size+len(p.body) > c.maxBytes) {
			break
		}
		n, points, size = n+1, points+p.points, size+len(p.body)
	}
	batch := append([]*part(nil), c.queue[:n]...)
	clear(c.queue[:n])
	c.queue = c.queue[n:]
	c.points -= points
	return batch
}

// lingerThenWrite waits for a full request or the linger time, then writes what is queued.
func (c *committer) lingerThenWrite() {
	timer := time.NewTimer(c.linger)
	defer timer.Stop()
	for wait := true; wait; {
		select {
		case <-c.wake:
			c.mu.Lock()
			wait = c.points < c.maxPoints
			c.mu.Unlock()
		case <-timer.C:
			wait = false
		}
	}
	c.mu.Lock()
	c.lingering = false
	if len(c.queue) == 0 {
		c.inflight--
		c.dispatch()
		c.mu.Unlock()
		return
	}
	batch := c.take()
	c.dispatch() // a backlog beyond one request goes to more writers
	c.mu.Unlock()
	c.run(batch)
}

// run writes batch, answers its parts, and starts what waits next.
func (c *committer) run(batch []*part) {
	c.writeParts(batch)
	c.mu.Lock()
	c.inflight--
	c.dispatch()
	c.mu.Unlock()
}

// writeParts writes batch in one request. If InfluxDB refuses it (other than unavailable),
// each part is written alone, so that one caller's refused point does not fail the others.
func (c *committer) writeParts(batch []*part) {
	ctx := context.Background() // the shared write is no one caller's: bounded by Config.Timeout
	if len(batch) == 1 {
		err := c.write(ctx, [][]byte{batch[0].body}, batch[0].points)
		batch[0].failed = err != nil
		batch[0].done <- err
		return
	}
	body := make([][]byte, len(batch))
	points := 0
	for i, p := range batch {
		body[i] = p.body
		points += p.points
	}
	err := c.write(ctx, body, points)
	for _, p := range batch {
		p.failed = err != nil
	}
	if err != nil && !errors.Is(err, ErrUnavailable) {
		for _, p := range batch {
			p.done <- c.write(ctx, [][]byte{p.body}, p.points)
		}
		return
	}
	for _, p := range batch {
		p.done <- err
	}
}
