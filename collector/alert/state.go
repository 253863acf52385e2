package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pantau-dev/pantau/collector/orders"
	"github.com/pantau-dev/pantau/collector/timeline"
)

const stateVersion = 1

// state is what a Watcher remembers between checks and, with a state file, across restarts.
type state struct {
	Version int `json:"version"`
	// Started is the first check ever: transitions confirmed before it are the baseline,
	// not news.
	Started time.Time `json:"started"`
	// Seen holds the keys of the transitions already alerted, with their confirmation times
	// (pruned once older than the lookback, when no check can find them again).
	Seen map[string]time.Time `json:"seen"`
	// Last holds the last confirmed state of each watched pair ("domain network") seen.
	Last map[string]timeline.State `json:"last"`
	// Compliance holds the last known status per order ID and network ("" overall).
	Compliance map[string]map[string]orders.Status `json:"compliance"`
	// Pending holds the undelivered events per webhook name, oldest first.
	Pending map[string][]Event `json:"pending"`
}

func newState() state {
	return state{Version: stateVersion, Seen: map[string]time.Time{}, Last: map[string]timeline.State{},
		Compliance: map[string]map[string]orders.Status{}, Pending: map[string][]Event{}}
}

// loadState reads path; a missing file is a fresh state, a damaged one an error (starting
// afresh would re-fire or miss alerts).
func loadState(path string) (state, error) {
	st := newState()
	if path == "" {
		return st, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("state file: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("state file %s: %w", path, err)
	}
	if st.Version != stateVersion {
		return st, fmt.Errorf("state file %s: version %d, want %d", path, st.Version, stateVersion)
	}
	if st.Seen == nil {
		st.Seen = map[string]time.Time{}
	}
	if st.Last == nil {
		st.Last = map[string]timeline.State{}
	}
	if st.Compliance == nil {
		st.Compliance = map[string]map[string]orders.Status{}
	}
	if st.Pending == nil {
		st.Pending = map[string][]Event{}
	}
	return st, nil
}

// saveState writes st to path atomically: a temporary file beside it, synced, renamed.
func saveState(path string, st state) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, nothing is left to remove
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	return nil
}
