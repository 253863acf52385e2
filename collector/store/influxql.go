package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// Reads use InfluxQL over the v1 query API (`/query`), which InfluxDB 1.8, 2.x (through
// DBRP mappings; 2.x maps every bucket to a virtual database of its name) and 3 (Core,
// Enterprise, Cloud Serverless and Dedicated) all serve; InfluxDB 3 has no Flux.

// qlChunk is the number of rows per chunk of a chunked answer.
const qlChunk = 10000

// qlSeries is one series of an InfluxQL answer, or one chunk of it: a series longer than
// a chunk continues in the next chunk's series of the same name and tags.
type qlSeries struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"` // strings, json.Number (time: epoch ns), bools, nil
}

// col returns the index of column c, or -1.
func (se *qlSeries) col(c string) int {
	for i, n := range se.Columns {
		if n == c {
			return i
		}
	}
	return -1
}

// rowCols finds the columns of a series: by name, and the raw chunks in order.
type rowCols struct {
	byName map[string]int
	raw    []int // column of raw, raw_1, …; -1 where the series has none
}

func newRowCols(se *qlSeries) rowCols {
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
		return qlText(row[i])
	}
	return ""
}

// rawJSON concatenates raw, raw_1, … up to the first chunk that is absent or null.
func (c rowCols) rawJSON(row []any) string {
	var b strings.Builder
	for _, i := range c.raw {
		part, ok := row[i].(string)
		if !ok {
			break
		}
		b.WriteString(part)
	}
	return b.String()
}

// qlAnswer is one JSON object of a chunked answer.
type qlAnswer struct {
	Results []struct {
		StatementID int        `json:"statement_id"`
		Series      []qlSeries `json:"series"`
		Error       string     `json:"error"`
	} `json:"results"`
	Error string `json:"error"`
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

// qlEscaper escapes what InfluxQL's scanner treats specially in a quoted string or
// identifier: the backslash, both quotes, and the newline (which would end the literal
// with an error). InfluxQL has no escape for a carriage return, which its scanner reads
// as a newline: a literal holding one fails to parse (a query error, never another
// query). Validation keeps both out of every value anyway.
var qlEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`, `"`, `\"`, "\n", `\n`)

// qlString quotes s as an InfluxQL string literal.
func qlString(s string) string { return "'" + qlEscaper.Replace(s) + "'" }

// qlIdent quotes s as an InfluxQL identifier.
func qlIdent(s string) string { return `"` + qlEscaper.Replace(s) + `"` }

// qlTime writes t as an InfluxQL time literal: integer nanoseconds since the epoch.
func qlTime(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// influxQL runs InfluxQL statements q (separated by ";") on the configured database and
// retention policy and calls f with each series of each statement's result, in the
// order of the answer, as the chunks of the answer arrive.
func (s *Store) influxQL(ctx context.Context, q string, f func(stmt int, se *qlSeries) error) error {
	what := "querying " + s.cfg.Bucket
	db, rp := dbRP(s.cfg.Bucket)
	params := url.Values{"db": {db}, "epoch": {"ns"}, "chunked": {"true"}, "chunk_size": {strconv.Itoa(qlChunk)}}
	if rp != "" {
		params.Set("rp", rp)
	}
	u := strings.TrimRight(s.cfg.URL, "/") + "/query?" + params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(url.Values{"q": {q}}.Encode()))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Encoding", "identity")
	if a := authorization(s.cfg.Org, s.cfg.Token); a != "" {
		req.Header.Set("Authorization", a)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return s.classify(ctx, what, &ihttp.Error{Err: err})
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var a qlAnswer
		msg := strings.Join(strings.Fields(string(b)), " ")
		if json.Unmarshal(b, &a) == nil && a.Error != "" {
			msg = a.Error
		}
		return s.classify(ctx, what, &ihttp.Error{StatusCode: resp.StatusCode, Message: msg,
			Err: fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)})
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	for {
		var a qlAnswer
		if err := dec.Decode(&a); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return s.classify(ctx, "reading query results from "+s.cfg.Bucket, &ihttp.Error{Err: err})
		}
		if a.Error != "" {
			return s.queryError(ctx, what, a.Error)
		}
		for _, r := range a.Results {
			if r.Error != "" {
				return s.queryError(ctx, what, r.Error)
			}
			for i := range r.Series {
				if err := f(r.StatementID, &r.Series[i]); err != nil {
					return err
				}
			}
		}
	}
}

// queryError wraps an error InfluxDB reported in its answer. A missing database or
// retention policy is a configuration error, like a 404: unavailable.
func (s *Store) queryError(ctx context.Context, what, msg string) error {
	if strings.Contains(msg, "database not found") || strings.Contains(msg, "retention policy not found") {
		return s.classify(ctx, what, &ihttp.Error{StatusCode: http.StatusNotFound, Message: msg, Err: errors.New(msg)})
	}
	return fmt.Errorf("%s: influxql error: %s", what, msg)
}

// qlText is v as a string: "" for null or anything else.
func qlText(v any) string {
	s, _ := v.(string)
	return s
}

// qlInt is v as an integer (InfluxDB answers numbers as JSON numbers).
func qlInt(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

// qlRowTime is the time of a row (column 0 with epoch=ns).
func qlRowTime(row []any) (time.Time, error) {
	if len(row) > 0 {
		if ns, ok := qlInt(row[0]); ok {
			return time.Unix(0, ns).UTC(), nil
		}
		return time.Time{}, fmt.Errorf("query result: time %v is not epoch nanoseconds", row[0])
	}
	return time.Time{}, errors.New("query result: a row without a time")
}
