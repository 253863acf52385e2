package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pantau-dev/pantau/collector/ooni"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/cmdline"
	"github.com/pantau-dev/pantau/internal/fingerprint"
)

// importCommand is `collector import`: measurements from other projects' open data.
func importCommand(e env) *cmdline.Command {
	return &cmdline.Command{
		Name:    "import",
		Summary: "store measurements from other projects' open data (OONI) as Pantau measurements",
		Commands: []*cmdline.Command{{
			Name:    "ooni",
			Summary: "import OONI Web Connectivity measurements (JSON lines, plain or gzip) into the InfluxDB of --config",
			Usage:   "--config FILE [--networks FILE] [--max-line BYTES] FILE|DIR|-",
			Details: "Reads a file, every *.jsonl, *.jsonl.gz, *.json and *.json.gz under a directory, or standard input (-), " +
				"as OONI publishes them, one measurement a line; other OONI tests are skipped. Each measurement is stored with " +
				"Pantau's verdict, derived from OONI's observations, and OONI's own verdict beside it (docs/ooni.md), as probe " +
				"ooni/AS<number> on the network --networks names (default: Indonesia's main ISPs, else AS<number>). " +
				"Importing a file again stores nothing twice. A bad line is reported with its file and line number and the " +
				"import goes on; the summary counts the lines read, stored, already stored, skipped and bad. " +
				"Exit 1 when a line was bad or the store became unavailable (what was stored stays; import again to resume).",
			Args: true,
			Examples: []string{
				"collector import ooni --config /etc/pantau/collector.yaml 2017-07-20-web_connectivity-ID.jsonl.gz",
				"collector import ooni --config collector.yaml --networks networks.yaml ooni-data/",
				"zcat *.jsonl.gz | collector import ooni --config collector.yaml -",
			},
			Setup: func(fs *flag.FlagSet) cmdline.Runner { return importOONICmd(fs, e) },
		}},
		Examples: []string{"collector import ooni --config collector.yaml measurements.jsonl.gz"},
	}
}

// importOONICmd registers the flags of `collector import ooni` and returns the command.
func importOONICmd(fs *flag.FlagSet, e env) cmdline.Runner {
	cfgPath := fs.String("config", "", "collector config `FILE` naming the InfluxDB to store into (required)")
	netsPath := fs.String("networks", "", "YAML `FILE` mapping ASN to the fleet's network names (AS7713: Telkom Indonesia); default: the built-in map of Indonesia's main ISPs")
	maxLine := fs.Int("max-line", ooni.DefaultMaxLine, "longest line in `BYTES`; a longer one is a bad line")
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return usageError("give one FILE, DIR or - (standard input), got %d", len(args))
		}
		if *cfgPath == "" {
			return usageError("--config is required")
		}
		if *maxLine < 1 {
			return usageError("--max-line %d: want a positive number of bytes", *maxLine)
		}
		nets := ooni.DefaultNetworks()
		if *netsPath != "" {
			var err error
			if nets, err = ooni.LoadNetworks(*netsPath); err != nil {
				return usageError("--networks: %v", err)
			}
		}
		files, err := importFiles(args[0])
		if err != nil {
			return err
		}
		_, st, closeStore, err := openConfig(*cfgPath, e)
		if err != nil {
			return err
		}
		defer closeStore()
		im := &importer{e: e, w: storeWriter{st}, mp: ooni.NewMapper(nets, fingerprint.NewSet(fingerprint.Builtin())),
			maxLine: *maxLine, live: cmdline.IsTerminal(e.stderr)}
		return im.run(ctx, files)
	}
}

// importFiles lists what arg names: "-", a file, or the measurement files under a
// directory, in lexical order.
func importFiles(arg string) ([]string, error) {
	if arg == "-" {
		return []string{"-"}, nil
	}
	fi, err := os.Stat(arg)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{arg}, nil
	}
	var files []string
	err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(d.Name(), ".gz")
		if !d.IsDir() && (strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".json")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no *.jsonl, *.jsonl.gz, *.json or *.json.gz file in it", arg)
	}
	return files, nil
}

// importer runs one `collector import ooni`.
type importer struct {
	e       env
	w       storeWriter
	mp      *ooni.Mapper
	maxLine int
	live    bool // stderr is a terminal: show the progress line
	total   ooni.Summary
	drawn   time.Time
}

// run imports each file in turn and prints the summary.
func (im *importer) run(ctx context.Context, files []string) error {
	start := time.Now()
	var runErr error
	for _, f := range files {
		if runErr = im.file(ctx, f); runErr != nil {
			break
		}
	}
	im.clear()
	what := "1 file"
	if len(files) != 1 {
		what = fmt.Sprintf("%d files", len(files))
	}
	fmt.Fprintf(im.e.stdout, "collector import ooni: %s in %s: %s\n", what, cmdline.Elapsed(time.Since(start)), im.total)
	switch {
	case runErr != nil:
		return runErr
	case im.total.Bad > 0:
		return fmt.Errorf("%d bad lines (reported above)", im.total.Bad)
	}
	return nil
}

// file imports one file ("-": standard input).
func (im *importer) file(ctx context.Context, path string) error {
	var r io.Reader = os.Stdin
	name, size := "stdin", int64(0)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		r, name = f, path
	}
	cr := &countingReader{r: r}
	done := im.total
	s, err := ooni.Import(ctx, cr, name, im.mp, im.w, ooni.Options{
		MaxLine: im.maxLine,
		Bad: func(le *ooni.LineError) {
			im.clear()
			fmt.Fprintf(im.e.stderr, "collector import ooni: %v\n", le)
		},
		Progress: func(s ooni.Summary) {
			now := done
			now.Add(s)
			im.progress(name, cr.n.Load(), size, now)
		},
	})
	im.total.Add(s)
	return err
}

// progress redraws the progress line at most every 100 ms, on a terminal only.
func (im *importer) progress(name string, read, size int64, s ooni.Summary) {
	if !im.live || time.Since(im.drawn) < 100*time.Millisecond {
		return
	}
	im.drawn = time.Now()
	pos := fmt.Sprintf("%s read", bytesText(read))
	if size > 0 {
		pos = fmt.Sprintf("%s of %s (%d%%)", bytesText(read), bytesText(size), read*100/size)
	}
	fmt.Fprintf(im.e.stderr, "\rcollector import ooni: %s: %s, %d stored, %d already stored, %d bad\x1b[K",
		filepath.Base(name), pos, s.Stored, s.AlreadyStored, s.Bad)
}

// clear erases the progress line, if one is shown.
func (im *importer) clear() {
	if im.live && !im.drawn.IsZero() {
		fmt.Fprint(im.e.stderr, "\r\x1b[K")
		im.drawn = time.Time{}
	}
}

// storeWriter stores batches with the store, which says which items it wrote (the
// others it had already, identically, or refused as conflicts).
type storeWriter struct{ st *store.Store }

func (w storeWriter) Write(ctx context.Context, items []store.Item) ([]bool, error) {
	written, err := w.st.WriteNew(ctx, items)
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return nil, err
	case err != nil && !errors.Is(err, store.ErrConflict):
		return nil, fmt.Errorf("refused by InfluxDB: %w", err)
	}
	return written, err // nil, or the conflicts (the other items are stored)
}

// countingReader counts the bytes read through it (for the progress line).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// bytesText prints n bytes for people: 12.3 MB.
func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
