package cli

import (
	"fmt"
	"io"

	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// progress counts the verdicts of `probe measure --format table` for the summary line
// that ends it and, when stderr is a terminal (live), keeps a line there saying how far
// the run is (targets done/total, time elapsed), rewritten in place.
type progress struct {
	w     io.Writer
	live  bool
	total int
	now   func() time.Time
	start time.Time

	mu     sync.Mutex
	done   int
	counts map[string]int // verdict status → measurements
	drawn  time.Time      // when the line was last written
	stop   chan struct{}
	ticker sync.WaitGroup
}

const (
	// redrawEvery bounds how often completions rewrite the line.
	redrawEvery = 100 * time.Millisecond
	// tickEvery is how often the elapsed time is brought up to date while nothing completes.
	tickEvery = time.Second
	// clearLine returns to the start of the line and erases it.
	clearLine = "\r\x1b[K"
)

// newProgress starts counting total targets now; with live, it writes the progress line.
func newProgress(w io.Writer, total int, live bool, now func() time.Time) *progress {
	p := &progress{w: w, live: live, total: total, now: now, start: now(), counts: map[string]int{}}
	if live {
		p.mu.Lock()
		p.draw()
		p.mu.Unlock()
	}
	return p
}

// run keeps the elapsed time on a live line current until finish.
func (p *progress) run() {
	if p.live {
		p.stop = make(chan struct{})
		p.ticker.Go(p.tick)
	}
}

// tick rewrites the line every tickEvery until finish.
func (p *progress) tick() {
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.draw()
			p.mu.Unlock()
		}
	}
}

// add counts one measurement.
func (p *progress) add(m *measurement.Measurement) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.counts[m.Verdict.Status]++
	if p.live && (p.done == p.total || p.now().Sub(p.drawn) >= redrawEvery) {
		p.draw()
	}
}

// draw rewrites the line; p.mu is held.
func (p *progress) draw() {
	p.drawn = p.now()
	fmt.Fprintf(p.w, "\rprobe measure: %d/%d targets, %s elapsed\x1b[K", p.done, p.total, cmdline.Elapsed(p.drawn.Sub(p.start)))
}

// finish stops the ticker and erases the line, so that what follows starts on a clean line.
func (p *progress) finish() {
	if !p.live {
		return
	}
	if p.stop != nil {
		close(p.stop)
		p.ticker.Wait()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, clearLine)
}

// summary writes the line that ends the run: the targets measured, the time taken and the
// count of each verdict status.
func (p *progress) summary() {
	p.mu.Lock()
	defer p.mu.Unlock()
	statuses := []string{measurement.StatusAccessible, measurement.StatusBlocked, measurement.StatusDown, measurement.StatusInconclusive}
	var others []string
	for s := range p.counts {
		if !slices.Contains(statuses, s) {
			others = append(others, s)
		}
	}
	slices.Sort(others)
	var counts []string
	for _, s := range append(statuses, others...) {
		counts = append(counts, fmt.Sprintf("%d %s", p.counts[s], s))
	}
	targets := fmt.Sprintf("%d targets", p.done)
	switch {
	case p.done != p.total:
		targets = fmt.Sprintf("%d of %d targets", p.done, p.total)
	case p.done == 1:
		targets = "1 target"
	}
	fmt.Fprintf(p.w, "probe measure: %s in %s: %s\n", targets, cmdline.Elapsed(p.now().Sub(p.start)), strings.Join(counts, ", "))
}

// reportControl says on w how the control helpers coped with the run: how often they were
// saturated (429/503, retried), and how many targets were left without a control and why
// (their verdicts are then inconclusive unless certain). Nothing when all went well. A
// helper that answered 404 is not a control endpoint: that is a configuration error,
// returned so the run fails loudly.
func reportControl(w io.Writer, st control.Stats) error {
	if st.Busy > 0 {
		fmt.Fprintf(w, "probe measure: control helpers busy: %d answers 429/503 of %d requests; %d targets retried\n", st.Busy, st.Attempts, st.Retried)
	}
	if sum := st.Summary(); sum != "" {
		fmt.Fprintf(w, "probe measure: %s\n", sum)
	}
	if len(st.NotFound) > 0 {
		return fmt.Errorf("control helper %s answered 404 Not Found: not a control endpoint (give its base URL or the full %s URL)",
			strings.Join(st.NotFound, ", "), control.DefaultPath)
	}
	return nil
}
