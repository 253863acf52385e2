package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/probe/uplink"
)

// measureCmd is `probe measure`: measure every target now and print the measurements.
func measureCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("probe measure", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	var controls, files, categories listFlag
	fs.Var(&controls, "control", "control helper endpoint URL, e.g. https://helper.example.org/api/v1/control (repeatable; the first that answers is used)")
	fs.Var(&files, "f", "read targets from FILE: one per line, or a Citizen Lab test-list CSV (repeatable)")
	fs.Var(&categories, "category", "with a Citizen Lab CSV, keep only this category code (repeatable)")
	concurrency := fs.Int("concurrency", 0, "targets measured at once (default 64)")
	memLimit := fs.Int64("memory-limit-mb", -1, "soft memory limit in MB: the garbage collector works harder near it (default 30; 0: none)")
	format := fs.String("format", "json", "output format: json (one object per line) or table")
	controlTimeout := fs.Duration("control-timeout", 30*time.Second, "timeout of one control helper request")
	collectorURL := fs.String("collector", "", "also submit the measurements to this collector (base URL)")
	token := fs.String("token", "", "the probe's collector token (default $PANTAU_TOKEN)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: probe measure [flags] [TARGET...]\n\nTARGET is a domain (https://DOMAIN/), an http(s) URL, or tcp://HOST:PORT.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *format != "json" && *format != "table" {
		return usageError("--format %q: want json or table", *format)
	}
	if *concurrency < 0 {
		return usageError("--concurrency %d: must be positive", *concurrency)
	}
	targets, err := readTargets(fs.Args(), files, categories)
	if err != nil {
		return err
	}
	c, err := ef.load(time.Second)
	if err != nil {
		return err
	}
	if len(controls) > 0 {
		c.Controls = controls
	}
	if *concurrency == 0 {
		*concurrency = c.Concurrency
	}
	if *concurrency == 0 {
		*concurrency = 64
	}
	if *memLimit >= 0 {
		c.MemoryLimitMB = memLimit
	}
	setMemoryLimit(c.MemoryLimitMB, 30)
	log, err := ef.newLogger(stderr)
	if err != nil {
		return err
	}
	ecfg, err := engineConfig(c, "pantau-probe")
	if err != nil {
		return err
	}
	var sub *submitter
	if *collectorURL != "" {
		if *token == "" {
			*token = os.Getenv("PANTAU_TOKEN")
		}
		up, err := uplink.New(uplink.Options{Collector: *collectorURL, Token: *token, Log: log})
		if err != nil {
			return usageError("--collector: %v", err)
		}
		sub = &submitter{up: up, stderr: stderr}
	}
	var ctrl engine.Controller
	if len(c.Controls) > 0 {
		var opts []control.ClientOption
		if *token != "" {
			opts = append(opts, control.WithToken(*token))
		}
		cl, err := control.NewClient(c.Controls, nil, *controlTimeout, log, opts...)
		if err != nil {
			return usageError("--control: %v", err)
		}
		ctrl = cl
	}
	eng := engine.New(ecfg, log)
	out := newPrinter(*format, stdout, targets)
	emit := out.print
	if sub != nil {
		emit = func(m *measurement.Measurement) {
			out.print(m)
			sub.add(ctx, m)
		}
	}
	eng.Run(ctx, targets, *concurrency, ctrl, emit)
	err = out.close()
	if sub != nil {
		if serr := sub.flush(ctx); serr != nil && err == nil {
			err = serr
		}
	}
	return err
}

// submitter sends measurements to the collector in batches as they complete. What the
// collector does not accept is counted and reported; the measurements are on stdout too.
type submitter struct {
	up                 *uplink.Client
	stderr             io.Writer
	batch              []*measurement.Measurement
	accepted, rejected int
	failed             int
	lastErr            error
}

const submitBatch = 100

func (s *submitter) add(ctx context.Context, m *measurement.Measurement) {
	s.batch = append(s.batch, m)
	if len(s.batch) >= submitBatch {
		s.send(ctx)
	}
}

