package influxql_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/influxql"
	"github.com/pantau-dev/pantau/internal/influxtest"
)

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, str, ident string }{
		{"plain", `'plain'`, `"plain"`},
		{`it's`, `'it\'s'`, `"it\'s"`},
		{`a"b`, `'a\"b'`, `"a\"b"`},
		{`C:\x`, `'C:\\x'`, `"C:\\x"`},
		{"a\nb", `'a\nb'`, `"a\nb"`},
		{"a\rb", "'a\rb'", "\"a\rb\""}, // no escape exists: the literal fails to parse
		{"é😀", `'é😀'`, `"é😀"`},
	} {
		if got := influxql.String(tc.in); got != tc.str {
			t.Errorf("String(%q) = %s, want %s", tc.in, got, tc.str)
		}
		if got := influxql.Ident(tc.in); got != tc.ident {
			t.Errorf("Ident(%q) = %s, want %s", tc.in, got, tc.ident)
		}
	}
	if got := influxql.Time(time.Unix(12, 345)); got != "12000000345" {
		t.Errorf("Time = %s", got)
	}
}

// write posts line protocol to database db of the InfluxDB at base.
func write(t *testing.T, base, db, lines string) {
	t.Helper()
	resp, err := http.Post(base+"/write?precision=ns&db="+url.QueryEscape(db), "text/plain", strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}
}

// TestChunks: a series longer than a chunk arrives in parts, the last without Partial;
// Series joins them in order; each statement's series carry its index.
func TestChunks(t *testing.T) {
	base, _ := influxtest.Server(t)
	db, _, _ := strings.Cut(influxtest.NewBucket(t), "/")
	n := influxql.ChunkSize + 5
	var lp strings.Builder
	for i := range n {
		fmt.Fprintf(&lp, "m v=%di %d\n", i, int64(i+1)*1000)
	}
	write(t, base, db, lp.String())
	c := influxql.Client{URL: base + "/", DB: db}
	ctx := context.Background()

	var parts []int
	var partial []bool
	err := c.Query(ctx, `SELECT "v" FROM "m"; SELECT count("v") FROM "m"`, func(stmt int, se *influxql.Series) error {
		if stmt == 0 {
			parts, partial = append(parts, len(se.Values)), append(partial, se.Partial)
			return nil
		}
		if v, ok := influxql.Int(se.Values[0][se.Col("count")]); stmt != 1 || !ok || v != int64(n) {
			t.Errorf("statement %d: %v, want the count %d", stmt, se.Values, n)
		}
		return nil
	})
	if err != nil || len(parts) != 2 || parts[0] != influxql.ChunkSize || parts[1] != 5 || !partial[0] || partial[1] {
		t.Fatalf("chunks of %v rows, partial %v (%v); want %d and 5, the first partial", parts, partial, err, influxql.ChunkSize)
	}

	ss, err := c.Series(ctx, `SELECT "v" FROM "m"`)
	if err != nil || len(ss) != 1 || len(ss[0].Values) != n || ss[0].Partial {
		t.Fatalf("Series: %d series (%v)", len(ss), err)
	}
	for i, row := range ss[0].Values {
		if ts, _ := influxql.Int(row[0]); ts != int64(i+1)*1000 || influxql.Text(row[1]) != "" {
			t.Fatalf("row %d: %v", i, row)
		}
		if v, _ := influxql.Int(row[ss[0].Col("v")]); v != int64(i) {
			t.Fatalf("row %d: %v", i, row)
		}
	}
	if rows := ss[0].Rows(); rows[1]["v"] == nil || rows[1]["time"] == nil || ss[0].Col("nope") != -1 {
		t.Errorf("Rows()[1] = %v", rows[1])
	}
}

// TestErrors: every failure but the caller's own is an *Error telling what failed.
func TestErrors(t *testing.T) {
	base, _ := influxtest.Server(t)
	db, _, _ := strings.Cut(influxtest.NewBucket(t), "/")
	write(t, base, db, "m v=1i 1000\n")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	mine := errors.New("mine")
	for _, tc := range []struct {
		name   string
		c      influxql.Client
		q      string
		status int
		text   string // the start of Error()
	}{
		{"parse error", influxql.Client{URL: base, DB: db}, "SELEKT 1", 400, "HTTP 400: error parsing query: found SELEKT"},
		{"no database", influxql.Client{URL: base, DB: "nope_" + db}, `SELECT "v" FROM "m"`, 200, "database not found: nope_"},
		{"no retention policy", influxql.Client{URL: base, DB: db, RP: "nope"}, `SELECT "v" FROM "m"`, 200, "retention policy not found: nope"},
		{"no answer", influxql.Client{URL: closed, DB: db}, `SELECT "v" FROM "m"`, 0, "Post "},
		{"caller's error", influxql.Client{URL: base, DB: db}, `SELECT "v" FROM "m"`, -1, "mine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Query(context.Background(), tc.q, func(int, *influxql.Series) error { return mine })
			var qe *influxql.Error
			switch {
			case err == nil || !strings.HasPrefix(err.Error(), tc.text):
				t.Fatalf("error %v, want one starting %q", err, tc.text)
			case tc.status < 0:
				if err != mine || errors.As(err, &qe) {
					t.Errorf("error %#v, want the caller's own", err)
				}
			case !errors.As(err, &qe) || qe.StatusCode != tc.status || (qe.Err != nil) != (tc.status == 0):
				t.Errorf("error %#v, want an *Error with status %d", err, tc.status)
			}
		})
	}
}
