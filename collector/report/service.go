package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/sign"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/collector/timeline"
)

// Limits and defaults of queries (docs/api.md).
const (
	MaxRange        = 90 * 24 * time.Hour // longest timeline or changes range
	DefaultRange    = 7 * 24 * time.Hour  // timeline range when From is not given
	DefaultSince    = 24 * time.Hour      // changes since, when not given
	ChangesLookback = 72 * time.Hour      // history read before since, to confirm the state then
	EvidenceSpan    = 7 * 24 * time.Hour  // history read before at for an evidence bundle
	MaxEvidence     = 50                  // measurements in an evidence bundle
)

// Errors. Bad queries wrap store.ErrBadFilter (answer 400); storage errors wrap
// store.ErrUnavailable (answer 503).
var (
	ErrNotFound        = errors.New("not found")
	ErrBadOrder        = errors.New("bad order")
	ErrUploadsDisabled = errors.New("order uploads are disabled: no orders_dir is configured")
)

type badQuery string

func (e badQuery) Error() string        { return string(e) }
func (e badQuery) Is(target error) bool { return target == store.ErrBadFilter }

func bad(format string, a ...any) error { return badQuery(fmt.Sprintf(format, a...)) }

type badOrder struct{ err error }

func (e badOrder) Error() string        { return e.err.Error() }
func (e badOrder) Unwrap() error        { return e.err }
func (e badOrder) Is(target error) bool { return target == ErrBadOrder }

// Source reads what reports are computed from (collector/store's Store implements it).
type Source interface {
	Observations(ctx context.Context, f store.ObsFilter) ([]timeline.Obs, error)
	Beats(ctx context.Context, f store.ObsFilter) ([]timeline.Beat, error)
	Measurements(ctx context.Context, f store.Filter) ([]store.StoredMeasurement, string, error)
	Domains(ctx context.Context, f store.ObsFilter) ([]string, error)
}

// Config configures a Service. OrdersDir holds uploaded orders ("" refuses uploads and
// serves the seed orders only); Params tune timelines; Now is the clock (nil: time.Now).
type Config struct {
	Source    Source
	OrdersDir string
	Params    timeline.Params
	Now       func() time.Time
	Cache     CacheConfig
	// Marks, when set, records the ingest marks of backlogs and revalidates settled days
	// against them, so that replicas on one bucket see each other's writes (marks.go).
	Marks Marker
	// Signer signs evidence bundles and compliance reports (nil: they are unsigned and
	// say so; docs/evidence.md).
	Signer *sign.Signer
}

// Service computes timelines, changes, compliance and evidence from a Source.
type Service struct {
	src    Source
	dir    string
	params timeline.Params
	now    func() time.Time
	log    *slog.Logger
	cache  *cache
	// skipped counts stored domains left out of answers (SkippedDomains).
	skipped  atomic.Int64
	marker   Marker
	signer   *sign.Signer
	lastMark atomic.Int64 // markValue's last value

	mu     sync.RWMutex
	orders []orders.Order
	putMu  sync.Mutex // one upload at a time
}

// New returns a Service with the orders of cfg.OrdersDir (and the seeds) loaded.
func New(cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.Source == nil {
		return nil, errors.New("report: no source")
	}
	if err := cfg.Params.Validate(); err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	list, err := orders.Load(cfg.OrdersDir)
	if err != nil {
		return nil, err
	}
	return &Service{src: cfg.Source, dir: cfg.OrdersDir, params: cfg.Params.WithDefaults(), now: cfg.Now, log: log,
		cache: newCache(cfg.Source, cfg.Cache, cfg.Marks, cfg.Now, log), marker: cfg.Marks, signer: cfg.Signer, orders: list}, nil
}

// Params returns the timeline parameters in use.
func (s *Service) Params() timeline.Params { return s.params }

// CacheStats returns the cache's counters.
func (s *Service) CacheStats() CacheStats { return s.cache.stats() }

// span validates a range, filling in the defaults: to = now, from = to - def.
func (s *Service) span(from, to time.Time, def time.Duration, fromName, toName string) (time.Time, time.Time, error) {
	now := s.now()
	if to.IsZero() {
		to = now
	}
	if from.IsZero() {
		from = to.Add(-def)
	}
	if !from.Before(to) {
		return from, to, bad("%s: %s is not before %s %s", fromName, from.UTC().Format(time.RFC3339), toName, to.UTC().Format(time.RFC3339))
	}
	if to.Sub(from) > MaxRange {
		return from, to, bad("%s: %s to %s is longer than %d days", fromName, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), int(MaxRange/(24*time.Hour)))
	}
	// The future has no measurements: a window is cut at now, so that the silence after the
	// last measurement reads as a gap only once it has lasted longer than MaxSilence.
	if to.After(now) {
		if !from.Before(now) {
			return from, to, bad("%s: %s is in the future", fromName, from.UTC().Format(time.RFC3339))
		}
		to = now
	}
	return from, to, nil
}

