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

	"github.com/pantau-dev/pantau/control"
	"github.com/pantau-dev/pantau/engine"
	"github.com/pantau-dev/pantau/measurement"
	"github.com/pantau-dev/pantau/target"
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
	var ctrl engine.Controller
	if len(c.Controls) > 0 {
		cl, err := control.NewClient(c.Controls, nil, *controlTimeout, log)
		if err != nil {
			return usageError("--control: %v", err)
		}
		ctrl = cl
	}
	eng := engine.New(ecfg, log)
	out := newPrinter(*format, stdout, targets)
	eng.Run(ctx, targets, *concurrency, ctrl, out.print)
	return out.close()
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
