// Package influxql runs InfluxQL over InfluxDB's v1 query API (POST /query), which InfluxDB
// OSS 1.8, 2.x (through DBRP mappings: OSS 2.x maps every bucket to a virtual database of
// its name) and 3 (Core, Enterprise, Cloud Serverless and Dedicated, which have no Flux)
// all serve. It is the one InfluxQL client of the collector's store, the storage tests
// (internal/influxtest) and the benchmarks. Answers are asked for in chunks and decoded
// chunk by chunk as they arrive; times come as epoch nanoseconds and numbers as
// json.Number.
package influxql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ChunkSize is the number of rows per chunk of an answer.
const ChunkSize = 10000

// Client sends InfluxQL to one InfluxDB. The zero value of a field other than URL means
// none: no default database or retention policy (the statement names them, or needs none,
// like CREATE DATABASE), no Authorization header, http.DefaultClient.
type Client struct {
	URL           string       // base URL, http(s)://host:port; a trailing slash is ignored
	DB, RP        string       // default database and retention policy of the statements
	Authorization string       // the Authorization header's value
	HTTP          *http.Client // bounds each request with its Timeout, if any
}

// Series is one series of a statement's result, or one chunk of it: a series longer than a
// chunk has Partial set and continues in the next chunk's series of the same name and tags.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	// Values holds the rows: strings, json.Number (time: epoch ns), bools and nil.
	Values  [][]any `json:"values"`
	Partial bool    `json:"partial"`
}

// Col returns the index of column c, or -1.
func (s *Series) Col(c string) int {
	for i, n := range s.Columns {
		if n == c {
			return i
		}
	}
	return -1
}

// Rows returns the rows as maps from column to value, the series' tags included.
func (s *Series) Rows() []map[string]any {
	out := make([]map[string]any, len(s.Values))
	for i, v := range s.Values {
		row := map[string]any{}
		for j, c := range s.Columns {
			if j < len(v) {
				row[c] = v[j]
			}
		}
		for k, tv := range s.Tags {
			row[k] = tv
		}
		out[i] = row
	}
	return out
}

// Error is a query that failed other than in the caller's function: no answer came, the
// answer was not 200 OK, it broke off, or InfluxDB reported an error in it.
type Error struct {
	// StatusCode is the HTTP status of the answer: 0 when none came (Err says why); 200
	// when the answer broke off (Err) or reported an error (Message).
	StatusCode int
	Message    string // InfluxDB's error message
	Err        error  // why no answer came, or why it could not be read
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil:
		return e.Err.Error()
	case e.StatusCode == http.StatusOK:
		return e.Message
	}
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// answer is one JSON object of a chunked answer.
type answer struct {
	Results []struct {
		StatementID int      `json:"statement_id"`
		Series      []Series `json:"series"`
		Error       string   `json:"error"`
	} `json:"results"`
	Error string `json:"error"`
}

// Query runs the InfluxQL statements q (separated by ";") and calls f with each series of
// each statement's result (stmt counts from 0), in the order of the answer, as its chunks
// arrive. An error of f ends the query and is returned as it is; every other error is an
// *Error.
func (c *Client) Query(ctx context.Context, q string, f func(stmt int, se *Series) error) error {
	resp, err := c.post(ctx, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	for {
		var a answer
		if err := dec.Decode(&a); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return &Error{StatusCode: resp.StatusCode, Err: err}
		}
		if a.Error != "" {
			return &Error{StatusCode: resp.StatusCode, Message: a.Error}
		}
		for _, r := range a.Results {
			if r.Error != "" {
				return &Error{StatusCode: resp.StatusCode, Message: r.Error}
			}
			for i := range r.Series {
				if err := f(r.StatementID, &r.Series[i]); err != nil {
					return err
				}
			}
		}
	}
}

// post sends q and returns the answer when it is 200 OK.
func (c *Client) post(ctx context.Context, q string) (*http.Response, error) {
	params := url.Values{"epoch": {"ns"}, "chunked": {"true"}, "chunk_size": {strconv.Itoa(ChunkSize)}}
	if c.DB != "" {
		params.Set("db", c.DB)
	}
	if c.RP != "" {
		params.Set("rp", c.RP)
	}
	u := strings.TrimRight(c.URL, "/") + "/query?" + params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(url.Values{"q": {q}}.Encode()))
	if err != nil {
		return nil, &Error{Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Encoding", "identity")
	if c.Authorization != "" {
		req.Header.Set("Authorization", c.Authorization)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, &Error{Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var a answer
		msg := strings.Join(strings.Fields(string(b)), " ")
		if json.Unmarshal(b, &a) == nil && a.Error != "" {
			msg = a.Error
		}
		return nil, &Error{StatusCode: resp.StatusCode, Message: msg}
	}
	return resp, nil
}

// Series runs q and returns the series of its first statement's result, the chunks of
// each series joined.
func (c *Client) Series(ctx context.Context, q string) ([]Series, error) {
	var out []Series
	err := c.Query(ctx, q, func(stmt int, se *Series) error {
		if stmt != 0 {
			return nil
		}
		if n := len(out); n > 0 && out[n-1].Partial {
			out[n-1].Values = append(out[n-1].Values, se.Values...)
			out[n-1].Partial = se.Partial
			return nil
		}
		out = append(out, *se)
		return nil
	})
	return out, err
}

// escaper escapes what InfluxQL's scanner treats specially in a quoted string or
// identifier: the backslash, both quotes, and the newline (which would end the literal
// with an error). InfluxQL has no escape for a carriage return, which its scanner reads
// as a newline: a literal holding one fails to parse (a query error, never another
// query).
var escaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`, `"`, `\"`, "\n", `\n`)

// String quotes s as an InfluxQL string literal.
func String(s string) string { return "'" + escaper.Replace(s) + "'" }

// Ident quotes s as an InfluxQL identifier.
func Ident(s string) string { return `"` + escaper.Replace(s) + `"` }

// Time writes t as an InfluxQL time literal: integer nanoseconds since the epoch.
func Time(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// Text is a value of a row as a string: "" for null or anything else.
func Text(v any) string {
	s, _ := v.(string)
	return s
}

// Int is a value of a row as an integer (InfluxDB answers numbers as JSON numbers, and
// counts of a float field as integers).
func Int(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}
