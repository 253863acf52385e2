package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/probe/uplink"
	"github.com/pantau-dev/pantau/schedules"

	"log/slog"
)

// Run runs the schedules until ctx is cancelled, reloading them whenever hup receives.
// On cancellation it stops gracefully: running measurements are cancelled (what they
// measured so far is spooled), the jobs get the grace period to finish, and the spool
// is drained once more, briefly.
func (a *Agent) Run(ctx context.Context, hup <-chan os.Signal) error {
	jobs, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	a.mu.Lock()
	a.jobsCtx = jobs
	a.mu.Unlock()
	a.apply(a.Schedules(), a.origin)
	a.cron.Start()

	var wg sync.WaitGroup
	loops, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	if a.uplink() != nil {
		wg.Add(2)
		go func() { defer wg.Done(); a.uplinkLoop(loops) }()
		go func() { defer wg.Done(); a.syncLoop(loops) }()
	}
	for {
		select {
		case <-hup:
			_ = a.Reload()
			continue
		case <-ctx.Done():
		}
		break
	}
	a.log.Info("stopping: cancelling running measurements", "grace", a.o.Grace)
	cancelJobs()
	stopped := a.cron.Stop()
	select {
	case <-stopped.Done():
	case <-time.After(a.o.Grace):
		a.log.Warn("jobs still running after the grace period")
	}
	stopLoops()
	wg.Wait()
	a.saveState()
	if a.uplink() != nil {
		final, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Drain(final)
	}
	return nil
}

// uplinkLoop drains the spool when a run ends, every 30 s, and sends heartbeats.
func (a *Agent) uplinkLoop(ctx context.Context) {
	drain := time.NewTicker(30 * time.Second)
	defer drain.Stop()
	hb := time.NewTicker(a.o.Heartbeat)
	defer hb.Stop()
	a.sendHeartbeat(ctx)
	a.Drain(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
			a.Drain(ctx)
		case <-drain.C:
			a.Drain(ctx)
		case <-hb.C:
			a.sendHeartbeat(ctx)
		}
	}
}

// Drain submits the spool's backlog oldest first, at most DrainRate batches a second, so
// a probe coming back from an outage does not flood the collector. Accepted items are
// removed, items the collector rejects moved aside with its reason; an unreachable
// collector stops the drain until the next try. A collector that refuses the
// submissions as a whole (uplink.ErrBlocked: an expired token, a proxy's 404) stops it
// too, and blocks the uplink: nothing is moved aside, and the next try waits RetryMin,
// doubling up to RetryMax (Reload and a restart try at once). It sends a heartbeat with
// every batch.
func (a *Agent) Drain(ctx context.Context) {
	up := a.uplink()
	if up == nil || !a.mayTry(time.Now()) {
		return
	}
	pace := time.NewTicker(time.Duration(float64(time.Second) / a.o.DrainRate))
	defer pace.Stop()
	for ctx.Err() == nil {
		batch, err := a.o.Spool.Batch(a.o.BatchSize, 4<<20)
		if err != nil {
			a.log.Error("spool read failed", "err", err)
			return
		}
		if len(batch) == 0 {
			return
		}
		res, err := up.Submit(ctx, batch)
		a.settle(res)
		a.noteSubmission(len(res.Accepted), len(res.Rejected), err)
		switch {
		case errors.Is(err, uplink.ErrBlocked):
			a.block(err)
			return
		case err != nil:
			a.log.Warn("collector unavailable; the backlog stays spooled", "depth", a.o.Spool.Stats().Depth, "err", err)
			return
		case len(res.Accepted)+len(res.Rejected) == 0:
			return // nothing settled: the same batch would come again
		}
		a.unblock()
		a.sendHeartbeat(ctx)
		select {
		case <-pace.C:
		case <-ctx.Done():
		}
	}
}

// settle removes the accepted items from the spool and moves the rejected ones aside.
func (a *Agent) settle(res uplink.Result) {
	if len(res.Accepted) > 0 {
		if err := a.o.Spool.Ack(res.Accepted...); err != nil {
			a.log.Error("spool ack failed", "err", err)
		}
	}
	for _, r := range res.Rejected {
		if err := a.o.Spool.Reject(r.ID, r.Reason); err != nil {
			a.log.Error("spool reject failed; the measurement stays queued", "id", r.ID, "err", err)
		}
	}
}

// mayTry reports whether the uplink may submit at now: it is not blocked, or its wait
// is over.
func (a *Agent) mayTry(now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state.Blocked == nil || !now.Before(a.state.Blocked.NextTry)
}

// block records a refusal of the submissions as a whole and sets the next try. The cause
// is logged when it changes, not at every try.
func (a *Agent) block(err error) {
	cause := err.Error()
	var se *uplink.StatusError
	if errors.As(err, &se) {
		cause = se.Cause()
	}
	now := time.Now().UTC()
	a.mu.Lock()
	b := a.state.Blocked
	if b == nil {
		b = &Blocked{Since: now}
		a.state.Blocked = b
	}
	changed := b.Cause != cause
	b.Cause = cause
	b.Attempts++
	wait := a.o.RetryMin
	for i := 1; i < b.Attempts && wait < a.o.RetryMax; i++ {
		wait *= 2
	}
	wait = min(wait, a.o.RetryMax)
	b.NextTry = now.Add(wait)
	since := b.Since
	a.mu.Unlock()
	a.saveState()
	attrs := []any{"cause", cause, "since", since, "depth", a.o.Spool.Stats().Depth, "next_try_in", wait}
	if changed {
		a.log.Error("collector refuses the probe's submissions; the backlog stays spooled and is retried", attrs...)
	} else {
		a.log.Debug("collector still refuses the probe's submissions", attrs...)
	}
}

