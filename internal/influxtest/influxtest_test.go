package influxtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/influxtest"
)

// writeLine writes one line of line protocol to db with the v1 API.
func writeLine(t *testing.T, base, db, line string) {
	t.Helper()
	db, _, _ = strings.Cut(db, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/write?db="+db, strings.NewReader(line))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: HTTP %d", resp.StatusCode)
	}
}

func databases(t *testing.T, base string) []string {
	t.Helper()
	var out []string
	for _, s := range influxtest.Query(t, base, "", "SHOW DATABASES") {
		for _, v := range s.Values {
			out = append(out, v[0].(string))
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestNewBucketIsolatedAndDropped(t *testing.T) {
	base, bucket := influxtest.Server(t)
	if bucket != "pantau/autogen" {
		t.Errorf("bucket = %q, want pantau/autogen", bucket)
	}
	var db string
	t.Run("use", func(t *testing.T) {
		b := influxtest.NewBucket(t)
		var rp string
		db, rp, _ = strings.Cut(b, "/")
		if !strings.HasPrefix(db, "test_") || rp != "autogen" {
			t.Fatalf("NewBucket = %q, want test_…/autogen", b)
		}
		if other := influxtest.NewBucket(t); other == b {
			t.Fatalf("two NewBucket calls returned the same %q", b)
		}
		writeLine(t, base, b, "m,k=v f=1i 1500000000000000000\nm,k=v f=2i 1500000000000000001")
		if n := influxtest.Count(t, base, b, "m", "f"); n != 2 {
			t.Errorf("Count = %d, want 2", n)
		}
		rows := influxtest.Query(t, base, b, `SELECT f, k FROM m ORDER BY time DESC`)[0].Rows()
		if len(rows) != 2 || fmt.Sprintf("%v %v %v", rows[0]["f"], rows[0]["k"], rows[0]["time"]) != "2 v 1500000000000000001" {
			t.Errorf("rows = %v", rows)
		}
		if !contains(databases(t, base), db) {
			t.Errorf("database %s missing", db)
		}
	})
	if contains(databases(t, base), db) {
		t.Errorf("database %s still exists after the test ended", db)
	}
}

func TestQueryError(t *testing.T) {
	base, bucket := influxtest.Server(t)
	rec := run(t, func(tb testing.TB) { influxtest.Query(tb, base, bucket, "SELEKT 1") })
	if !strings.HasPrefix(rec.failed, `influxql "SELEKT 1": HTTP 400: error parsing query: found SELEKT, expected SELECT`) {
		t.Errorf("failure = %q", rec.failed)
	}
}

func TestInstanceStopRestartKeepsData(t *testing.T) {
	in := influxtest.Start(t)
	b := in.NewBucket(t)
	writeLine(t, in.URL(), b, "m f=1i 1500000000000000000")
	in.Stop()
	in.Stop() // no-op
	_, err := http.Get(in.URL() + "/health")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GET /health on a stopped instance: %v, want connection refused", err)
	}
	in.Restart()
	if n := influxtest.Count(t, in.URL(), b, "m", "f"); n != 1 {
		t.Fatalf("after restart Count = %d, want 1", n)
	}
	writeLine(t, in.URL(), b, "m f=2i 1500000000000000001")
	if n := influxtest.Count(t, in.URL(), b, "m", "f"); n != 2 {
		t.Fatalf("Count = %d, want 2", n)
	}
}

// recorder captures Skip and Fatal instead of ending the real test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatal(args ...any) { r.failed = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatalf(f string, args ...any) {
	r.failed = fmt.Sprintf(f, args...)
	runtime.Goexit()
}

func run(t *testing.T, f func(testing.TB)) *recorder {
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(rec)
	}()
	<-done
	return rec
}

func TestMissingInstanceSkipsOrFailsInCI(t *testing.T) {
	t.Setenv(influxtest.EnvURL, "")
	t.Setenv(influxtest.EnvInfluxd, "")
	t.Setenv("PATH", t.TempDir())
	t.Setenv("PANTAU_CACHE", t.TempDir())
	const noBinary = "no influxd binary (PANTAU_TEST_INFLUXD is not set and none is in PATH): run the tests through scripts/with-influxdb (make test)"
	for _, tc := range []struct {
		name string
		f    func(testing.TB)
		want string
	}{
		{"Server", func(tb testing.TB) { influxtest.Server(tb) }, influxtest.MissingMessage},
		{"NewBucket", func(tb testing.TB) { influxtest.NewBucket(tb) }, influxtest.MissingMessage},
		{"Start", func(tb testing.TB) { influxtest.Start(tb) }, noBinary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", "")
			if rec := run(t, tc.f); rec.skipped != tc.want || rec.failed != "" {
				t.Errorf("outside CI: skipped %q, failed %q; want skipped %q", rec.skipped, rec.failed, tc.want)
			}
			t.Setenv("CI", "true")
			if rec := run(t, tc.f); rec.failed != tc.want || rec.skipped != "" {
				t.Errorf("CI=true: skipped %q, failed %q; want failed %q", rec.skipped, rec.failed, tc.want)
			}
		})
	}
	if influxtest.MissingMessage != "PANTAU_TEST_INFLUX_URL is not set: run the tests through scripts/with-influxdb (make test)" {
		t.Errorf("MissingMessage = %q", influxtest.MissingMessage)
	}
}
