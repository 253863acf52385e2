package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
	"github.com/pantau-dev/pantau/probe/config"
	"github.com/pantau-dev/pantau/probe/uplink"
)

// measureCommand is `probe measure`: measure every target now and print the measurements.
func measureCommand(s streams) *cmdline.Command {
	return &cmdline.Command{
		Name:    "measure",
		Summary: "measure targets now and print one JSON object (or table row) per target",
		Usage:   "[flags] [TARGET...]",
		Details: "TARGET is a domain (https://DOMAIN/), an http(s) URL, or tcp://HOST:PORT.\n" +
			"With --format table, a count of the verdicts follows the table on stderr, and on a\n" +
			"terminal a progress line there says how far the run is.",
		Args: true,
		Examples: []string{
			"probe measure t.me https://web.telegram.org/ tcp://149.154.167.51:443",
			"probe measure --format table --control https://helper.example.org/api/v1/control -f targets.txt",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			f := &measureFlags{}
			f.register(fs)
			return func(ctx context.Context, args []string) error { return f.run(ctx, args, s) }
		},
	}
}

// measureFlags are the flags of `probe measure`.
type measureFlags struct {
	ef                          engineFlags
	controls, files, categories listFlag
	concurrency                 int
	memLimit                    int64
	format                      string
	controlTimeout              time.Duration
	collector, token            string
	controlToken                string
	controlTokenPlainHTTP       bool
	cpuProfile                  string
}

func (f *measureFlags) register(fs *flag.FlagSet) {
	f.ef.register(fs)
	fs.Var(&f.controls, "control", "control helper `URL`, e.g. https://helper.example.org (its /api/v1/control) or the full endpoint URL (repeatable; the first that answers is used, busy ones are retried)")
	fs.Var(&f.files, "f", "read targets from `FILE`: one per line, or a Citizen Lab test-list CSV (repeatable)")
	fs.Var(&f.categories, "category", "with a Citizen Lab CSV, keep only this category `CODE` (repeatable)")
	fs.IntVar(&f.concurrency, "concurrency", 0, "targets measured at once (default 64)")
	fs.Int64Var(&f.memLimit, "memory-limit-mb", -1, "soft memory limit in `MB`: the garbage collector works harder near it (default 30; 0: none)")
	fs.StringVar(&f.format, "format", "json", "output `FORMAT`: json (one object per line) or table")
	fs.DurationVar(&f.controlTimeout, "control-timeout", 30*time.Second, "timeout of one control helper request")
	fs.StringVar(&f.collector, "collector", "", "also submit the measurements to this collector (base `URL`)")
	fs.StringVar(&f.token, "token", "", "the probe's collector `TOKEN` (default $PANTAU_TOKEN); of the control helpers, only one on the collector's origin gets it")
	fs.StringVar(&f.controlToken, "control-token", "", "`TOKEN` for the control helpers (default $PANTAU_CONTROL_TOKEN; config control_token)")
	fs.BoolVar(&f.controlTokenPlainHTTP, "control-token-plain-http", false, "also send --control-token to plain-http helpers beyond loopback (readable on the way)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to `FILE` (go tool pprof)")
}

