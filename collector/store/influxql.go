package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/internal/influxql"
)

// Reads use InfluxQL over the v1 query API (package influxql), which InfluxDB 1.8, 2.x
// (through DBRP mappings) and 3 all serve; InfluxDB 3 has no Flux.

// rowCols finds the columns of a series: by name, and the raw chunks in order.
type rowCols struct {
	byName map[string]int
	raw    []int // column of raw, raw_1, …; -1 where the series has none
}

func newRowCols(se *influxql.Series) rowCols {
	c := rowCols{byName: make(map[string]int, len(se.Columns))}
	for i, n := range se.Columns {
		c.byName[n] = i
	}
	for i := 0; ; i++ {
		j, ok := c.byName[rawField(i)]
		if !ok {
			break
		}
		c.raw = append(c.raw, j)
	}
	return c
}

func (c rowCols) text(row []any, name string) string {
	if i, ok := c.byName[name]; ok && i < len(row) {
		return influxql.Text(row[i])
	}
	return ""
}

// rawJSON concatenates raw, raw_1, … up to the first chunk that is absent or null: the
// JSON as submitted, its white space restored (unescapeSpace).
func (c rowCols) rawJSON(row []any) string {
	var b strings.Builder
	for _, i := range c.raw {
		part, ok := row[i].(string)
		if !ok {
			break
		}
		b.WriteString(part)
	}
	return unescapeSpace(b.String())
}

// dbRP maps the configured bucket to the v1 database and retention policy: "db/rp" to
// db and rp, "name" to db name and the default retention policy ("").
func dbRP(bucket string) (db, rp string) {
	db, rp, _ = strings.Cut(bucket, "/")
	return db, rp
}

// authorization is the Authorization header for token: with no org and a token
// "user:password" (InfluxDB 1.8), Basic authentication, which 1.8 accepts on /query
// also for passwords holding a space (1.8 reads "Token user:password" too, but splits
// the header at spaces); otherwise "Token <token>", which 2.x and 3 accept on /query
// (API tokens never hold a colon). "" without a token (authentication off).
func authorization(org, token string) string {
	switch {
	case token == "":
		return ""
	case org == "" && strings.Contains(token, ":"):
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(token))
	}
	return "Token " + token
}

// influxQL runs InfluxQL statements q (separated by ";") on the configured database and
// retention policy and calls f with each series of each statement's result, in the
// order of the answer, as the chunks of the answer arrive. Errors of f are returned as
// they are; the others are classified like write errors: no answer, an answer that broke
// off, a status that says retry, or a missing database or retention policy (a
// configuration error, like a 404) wrap ErrUnavailable.
func (s *Store) influxQL(ctx context.Context, q string, f func(stmt int, se *influxql.Series) error) error {
	err := s.ql.Query(ctx, q, f)
	var qe *influxql.Error
	if !errors.As(err, &qe) {
		return err
	}
	what := "querying " + s.cfg.Bucket
	switch {
	case qe.StatusCode == http.StatusOK && qe.Err != nil:
		what = "reading query results from " + s.cfg.Bucket
	case qe.StatusCode == http.StatusOK && (strings.Contains(qe.Message, "database not found") ||
		strings.Contains(qe.Message, "retention policy not found")):
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, qe)
	case qe.StatusCode == http.StatusOK:
		return fmt.Errorf("%s: influxql error: %s", what, qe.Message)
	}
	return s.classify(ctx, what, qe)
}

// rowTime is the time of a row (column 0 with epoch=ns).
func rowTime(row []any) (time.Time, error) {
	if len(row) > 0 {
		if ns, ok := influxql.Int(row[0]); ok {
			return time.Unix(0, ns).UTC(), nil
		}
		return time.Time{}, fmt.Errorf("query result: time %v is not epoch nanoseconds", row[0])
	}
	return time.Time{}, errors.New("query result: a row without a time")
}
