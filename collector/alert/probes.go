package alert

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pantau-dev/pantau/collector/fleet"
)

// Probe-silence event kinds: a probe stopped sending heartbeats, or every probe of a
// network did (the network is no longer measured). Each fires once per silence: a probe
// that comes back and falls silent again fires again.
const (
	KindProbeSilent   = "probe_silent"
	KindNetworkSilent = "network_silent"
)

// FleetSource lists the probes with their states (collector/fleet's Fleet).
type FleetSource interface {
	List(ctx context.Context) (fleet.List, error)
}

// probeWatch is what WatchProbes set.
type probeWatch struct {
	src         FleetSource
	silentAfter time.Duration
	since       time.Time // when the watcher began watching probes
}

type probeJSON struct {
	Type          string    `json:"type"`
	ID            string    `json:"id"`
	Probe         string    `json:"probe,omitempty"`
	Network       string    `json:"network"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	At            time.Time `json:"at"`
	SentAt        time.Time `json:"sent_at"`
}

// WatchProbes makes each Check also alert probes and networks that fell silent, from src
// (silent after silentAfter without a heartbeat, fleet.Config). Call it before Run.
func (w *Watcher) WatchProbes(src FleetSource, silentAfter time.Duration) {
	w.probes = &probeWatch{src: src, silentAfter: silentAfter, since: w.now()}
}

// probeEvents finds the probes and networks whose silence began since the watcher first
// started (within the lookback) and was not alerted yet, and marks them seen. Until the
// collector itself has run for silentAfter it finds none: after a restart every probe
// would look silent until its next heartbeat reached this collector's store.
func (w *Watcher) probeEvents(ctx context.Context, now time.Time) ([]Event, error) {
	pw := w.probes
	if pw == nil || now.Sub(pw.since) < pw.silentAfter {
		return nil, nil
	}
	l, err := pw.src.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("probe list: %w", err)
	}
	var found []Event
	last := map[string]time.Time{} // per network: the latest heartbeat, zero once one probe is not silent
	alive := map[string]bool{}
	for _, p := range l.Probes {
		if p.State != fleet.Silent {
			alive[p.Network] = true
			continue
		}
		if p.LastHeartbeat.After(last[p.Network]) {
			last[p.Network] = p.LastHeartbeat
		}
		found = append(found, silenceEvent(KindProbeSilent, p.Probe, p.Network, p.LastHeartbeat, pw.silentAfter))
	}
	for n, t := range last {
		if !alive[n] {
			found = append(found, silenceEvent(KindNetworkSilent, "", n, t, pw.silentAfter))
		}
	}
	slices.SortFunc(found, func(a, b Event) int { return a.At.Compare(b.At) })
	w.mu.Lock()
	defer w.mu.Unlock()
	var events []Event
	for _, e := range found {
		if _, seen := w.st.Seen[e.ID]; seen || e.At.Before(w.st.Started) || e.At.Before(now.Add(-w.cfg.Lookback.Duration)) {
			continue
		}
		w.st.Seen[e.ID] = now
		events = append(events, e)
	}
	return events, nil
}

// silenceEvent is the event of a silence that began silentAfter after the last heartbeat.
func silenceEvent(kind, probe, network string, lastBeat time.Time, silentAfter time.Duration) Event {
	return Event{Type: kind, ID: eventID(kind, probe, network, ms(lastBeat).Format(time.RFC3339Nano)), Probe: probe,
		Network: network, From: "active", To: fleet.Silent, LastHeartbeat: ms(lastBeat), At: ms(lastBeat.Add(silentAfter))}
}