// unblock ends a blocked period after a submission went through.
func (a *Agent) unblock() {
	a.mu.Lock()
	b := a.state.Blocked
	a.state.Blocked = nil
	a.mu.Unlock()
	if b != nil {
		a.saveState()
		a.log.Info("collector accepts the probe's submissions again", "blocked_since", b.Since, "cause", b.Cause,
			"refused_tries", b.Attempts, "depth", a.o.Spool.Stats().Depth)
	}
}

// Heartbeat returns the agent's current heartbeat.
func (a *Agent) Heartbeat(version string) *measurement.Heartbeat {
	st := a.o.Spool.Stats()
	a.mu.Lock()
	defer a.mu.Unlock()
	hb := &measurement.Heartbeat{
		SentAt:        time.Now().UTC(),
		Software:      a.o.Engine.Software,
		SchedulesHash: a.set.Hash,
		SpoolDepth:    st.Depth, SpoolBytes: st.Bytes,
		Dropped: st.Dropped, Rejected: st.Rejected, Corrupt: st.Corrupt, Pruned: st.Pruned,
		ClockOffsetMS: a.state.ClockOffsetMS,
		SyncError:     a.state.SyncError,
		Schedules:     []measurement.ScheduleStatus{},
	}
	if a.state.Blocked != nil {
		hb.UplinkError = a.state.Blocked.String()
	}
	for _, s := range a.set.Schedules {
		ss := a.state.Schedules[s.Name]
		ss.Name, ss.Next = s.Name, s.Next(time.Now())
		hb.Schedules = append(hb.Schedules, ss)
	}
	a.controlStats(hb)
	return hb
}

// sendHeartbeat sends a heartbeat. One that is not delivered (a 401 like the
// submissions', an unreachable collector) is recorded in the state for `probe status`;
// the error is logged when it changes. One cut short by the agent stopping (ctx done)
// says nothing about the collector and is not recorded.
func (a *Agent) sendHeartbeat(ctx context.Context) {
	off, err := a.uplink().Heartbeat(ctx, a.Heartbeat(""))
	if err != nil && ctx.Err() != nil {
		return
	}
	a.mu.Lock()
	last := a.state.HeartbeatError
	if err != nil {
		a.state.HeartbeatError = err.Error()
	} else {
		a.state.HeartbeatError = ""
		a.state.ClockOffsetMS = measurement.Ms(off)
	}
	a.mu.Unlock()
	if (err == nil) != (last == "") || (err != nil && err.Error() != last) {
		a.saveState()
	}
	switch {
	case err != nil && err.Error() != last:
		a.log.Warn("heartbeat not delivered", "err", err)
	case err != nil:
		a.log.Debug("heartbeat still not delivered", "err", err)
	case last != "":
		a.log.Info("heartbeats delivered again")
	}
}

// syncLoop fetches the collector's schedules now and every Sync interval.
func (a *Agent) syncLoop(ctx context.Context) {
	t := time.NewTicker(a.o.Sync)
	defer t.Stop()
	for {
		_ = a.SyncSchedules(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SyncSchedules fetches the collector's schedule set. A set that does not load is
// refused and reported (heartbeat sync_error); the last good set keeps running.
func (a *Agent) SyncSchedules(ctx context.Context) error {
	a.mu.Lock()
	etag := a.syncETag
	a.mu.Unlock()
	set, newTag, err := a.uplink().Schedules(ctx, etag)
	if err != nil {
		a.mu.Lock()
		a.state.SyncError = "fetching the collector's schedules: " + err.Error()
		a.mu.Unlock()
		a.log.Warn("schedule sync failed", "err", err)
		return err
	}
	if set == nil {
		return nil // not modified
	}
	files := make(map[string][]byte, len(set.Files))
	for name, body := range set.Files {
		files[name] = []byte(body)
	}
	// Only the files the set is made of (and the hash covers) are kept: a name like
	// "../x" from the collector is never written.
	fsys := schedules.FromFiles(files)
	loaded, err := schedules.Load(fsys)
	if err == nil {
		files, err = schedules.Files(fsys)
	}
	if err == nil && set.Hash != "" && loaded.Hash != set.Hash {
		err = errors.New("hash mismatch: the files do not make the set the collector announced")
	}
	if err == nil {
		err = writeSet(filepath.Join(a.o.StateDir, "schedules"), files)
	}
	a.mu.Lock()
	if err != nil {
		a.state.SyncError = err.Error()
	} else {
		a.state.SyncError = ""
		a.syncETag = newTag
	}
	a.mu.Unlock()
	if err != nil {
		a.log.Error("synced schedules refused; keeping the last good set", "err", err)
		return err
	}
	if loaded.Hash != a.Schedules().Hash {
		a.apply(loaded, "synced")
	}
	return nil
}

// writeSet replaces dir with files atomically: a new folder renamed over the old one.
func writeSet(dir string, files map[string][]byte) error {
	tmp := dir + ".new"
	_ = os.RemoveAll(tmp)
	for name, b := range files {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return err
		}
	}
	old := dir + ".old"
	_ = os.RemoveAll(old)
	if err := os.Rename(dir, old); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// cronLogger adapts slog to cron's logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