func (s *submitter) send(ctx context.Context) {
	if len(s.batch) == 0 {
		return
	}
	res, err := s.up.Submit(ctx, s.batch)
	if err != nil {
		s.failed += len(s.batch)
		s.lastErr = err
	} else {
		s.accepted += len(res.Accepted)
		s.rejected += len(res.Rejected)
		for _, r := range res.Rejected {
			fmt.Fprintf(s.stderr, "probe measure: collector rejected %s: %s\n", r.ID, r.Reason)
		}
	}
	s.batch = s.batch[:0]
}

// flush sends what is left and reports the totals; it fails when anything was not stored.
func (s *submitter) flush(ctx context.Context) error {
	s.send(ctx)
	fmt.Fprintf(s.stderr, "probe measure: submitted to the collector: %d accepted, %d rejected, %d not delivered\n", s.accepted, s.rejected, s.failed)
	if s.failed > 0 {
		return fmt.Errorf("%d measurements not delivered to the collector (they are in the output above): %w", s.failed, s.lastErr)
	}
	if s.rejected > 0 {
		return fmt.Errorf("the collector rejected %d measurements", s.rejected)
	}
	return nil
}

// setMemoryLimit sets the runtime's soft memory limit from the config (MB; nil: def;
// 0: none), unless GOMEMLIMIT already set one. Probes run on routers and small boards:
// near the limit the garbage collector runs more often instead of growing the heap.
func setMemoryLimit(mb *int64, def int64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := def
	if mb != nil {
		limit = *mb
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit << 20)
	}
}

// readTargets gathers targets from the arguments and files; every bad one is named.
func readTargets(args []string, files, categories []string) ([]target.Target, error) {
	var targets []target.Target
	var errs []error
	for _, a := range args {
		t, err := target.Parse(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		targets = append(targets, t)
	}
	for _, f := range files {
		ts, err := target.ReadFile(f, categories)
		targets = append(targets, ts...)
		if err != nil {
			errs = append(errs, fmt.Errorf("-f: %w", err))
		}
	}
	if len(errs) > 0 {
		return nil, usageError("%v", errors.Join(errs...))
	}
	if len(targets) == 0 {
		return nil, usageError("no targets: give TARGET arguments or -f FILE")
	}
	return targets, nil
}

// printer streams measurements as JSON lines as they complete, or collects table rows
// and prints them, aligned, in the order the targets were given.
type printer struct {
	enc   *json.Encoder
	tw    *tabwriter.Writer
	order map[string]int // target → position of its first mention
	rows  []row
	err   error
}

type row struct {
	pos  int
	cols string
}

func newPrinter(format string, w io.Writer, targets []target.Target) *printer {
	p := &printer{}
	if format == "json" {
		p.enc = json.NewEncoder(w)
		p.enc.SetEscapeHTML(false)
		return p
	}
	p.tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p.order = make(map[string]int, len(targets))
	for i, t := range targets {
		if _, dup := p.order[t.String()]; !dup {
			p.order[t.String()] = i
		}
	}
	return p
}

func (p *printer) print(m *measurement.Measurement) {
	if p.err != nil {
		return
	}
	if p.enc != nil {
		p.err = p.enc.Encode(m)
		return
	}
	method := m.Verdict.Method
	if method == "" {
		method = "-"
	}
	p.rows = append(p.rows, row{p.order[m.Target], fmt.Sprintf("%s\t%s\t%s\t%s\n", m.Target, m.Verdict.Status, method, strings.ReplaceAll(m.Verdict.Reason, "\t", " "))})
}

func (p *printer) close() error {
	if p.tw != nil && p.err == nil {
		sort.SliceStable(p.rows, func(i, j int) bool { return p.rows[i].pos < p.rows[j].pos })
		_, p.err = fmt.Fprint(p.tw, "TARGET\tSTATUS\tMETHOD\tREASON\n")
		for _, r := range p.rows {
			if p.err == nil {
				_, p.err = fmt.Fprint(p.tw, r.cols)
			}
		}
		if p.err == nil {
			p.err = p.tw.Flush()
		}
	}
	if p.err != nil {
		return fmt.Errorf("writing output: %w", p.err)
	}
	return nil
}
