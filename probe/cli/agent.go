package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/control"
	"github.com/pantau-dev/pantau/internal/engine"
	"github.com/pantau-dev/pantau/probe/agent"
	"github.com/pantau-dev/pantau/probe/config"
	"github.com/pantau-dev/pantau/probe/spool"
	"github.com/pantau-dev/pantau/probe/uplink"
)

// agentSetup is what run, once and status share.
type agentSetup struct {
	cfg   *config.Config
	spool *spool.Spool
	agent *agent.Agent
}

// newAgent builds the agent from --config and the engine flags. Without openSpool the
// spool is left alone (it is locked by a running `probe run`): the agent can then only
// tell its schedules, which is what `probe status` needs.
func newAgent(ef *engineFlags, stderr io.Writer, openSpool bool) (*agentSetup, error) {
	c, err := ef.load(time.Second)
	if err != nil {
		return nil, err
	}
	setMemoryLimit(c.MemoryLimitMB, agentMemoryLimitMB)
	log, err := ef.newLogger(stderr)
	if err != nil {
		return nil, err
	}
	ecfg, err := engineConfig(c, "pantau-probe")
	if err != nil {
		return nil, err
	}
	ac := c.Agent
	if ac.StateDir == "" {
		ac.StateDir = "/var/lib/pantau"
	}
	var sp *spool.Spool
	if openSpool {
		so := spool.Options{Dir: ac.StateDir + "/spool", MaxBytes: max(ac.SpoolMaxMB, 0) << 20,
			AsideMaxBytes: max(ac.SpoolAsideMaxMB, 0) << 20, Log: log}
		if sp, err = spool.Open(so); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
	}
	up, token, err := newUplink(c, log)
	if err != nil {
		if sp != nil {
			sp.Close()
		}
		return nil, err
	}
	var ctrl engine.Controller
	if len(c.Controls) > 0 {
		opts, err := controlOptions(c, ac.Collector, token)
		if err != nil {
			return nil, err
		}
		cl, err := control.NewClient(c.Controls, nil, 30*time.Second, log, opts...)
		if err != nil {
			return nil, usageError("controls: %v", err)
		}
		ctrl = cl
	}
	// SIGHUP re-reads the configuration for the uplink: a new token or collector URL
	// unblocks a probe that the collector refuses, without a restart.
	reconnect := func() (*uplink.Client, error) {
		c, err := ef.load(time.Second)
		if err != nil {
			return nil, err
		}
		up, _, err := newUplink(c, log)
		return up, err
	}
	a, err := agent.New(agent.Options{
		Engine: ecfg, Control: ctrl, Spool: sp, Uplink: up, Reconnect: reconnect, SchedulesDir: ac.SchedulesDir, StateDir: ac.StateDir,
		Heartbeat: ac.Heartbeat.Duration, Sync: ac.Sync.Duration, DrainRate: ac.DrainRate, Grace: ac.Grace.Duration, Log: log,
	})
	if err != nil {
		if sp != nil {
			sp.Close()
		}
		return nil, usageError("%v", err)
	}
	return &agentSetup{cfg: c, spool: sp, agent: a}, nil
}

