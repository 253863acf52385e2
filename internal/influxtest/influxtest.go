// Package influxtest gives tests a real InfluxDB OSS 1.8: the instance shared by a test
// run (started by scripts/with-influxdb, which `make test` uses), a fresh database per test
// on it, or a private instance a test may stop and restart. Without an instance, tests
// skip; with CI=true they fail, so CI cannot pass by skipping storage tests.
package influxtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// Environment variables set by scripts/with-influxdb.
const (
	EnvURL     = "PANTAU_TEST_INFLUX_URL"    // http://127.0.0.1:PORT of the shared instance
	EnvBucket  = "PANTAU_TEST_INFLUX_BUCKET" // "db/rp" on it
	EnvInfluxd = "PANTAU_TEST_INFLUXD"       // the influxd binary
)

// MissingMessage is the reason given when no InfluxDB is available.
const MissingMessage = EnvURL + " is not set: run the tests through scripts/with-influxdb (make test)"

// unavailable skips t, or fails it when running in CI.
func unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Server returns the shared instance's URL and bucket ("db/rp"). Tests that write should
// prefer NewBucket, which isolates them from each other.
func Server(t testing.TB) (url, bucket string) {
	t.Helper()
	url = strings.TrimRight(os.Getenv(EnvURL), "/")
	if url == "" {
		unavailable(t, MissingMessage)
	}
	bucket = os.Getenv(EnvBucket)
	if bucket == "" {
		bucket = "pantau/autogen"
	}
	return url, bucket
}

// NewBucket creates a database with a unique name on the shared instance, drops it when
// the test ends, and returns its bucket ("db/autogen").
func NewBucket(t testing.TB) string {
	t.Helper()
	u, _ := Server(t)
	return newDatabase(t, u)
}

// newDatabase creates a uniquely named database on the instance at u.
func newDatabase(t testing.TB, u string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	db := "test_" + hex.EncodeToString(b[:])
	Exec(t, u, "", "CREATE DATABASE "+db)
	t.Cleanup(func() {
		// The instance may be gone already (a private one, stopped); nothing to drop then.
		_, _ = influxQL(u, "", "DROP DATABASE "+db)
	})
	return db + "/autogen"
}

// Series is one series of an InfluxQL result.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	// Values holds the rows; numbers are json.Number.
	Values [][]any `json:"values"`
}

// Rows returns the series' rows as maps from column to value.
func (s Series) Rows() []map[string]any {
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

// Query runs an InfluxQL statement on database db (the bucket's part before "/" is
// accepted too) and returns the series of its first result; it fails t on any error.
// Timestamps (column "time") come back as nanoseconds since the epoch.
func Query(t testing.TB, url, db, q string) []Series {
	t.Helper()
	db, _, _ = strings.Cut(db, "/")
	s, err := influxQL(url, db, q)
	if err != nil {
		t.Fatalf("influxql %q: %v", q, err)
	}
	return s
}

// Exec runs an InfluxQL statement that returns no rows (CREATE, DROP, DELETE).
func Exec(t testing.TB, url, db, q string) {
	t.Helper()
	Query(t, url, db, q)
}

// Count returns how many points of measurement m (an identifier) have field, in db.
func Count(t testing.TB, url, db, m, field string) int {
	t.Helper()
	s := Query(t, url, db, fmt.Sprintf(`SELECT count(%q) FROM %q`, field, m))
	if len(s) == 0 || len(s[0].Values) == 0 {
		return 0
	}
	n, err := s[0].Values[0][1].(json.Number).Int64()
	if err != nil {
		t.Fatalf("count of %s.%s: %v", m, field, err)
	}
	return int(n)
}

// influxQL posts q to /query (POST works for reads and writes alike).
func influxQL(u, db, q string) ([]Series, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	form := url.Values{"q": {q}, "epoch": {"ns"}}
	if db != "" {
		form.Set("db", db)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(body))
		}
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, e.Error)
	}
	var r struct {
		Results []struct {
			Series []Series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decoding %q: %w", body, err)
	}
	if r.Error != "" {
		return nil, fmt.Errorf("%s", r.Error)
	}
	if len(r.Results) == 0 {
		return nil, nil
	}
	if r.Results[0].Error != "" {
		return nil, fmt.Errorf("%s", r.Results[0].Error)
	}
	return r.Results[0].Series, nil
}
