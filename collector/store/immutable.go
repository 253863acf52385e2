package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// A stored measurement never changes (docs/storage.md, Immutable measurements). It is
// identified by the probe of the token that submitted it and its ID; its content is the
// SHA-256 of its JSON. By construction, other content can never overwrite a point: the
// point time depends on the content (pointTime). Before writing, Write refuses other
// content for a (probe, id) stored, or being stored, before (a Conflict), and skips what
// is stored already with the same content (the first receive time stays). It knows the
// (probe, id) it acknowledged recently, and for a while what a look-up told it of a
// probe's recent measurements (known.go); for the others it reads the stored (id, sha256)
// of the probe in InfluxDB (look-ups that concurrent calls share, lookups.go).

// DefaultRecent is how many acknowledged (probe, id) the store remembers when
// Config.Recent is zero: a few minutes of ingest at full load, about 15 MB.
const DefaultRecent = 100_000

// checkMerge joins the millisecond windows of one probe's items closer than this into one
// InfluxQL statement.
const checkMerge = time.Second

// ErrConflict marks a ConflictError (errors.Is).
var ErrConflict = errors.New("measurement stored with other content")

// Conflict is an item Write refused: its (probe, id) is stored with other content.
type Conflict struct {
	Index     int    // in the items given to Write
	Probe, ID string // as stored: the probe from the token
	Stored    string // hex SHA-256 of the stored JSON
	Submitted string // hex SHA-256 of the refused JSON
}

// ConflictError is what Write returns when some items conflict; it stored every other
// item (or found it stored already, identically).
type ConflictError struct{ Conflicts []Conflict }

func (e *ConflictError) Error() string {
	c := e.Conflicts[0]
	msg := fmt.Sprintf("measurement %s of probe %s is stored with other content (sha256 %s, refused %s)", c.ID, c.Probe, c.Stored, c.Submitted)
	if n := len(e.Conflicts) - 1; n > 0 {
		msg += fmt.Sprintf(", and %d more", n)
	}
	return msg
}

func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// verdict is the guard's decision on one item of a Write.
type verdict uint8

const (
	vWrite    verdict = iota // new (or being written by another call, identically): write it
	vStored                  // stored already with this content: nothing to write
	vConflict                // stored, or being stored, with other content: refused
	vSame                    // the same (probe, id) and content earlier in this call
	vClash                   // the same (probe, id) with other content earlier in this call: refused
)

// itemCheck is what the guard knows of one item.
type itemCheck struct {
	probe, id string
	key       string // probe NUL id
	sum       [sha256.Size]byte
	ms        time.Time // the millisecond its points are in
}

func newCheck(it Item, c content) itemCheck {
	return itemCheck{probe: it.Probe.Probe, id: it.M.ID, key: it.Probe.Probe + "\x00" + it.M.ID, sum: c.sum,
		ms: it.M.StartedAt.UTC().Truncate(time.Millisecond)}
}

// admission is the guard's decision on the items of one Write.
type admission struct {
	verdict  []verdict
	same     []int               // vSame, vClash: the earlier item
	other    [][sha256.Size]byte // vConflict: the content stored or being stored
	reserved []int               // items whose (probe, id) this call holds in flight
	checks   []itemCheck         // of every item
	unknown  []int               // items the guard did not remember: looked up
	ask      []int               // those of them to look for in InfluxDB; the others it knows (known.go)
	stored   map[string][]string // key → sha256 values found ("" before sha256 was kept)
}

// guard remembers the (probe, id) being written and those acknowledged recently.
type guard struct {
	mu       sync.Mutex
	max      int // acknowledged entries per generation
	cur, old map[string][sha256.Size]byte
	flying   map[string]flight
	known    map[string]*known // by probe (known.go)
	swept    time.Time         // when expired knowledge was last dropped
}

// flight is a (probe, id) being written: its content, how many calls write it, and
// whether InfluxDB was found not to hold other content for it.
type flight struct {
	sum     [sha256.Size]byte
	n       int
	checked bool
}

func newGuard(recent int) *guard {
	return &guard{max: max(recent/2, 1), cur: map[string][sha256.Size]byte{}, flying: map[string]flight{},
		known: map[string]*known{}, swept: time.Now()}
}

func (g *guard) recent(key string) ([sha256.Size]byte, bool) {
	if sum, ok := g.cur[key]; ok {
		return sum, true
	}
	sum, ok := g.old[key]
	return sum, ok
}

// remember records key as stored with sum; the oldest generation goes when the newest is
// full. Called with g.mu held.
func (g *guard) remember(key string, sum [sha256.Size]byte) {
	if len(g.cur) >= g.max {
		g.old, g.cur = g.cur, make(map[string][sha256.Size]byte, g.max)
	}
	g.cur[key] = sum
}