// newUplink returns the collector client the configuration c describes (nil without
// agent.collector) and the probe's token (agent.token_file, agent.token, $PANTAU_TOKEN).
func newUplink(c *config.Config, log *slog.Logger) (*uplink.Client, string, error) {
	ac := c.Agent
	token := ac.Token
	if ac.TokenFile != "" {
		b, err := os.ReadFile(ac.TokenFile)
		if err != nil {
			return nil, "", usageError("agent.token_file: %v", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		token = os.Getenv("PANTAU_TOKEN")
	}
	if ac.Collector == "" {
		return nil, token, nil
	}
	var roots *x509.CertPool
	if ac.CollectorCA != "" {
		pem, err := os.ReadFile(ac.CollectorCA)
		if err != nil {
			return nil, "", usageError("agent.collector_ca: %v", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, "", usageError("agent.collector_ca: %s holds no PEM certificate", ac.CollectorCA)
		}
	}
	up, err := uplink.New(uplink.Options{Collector: ac.Collector, Token: token, RootCAs: roots, Log: log, Software: cmdline.Version})
	if err != nil {
		return nil, "", usageError("agent: %v", err)
	}
	return up, token, nil
}

// runCommand is `probe run`: the long-running agent.
func runCommand(s streams) *cmdline.Command {
	return &cmdline.Command{
		Name:    "run",
		Summary: "run the schedules on cron, spool the measurements and submit them to the collector",
		Usage:   "--config FILE [flags]",
		Details: "SIGHUP reloads the schedules and the collector settings (agent.collector, token, token_file, collector_ca); SIGINT or SIGTERM stops after the measurements in flight.",
		Examples: []string{
			"probe run --config /etc/pantau/probe.yaml",
			"probe run --config probe.yaml --log-level info",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			var ef engineFlags
			ef.register(fs)
			return func(ctx context.Context, _ []string) error { return runAgent(ctx, &ef, s.stderr) }
		},
	}
}

// runAgent runs the agent until ctx ends.
func runAgent(ctx context.Context, ef *engineFlags, stderr io.Writer) error {
	s, err := newAgent(ef, stderr, true)
	if err != nil {
		return err
	}
	defer s.spool.Close()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return s.agent.Run(ctx, hup)
}

// onceCommand is `probe once --schedule NAME`: run one schedule now and submit the results.
func onceCommand(s streams) *cmdline.Command {
	return &cmdline.Command{
		Name:    "once",
		Summary: "run one schedule now and submit its measurements",
		Usage:   "--config FILE --schedule NAME [flags]",
		Examples: []string{
			"probe once --config probe.yaml --schedule id-telegram-web-2017",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			var ef engineFlags
			ef.register(fs)
			name := fs.String("schedule", "", "`NAME` of the schedule to run")
			return func(ctx context.Context, _ []string) error { return runOnce(ctx, &ef, *name, s) }
		},
	}
}

// runOnce runs the schedule called name, submits what it measured and says so on stdout.
func runOnce(ctx context.Context, ef *engineFlags, name string, ss streams) error {
	if name == "" {
		return usageError("--schedule is required")
	}
	s, err := newAgent(ef, ss.stderr, true)
	if err != nil {
		return err
	}
	defer s.spool.Close()
	sch := s.agent.Schedules().Get(name)
	if sch == nil {
		var names []string
		for _, x := range s.agent.Schedules().Schedules {
			names = append(names, x.Name)
		}
		return usageError("--schedule %q: no such schedule (have %s)", name, strings.Join(names, ", "))
	}
	n, err := s.agent.RunSchedule(ctx, sch)
	if err != nil {
		return err
	}
	s.agent.Drain(ctx)
	st := s.spool.Stats()
	fmt.Fprintf(ss.stdout, "schedule %s: %d measurements spooled; spool depth now %d\n", sch.Name, n, st.Depth)
	if s.cfg.Agent.Collector != "" && st.Depth > 0 {
		return fmt.Errorf("%d measurements still spooled: the collector did not take them (they are kept and retried by `probe run`)", st.Depth)
	}
	return nil
}

// statusCommand is `probe status`: the schedules, their next runs, the spool and the last
// submission, read from the state directory.
func statusCommand(s streams) *cmdline.Command {
	return &cmdline.Command{
		Name:    "status",
		Summary: "print the schedules, their next runs, the spool depth and the last submission",
		Usage:   "--config FILE [flags]",
		Examples: []string{
			"probe status --config /etc/pantau/probe.yaml",
		},
		Setup: func(fs *flag.FlagSet) cmdline.Runner {
			var ef engineFlags
			ef.register(fs)
			return func(context.Context, []string) error { return status(&ef, s.stdout, s.stderr) }
		},
	}
}

// status prints the agent's state as a table.
func status(ef *engineFlags, stdout, stderr io.Writer) error {
	s, err := newAgent(ef, stderr, false)
	if err != nil {
		return err
	}
	st, err := agent.ReadState(stateDir(s.cfg))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("state: %w", err)
	}
	set := s.agent.Schedules()
	now := time.Now().UTC()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "schedules\t%d loaded, hash %s\n", len(set.Schedules), short(set.Hash))
	fmt.Fprintln(tw, "SCHEDULE\tCRON\tTARGETS\tNEXT RUN (UTC)\tLAST RUN\tMEASUREMENTS")
	for _, sc := range set.Schedules {
		last := "never"
		ls := st.Schedules[sc.Name]
		if !ls.LastStart.IsZero() {
			last = ls.LastStart.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\n", sc.Name, sc.Cron, len(sc.Targets), sc.Next(now).Format(time.RFC3339), last, ls.Measurements)
	}
	spoolDir := filepath.Join(stateDir(s.cfg), "spool")
	sp, err := spool.ReadStats(spoolDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// `probe run` or `probe once` creates the spool: before the first, it is empty.
		fmt.Fprintf(tw, "spool\tempty: no run yet (%s does not exist)\n", spoolDir)
	case err != nil:
		return fmt.Errorf("spool: %w", err)
	default:
		fmt.Fprintf(tw, "spool\tdepth %d (%d bytes); dropped %d, rejected %d, corrupt %d; kept-aside files pruned %d (%d bytes)\n",
			sp.Depth, sp.Bytes, sp.Dropped, sp.Rejected, sp.Corrupt, sp.Pruned, sp.PrunedBytes)
	}
	sub := "never"
	if !st.LastSubmission.At.IsZero() {
		sub = fmt.Sprintf("%s: %d accepted, %d rejected", st.LastSubmission.At.Format(time.RFC3339), st.LastSubmission.Accepted, st.LastSubmission.Rejected)
		if st.LastSubmission.Error != "" {
			sub += "; error: " + st.LastSubmission.Error
		}
	}
	fmt.Fprintf(tw, "last submission\t%s\n", sub)
	if b := st.Blocked; b != nil {
		next := "at once"
		if !b.NextTry.IsZero() {
			next = b.NextTry.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "uplink\t%s; %d refused tries, next try %s; the backlog stays spooled (a new token or URL: SIGHUP or restart)\n",
			b, b.Attempts, next)
	}
	if st.HeartbeatError != "" {
		fmt.Fprintf(tw, "heartbeat\tnot delivered: %s\n", st.HeartbeatError)
	}
	if st.SyncError != "" {
		fmt.Fprintf(tw, "schedule sync\trefused: %s\n", st.SyncError)
	}
	return tw.Flush()
}

func stateDir(c *config.Config) string {
	if c.Agent.StateDir == "" {
		return "/var/lib/pantau"
	}
	return c.Agent.StateDir
}

func short(h string) string { return h[:min(len(h), 12)] }