// checkNames validates the names of a query: the domain by the rule of domains at ingest
// (measurement.CheckDomain), so that every stored domain can be asked for.
func checkNames(domain, network, probe string) error {
	if err := store.CheckDomain(domain); err != nil {
		return err
	}
	if network != "" && !store.ValidNetwork(network) {
		return bad("network: %q may hold only letters, digits, spaces, '.', '_' and '-' (at most 253)", network)
	}
	if probe != "" && !store.ValidProbe(probe) {
		return bad("probe: %q %s", probe, store.ProbeRule)
	}
	return nil
}

// Timelines returns the timelines q selects: one per (domain, network) pair, or per probe
// with q.PerProbe. With q.Network set there is exactly one pair timeline, Unknown when
// nothing was measured. From defaults to DefaultRange before To, To to now.
func (s *Service) Timelines(ctx context.Context, q Query) ([]timeline.Timeline, error) {
	if err := checkNames(q.Domain, q.Network, q.Probe); err != nil {
		return nil, err
	}
	from, to, err := s.span(q.From, q.To, DefaultRange, "from", "to")
	if err != nil {
		return nil, err
	}
	obs, err := s.cache.observations(ctx, []string{q.Domain}, from, to, func(o *timeline.Obs) bool {
		return (q.Network == "" || o.Network == q.Network) && (q.Probe == "" || o.Probe == q.Probe)
	})
	if err != nil {
		return nil, err
	}
	beats, err := s.cache.beats(ctx, from, to, func(b *timeline.Beat) bool {
		return (q.Network == "" || b.Network == q.Network) && (q.Probe == "" || b.Probe == q.Probe)
	})
	if err != nil {
		return nil, err
	}
	switch {
	case q.PerProbe:
		return nonNil(timeline.BuildProbes(obs, beats, from, to, s.params)), nil
	case q.Network != "":
		return []timeline.Timeline{timeline.Build(q.Domain, q.Network, obs, beats, from, to, s.params)}, nil
	}
	return nonNil(timeline.BuildAll(obs, beats, from, to, s.params)), nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Changes returns the confirmed transitions of every (domain, network) pair confirmed in
// [since, until), sorted by Confirmed. since defaults to DefaultSince before until, until
// to now; ChangesLookback of history before since is read to know the state at since.
func (s *Service) Changes(ctx context.Context, since, until time.Time) ([]timeline.Transition, error) {
	since, until, err := s.span(since, until, DefaultSince, "since", "until")
	if err != nil {
		return nil, err
	}
	from := since.Add(-ChangesLookback)
	domains, err := s.domains(ctx, from, until)
	if err != nil {
		return nil, err
	}
	obs, err := s.cache.observations(ctx, domains, from, until, nil)
	if err != nil {
		return nil, err
	}
	beats, err := s.cache.beats(ctx, from, until, nil)
	if err != nil {
		return nil, err
	}
	var out []timeline.Transition
	for _, t := range timeline.Changes(timeline.BuildAll(obs, beats, from, until, s.params), since) {
		if t.Confirmed.Before(until) {
			out = append(out, t)
		}
	}
	return nonNil(out), nil
}

// domains lists the domains measured in [from, to). A stored domain that no query could
// name (written before ingest checked domains as it does now, or by another writer) is
// skipped, counted and logged: one odd name must not fail the answer for everyone.
func (s *Service) domains(ctx context.Context, from, to time.Time) ([]string, error) {
	all, err := s.src.Domains(ctx, store.ObsFilter{From: from, To: to})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(all))
	var odd []string
	for _, d := range all {
		if store.ValidDomain(d) {
			out = append(out, d)
		} else {
			odd = append(odd, d)
		}
	}
	if len(odd) > 0 {
		s.skipped.Add(int64(len(odd)))
		s.log.Warn("stored domains that no query can name skipped", "count", len(odd), "first", odd[0], "from", from, "to", to)
	}
	return out, nil
}

// SkippedDomains counts the stored domains that reports skipped because no query could
// name them (see domains); each read that met one counts it again.
func (s *Service) SkippedDomains() int64 { return s.skipped.Load() }

// Orders returns the orders, sorted by Effective then ID.
func (s *Service) Orders() []orders.Order {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]orders.Order(nil), s.orders...)
}

// Order returns the order with the ID.
func (s *Service) Order(id string) (orders.Order, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, o := range s.orders {
		if o.ID == id {
			return o, true
		}
	}
	return orders.Order{}, false
}

