// Package influxtest gives tests a real InfluxDB OSS 1.8: the instance shared by a test
// run (started by scripts/with-influxdb, which `make test` uses), a fresh database per test
// on it, or a private instance a test may stop and restart. Without an instance, tests
// skip; with CI=true they fail, so CI cannot pass by skipping storage tests.
package influxtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/influxql"
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

// Series is one series of an InfluxQL result; numbers are json.Number.
type Series = influxql.Series

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

// Count returns how many points of measurement m have field, in db.
func Count(t testing.TB, url, db, m, field string) int {
	t.Helper()
	s := Query(t, url, db, fmt.Sprintf(`SELECT count(%s) FROM %s`, influxql.Ident(field), influxql.Ident(m)))
	if len(s) == 0 || len(s[0].Values) == 0 {
		return 0
	}
	n, ok := influxql.Int(s[0].Values[0][1])
	if !ok {
		t.Fatalf("count of %s.%s: %v is not an integer", m, field, s[0].Values[0][1])
	}
	return int(n)
}

// influxQL runs q on database db ("": none) of the instance at u and returns the series
// of its first result.
func influxQL(u, db, q string) ([]Series, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := influxql.Client{URL: u, DB: db}
	return c.Series(ctx, q)
}
