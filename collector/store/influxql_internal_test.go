package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/influxql"
	"github.com/pantau-dev/pantau/internal/influxtest"
)

// TestQLStringIsALiteral checks the second line of defence: even a value that validation
// would refuse is only ever a string literal (or a quoted identifier) to InfluxQL, which
// reads it as exactly the value. Each hostile string is stored as a field value: its
// quoted literal must match exactly its own point, and a field name made of it, quoted,
// must name exactly that field (the column of the answer).
func TestQLStringIsALiteral(t *testing.T) {
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	s, err := New(Config{URL: url, Bucket: bucket}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hostile := []string{`'`, `\`, `\'`, `''`, `x' OR 'a' = 'a`, `x' OR time > 0 --`, `x'; DROP DATABASE pantau; --`,
		`"`, `a"b`, `\"`, `;`, `--`, "a\nb", "\n", "a\tb", `\n`, `\\n`, `/*`, `$x`, "é€😀", `a''b`, `'\''`}
	// Written as line protocol by hand: the client library would write control characters
	// as two-character escapes, which 1.8 stores as such.
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	var lp strings.Builder
	for i, v := range hostile {
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v)
		fmt.Fprintf(&lp, "hostile v=\"%s\",i=%di %d\n", esc, i, t0.Add(time.Duration(i)*time.Second).UnixNano())
	}
	db, rp := dbRP(bucket)
	resp, err := http.Post(url+"/write?precision=ns&db="+db+"&rp="+rp, "text/plain", strings.NewReader(lp.String()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}
	for i, v := range hostile {
		q := fmt.Sprintf(`SELECT "i", "v", %s FROM "hostile" WHERE "v" = %s AND time >= 0`, influxql.Ident(key(v)), influxql.String(v))
		var rows [][]any
		var cols []string
		err := s.influxQL(ctx, q, func(_ int, se *influxql.Series) error {
			rows, cols = append(rows, se.Values...), se.Columns
			return nil
		})
		if err != nil {
			t.Errorf("%q: %v\n%s", v, err, q)
			continue
		}
		if len(rows) != 1 || len(rows[0]) != 4 || fmt.Sprint(rows[0][1]) != fmt.Sprint(i) || rows[0][2] != v ||
			rows[0][3] != nil || cols[3] != key(v) {
			t.Errorf("%q: %s\n  answered %v %q, want one row: i %d, v itself, and column %q (absent: null)", v, q, cols, rows, i, key(v))
		}
	}
	// A carriage return has no escape in InfluxQL, whose scanner reads it as a newline: the
	// literal fails to parse, an error rather than another query.
	err = s.influxQL(ctx, `SELECT "i" FROM "hostile" WHERE "v" = `+influxql.String("a\rb"), func(int, *influxql.Series) error {
		t.Error("a literal with a carriage return was answered")
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "error parsing query") {
		t.Errorf("CR literal: %v, want a parse error", err)
	}
}

// key is a field name made of v: the answer's column name is the identifier as InfluxQL
// read it.
func key(v string) string { return "k" + v }

// TestDBRPAndAuthorization: the bucket names the v1 database and retention policy, and
// the token's form (with the org) chooses the Authorization header.
func TestDBRPAndAuthorization(t *testing.T) {
	for _, tc := range []struct{ bucket, db, rp string }{
		{"pantau/autogen", "pantau", "autogen"}, {"pantau", "pantau", ""}, {"a/b/c", "a", "b/c"},
	} {
		if db, rp := dbRP(tc.bucket); db != tc.db || rp != tc.rp {
			t.Errorf("dbRP(%q) = %q, %q; want %q, %q", tc.bucket, db, rp, tc.db, tc.rp)
		}
	}
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct{ org, token, want string }{
		{"", "", ""}, // 1.8 without authentication
		{"", "user:pass word", basic("user:pass word")},          // 1.8 user:password
		{"my-org", "c2VjcmV0dG9rZW4=", "Token c2VjcmV0dG9rZW4="}, // 2.x / Cloud
		{"", "apiv3_abcDEF", "Token apiv3_abcDEF"},               // 3 without an org
		{"my-org", "odd:token", "Token odd:token"},               // an org: never 1.8
	} {
		if got := authorization(tc.org, tc.token); got != tc.want {
			t.Errorf("authorization(%q, %q) = %q, want %q", tc.org, tc.token, got, tc.want)
		}
	}
}