// Compliance reports the order's compliance at at (zero: now), from the timelines of its
// domains and networks over [Effective - orders.Lookback, at].
func (s *Service) Compliance(ctx context.Context, id string, at time.Time) (orders.Report, error) {
	o, ok := s.Order(id)
	if !ok {
		return orders.Report{}, fmt.Errorf("order %q: %w", id, ErrNotFound)
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	// An order another one replaced (a block, then its lift) is judged while it stood:
	// at most until just before its successor took effect.
	supersededBy := ""
	if succ, ok := s.successor(id); ok && !at.Before(succ.Effective) {
		at, supersededBy = succ.Effective.Add(-time.Second), succ.ID
	}
	from := o.Effective.Add(-orders.Lookback)
	if !from.Before(at) {
		return orders.Report{}, bad("at: %s is more than %s before the order took effect (%s)", at.UTC().Format(time.RFC3339),
			orders.Lookback, o.Effective.UTC().Format(time.RFC3339))
	}
	to := at.Add(time.Nanosecond) // at is included
	inScope := map[string]bool{}
	for _, n := range o.Networks {
		inScope[n] = true
	}
	// The cache's slices are read in place (a merged copy of a month of a fleet's
	// observations costs more than the report): the engine keeps the networks in scope and
	// ignores the heartbeats of others; Comply ignores what is out of the order's scope.
	obs, err := s.cache.chunkedObs(ctx, o.Domains, from, to)
	if err != nil {
		return orders.Report{}, err
	}
	beats, err := s.cache.chunkedBeats(ctx, from, to)
	if err != nil {
		return orders.Report{}, err
	}
	tls := timeline.BuildChunks(obs, func(ob *timeline.Obs) bool { return inScope[ob.Network] }, beats, from, to, s.params)
	// Pairs without observations have no timeline: Comply reports them as unknown.
	rep := orders.ComplyChunks(o, tls, obs, at)
	rep.SetAsOf(now) // a report for a past time says so
	rep.SupersededBy = supersededBy
	return rep, nil
}

// successor returns the order that supersedes the order id, if one is loaded (the
// earliest, should there be several).
func (s *Service) successor(id string) (orders.Order, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best orders.Order
	found := false
	for _, o := range s.orders {
		if o.Supersedes == id && (!found || o.Effective.Before(best.Effective)) {
			best, found = o, true
		}
	}
	return best, found
}

// PutOrder validates an order (YAML), writes it to OrdersDir/<id>.yaml atomically and
// reloads the orders. A file that breaks the set (a duplicate ID in another file, a
// supersedes naming no order) is rolled back. Errors about the order wrap ErrBadOrder.
func (s *Service) PutOrder(ctx context.Context, yaml []byte) (orders.Order, error) {
	return s.putOrder(yaml, "", false)
}

var errExists = errors.New("exists")

// putOrder is PutOrder; a non-empty id must be the order's, and create refuses an ID in use.
func (s *Service) putOrder(yaml []byte, id string, create bool) (orders.Order, error) {
	if s.dir == "" {
		return orders.Order{}, ErrUploadsDisabled
	}
	s.putMu.Lock()
	defer s.putMu.Unlock()
	o, err := orders.Parse(filepath.Join(s.dir, "upload.yaml"), yaml)
	if err != nil {
		return orders.Order{}, badOrder{s.relative(err)}
	}
	if id != "" && id != o.ID {
		return orders.Order{}, badOrder{fmt.Errorf("id: the path names order %q, the YAML order %q", id, o.ID)}
	}
	if _, ok := s.Order(o.ID); ok && create {
		return orders.Order{}, fmt.Errorf("order %q %w: PUT /api/v1/orders/%s replaces it", o.ID, errExists, o.ID)
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return orders.Order{}, fmt.Errorf("orders: %w", err)
	}
	path := filepath.Join(s.dir, o.ID+".yaml")
	old, oldErr := os.ReadFile(path)
	if err := writeAtomic(path, yaml); err != nil {
		return orders.Order{}, err
	}
	list, err := orders.Load(s.dir)
	if err != nil {
		if oldErr == nil {
			err = errors.Join(err, writeAtomic(path, old))
		} else {
			err = errors.Join(err, os.Remove(path))
		}
		return orders.Order{}, badOrder{s.relative(err)}
	}
	s.mu.Lock()
	s.orders = list
	s.mu.Unlock()
	stored, _ := s.Order(o.ID)
	s.log.Info("order stored", "order", o.ID, "file", path)
	return stored, nil
}

// relative removes the orders folder from error messages: clients see file names only.
func (s *Service) relative(err error) error {
	return errors.New(strings.ReplaceAll(err.Error(), s.dir+string(filepath.Separator), ""))
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return fmt.Errorf("orders: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("orders: writing %s: %w", filepath.Base(path), err)
	}
	return nil
}

// Stored tells the Service that items were stored, so cached days they fall on are read
// again (Watch does this for an ingest store).
func (s *Service) Stored(items []store.Item) { s.cache.invalidate(items) }