// admit decides on each item from what the guard knows, and reserves the new ones in
// flight; those it cannot decide on are left in a.unknown for InfluxDB.
func (g *guard) admit(checks []itemCheck) admission {
	a := admission{verdict: make([]verdict, len(checks)), same: make([]int, len(checks)),
		other: make([][sha256.Size]byte, len(checks)), checks: checks}
	first := make(map[string]int, len(checks))
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, c := range checks {
		if j, ok := first[c.key]; ok {
			a.verdict[i], a.same[i] = vClash, j
			if checks[j].sum == c.sum {
				a.verdict[i] = vSame
			}
			continue
		}
		first[c.key] = i
		if f, ok := g.flying[c.key]; ok {
			if f.sum != c.sum {
				a.verdict[i], a.other[i] = vConflict, f.sum
				continue
			}
			f.n++
			g.flying[c.key] = f
			a.reserved = append(a.reserved, i)
			if !f.checked {
				a.unknown = append(a.unknown, i)
			}
			continue
		}
		if sum, ok := g.recent(c.key); ok {
			if sum == c.sum {
				a.verdict[i] = vStored
			} else {
				a.verdict[i], a.other[i] = vConflict, sum
			}
			continue
		}
		g.flying[c.key] = flight{sum: c.sum, n: 1}
		a.reserved = append(a.reserved, i)
		a.unknown = append(a.unknown, i)
	}
	a.stored = map[string][]string{}
	now := time.Now()
	for _, i := range a.unknown {
		sums, ok := g.answer(checks[i], now)
		switch {
		case !ok:
			a.ask = append(a.ask, i)
		case sums != nil:
			a.stored[checks[i].key] = sums
		}
	}
	return a
}

// askChecks are the checks of the items to look for in InfluxDB.
func (a admission) askChecks() []itemCheck {
	out := make([]itemCheck, len(a.ask))
	for k, i := range a.ask {
		out[k] = a.checks[i]
	}
	return out
}

// settle decides on the items looked up (a.stored): one stored with the same content, or
// stored before contents were hashed, is not written again; one stored with other
// content is a conflict. Either way its reservation is released.
func (g *guard) settle(a *admission) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, i := range a.unknown {
		c := a.checks[i]
		found, ok := a.stored[c.key]
		if !ok {
			if f, ok := g.flying[c.key]; ok {
				f.checked = true
				g.flying[c.key] = f
			}
			continue
		}
		sum := hexSum(c.sum)
		var other string
		for _, s := range found {
			if s == sum {
				other = ""
				break
			}
			if s != "" {
				other = s
			}
		}
		if other == "" {
			a.verdict[i] = vStored
			if !slices.Contains(found, "") {
				g.remember(c.key, c.sum)
			}
		} else {
			a.verdict[i] = vConflict
			if b, err := hex.DecodeString(other); err == nil && len(b) == sha256.Size {
				a.other[i] = [sha256.Size]byte(b)
				g.remember(c.key, a.other[i])
			}
		}
		g.release(c.key)
	}
	a.reserved = slices.DeleteFunc(a.reserved, func(i int) bool { return a.verdict[i] != vWrite })
}

// finish releases the reservations of a after its write; written says InfluxDB accepted
// it, so the (probe, id) are remembered as stored, and known as stored (known.go).
func (g *guard) finish(a admission, written bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	for _, i := range a.reserved {
		c := a.checks[i]
		if written {
			g.remember(c.key, c.sum)
		}
		g.learn(c, written, now)
		g.release(c.key)
	}
}

// release drops one call's hold on key. Called with g.mu held.
func (g *guard) release(key string) {
	if f, ok := g.flying[key]; ok {
		if f.n--; f.n <= 0 {
			delete(g.flying, key)
		} else {
			g.flying[key] = f
		}
	}
}

// conflicts returns the ConflictError of a's refused items, nil when none was refused.
func (a admission) conflicts() error {
	var out []Conflict
	for i, v := range a.verdict {
		j := i
		if v == vSame || v == vClash {
			j = a.same[i]
		}
		stored := a.other[j] // what the first item of the (probe, id) conflicts with
		switch {
		case a.verdict[j] == vConflict:
		case v == vClash: // the first is stored, or stored now
			stored = a.checks[j].sum
		default:
			continue
		}
		c := a.checks[i]
		out = append(out, Conflict{Index: i, Probe: c.probe, ID: c.id, Stored: hexSum(stored), Submitted: hexSum(c.sum)})
	}
	if len(out) == 0 {
		return nil
	}
	return &ConflictError{Conflicts: out}
}