// run measures the targets of args and -f, printing each measurement as it completes.
func (f *measureFlags) run(ctx context.Context, args []string, s streams) error {
	if f.format != "json" && f.format != "table" {
		return usageError("--format %q: want json or table", f.format)
	}
	if f.concurrency < 0 {
		return usageError("--concurrency %d: must be positive", f.concurrency)
	}
	targets, err := readTargets(args, f.files, f.categories)
	if err != nil {
		return err
	}
	c, err := f.config()
	if err != nil {
		return err
	}
	log, err := f.ef.newLogger(s.stderr)
	if err != nil {
		return err
	}
	ecfg, err := engineConfig(c, "pantau-probe")
	if err != nil {
		return err
	}
	sub, err := f.submitter(log, s.stderr)
	if err != nil {
		return err
	}
	ctrl, err := f.controller(c, log)
	if err != nil {
		return err
	}
	stop, err := startCPUProfile(f.cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	return f.measure(ctx, engine.New(ecfg, log), targets, ctrl, sub, s)
}

// config loads the config file under the flags, fills in the concurrency and sets the
// memory limit.
func (f *measureFlags) config() (*config.Config, error) {
	c, err := f.ef.load(time.Second)
	if err != nil {
		return nil, err
	}
	if len(f.controls) > 0 {
		c.Controls = f.controls
	}
	if f.controlToken != "" {
		c.ControlToken, c.ControlTokenFile = f.controlToken, ""
	}
	if f.controlTokenPlainHTTP {
		c.ControlTokenPlainHTTP = true
	}
	if f.concurrency == 0 {
		f.concurrency = c.Concurrency
	}
	if f.concurrency == 0 {
		f.concurrency = 64
	}
	if f.memLimit >= 0 {
		c.MemoryLimitMB = &f.memLimit
	}
	setMemoryLimit(c.MemoryLimitMB, 30)
	return c, nil
}

// submitter is the collector client of --collector, or nil without one. The token
// defaults to $PANTAU_TOKEN.
func (f *measureFlags) submitter(log *slog.Logger, stderr io.Writer) (*submitter, error) {
	if f.collector == "" {
		return nil, nil
	}
	if f.token == "" {
		f.token = os.Getenv("PANTAU_TOKEN")
	}
	up, err := uplink.New(uplink.Options{Collector: f.collector, Token: f.token, Log: log})
	if err != nil {
		return nil, usageError("--collector: %v", err)
	}
	return &submitter{up: up, stderr: stderr}, nil
}

// controller is the control helper client of the config's controls, or nil without any.
func (f *measureFlags) controller(c *config.Config, log *slog.Logger) (*control.Client, error) {
	if len(c.Controls) == 0 {
		return nil, nil
	}
	opts, err := controlOptions(c, f.collector, f.token)
	if err != nil {
		return nil, err
	}
	cl, err := control.NewClient(c.Controls, nil, f.controlTimeout, log, opts...)
	if err != nil {
		return nil, usageError("--control: %v", err)
	}
	return cl, nil
}

// controlOptions are the control client's credentials: the helper token (control_token,
// control_token_file, else $PANTAU_CONTROL_TOKEN) for the helpers, and the probe's
// collector token only for a helper on the collector's origin (docs/control.md).
func controlOptions(c *config.Config, collector, token string) ([]control.ClientOption, error) {
	tok := c.ControlToken
	if c.ControlTokenFile != "" {
		b, err := os.ReadFile(c.ControlTokenFile)
		if err != nil {
			return nil, usageError("control_token_file: %v", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" {
		tok = os.Getenv("PANTAU_CONTROL_TOKEN")
	}
	var opts []control.ClientOption
	if tok != "" {
		opts = append(opts, control.WithToken(tok))
	}
	if c.ControlTokenPlainHTTP {
		opts = append(opts, control.WithPlainHTTPToken())
	}
	if collector != "" && token != "" {
		opts = append(opts, control.WithCollector(collector, token))
	}
	return opts, nil
}

// measure runs the engine over the targets and prints (and submits) each measurement.
// The table format also counts the verdicts, with a progress line on a terminal. What
// went wrong with the control helpers is said on stderr at the end (reportControl).
func (f *measureFlags) measure(ctx context.Context, eng *engine.Engine, targets []target.Target, cl *control.Client, sub *submitter, s streams) error {
	var ctrl engine.Controller
	if cl != nil {
		ctrl = cl // a nil *Client would be a non-nil Controller
	}
	out := newPrinter(f.format, s.stdout, targets)
	var prog *progress
	if f.format == "table" {
		prog = newProgress(s.stderr, len(targets), s.tty, time.Now)
		prog.run()
	}
	eng.Run(ctx, targets, f.concurrency, ctrl, func(m *measurement.Measurement) {
		out.print(m)
		if prog != nil {
			prog.add(m)
		}
		if sub != nil {
			sub.add(ctx, m)
		}
	})
	if prog != nil {
		prog.finish()
	}
	err := out.close()
	if prog != nil {
		prog.summary()
	}
	if cl != nil {
		if cerr := reportControl(s.stderr, cl.Stats()); cerr != nil && err == nil {
			err = cerr
		}
	}
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
