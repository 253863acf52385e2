package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

// t0 is a fixed start time well inside the default query range.
var t0 = time.Now().UTC().Truncate(time.Second).Add(-time.Hour)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newStore returns a Store on a fresh database of the shared instance (the 1.8 path: org
// "", bucket "db/rp") and the database's name.
func newStore(t *testing.T) (*store.Store, string, string) {
	t.Helper()
	url, _ := influxtest.Server(t)
	bucket := influxtest.NewBucket(t)
	return openStore(t, url, bucket), url, bucket
}

func openStore(t *testing.T, url, bucket string) *store.Store {
	t.Helper()
	s, err := store.New(store.Config{URL: url, Org: "", Bucket: bucket, Timeout: 30 * time.Second}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func write(t *testing.T, s *store.Store, items ...store.Item) {
	t.Helper()
	if err := s.Write(ctx(t), items); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

var probe = store.Identity{Probe: "probe-1", Network: "telkom", Country: "ID", ASN: 7713}

// item wraps m with a fixed identity, source and receive time.
func item(m *measurement.Measurement) store.Item {
	return store.Item{M: m, Probe: probe, Geo: store.Geo{ASN: 7713, Org: "PT Telekomunikasi Indonesia"}, ReceivedAt: m.StartedAt.Add(90 * time.Second)}
}

// full is measurementtest.Full with the free text and the extra query the store's tests
// pin: a line break (which line protocol and Flux escape) in the HTTP title and the
// verdict reason, a certificate subject without quotes or commas, and a second query of
// the system resolver, answered NXDOMAIN.
func full(domain string, started time.Time) *measurement.Measurement {
	m := measurementtest.Full(domain, started)
	obs := &m.Observations // its lists are also m.Control's: one edit changes both
	obs.TLS[0].Certificates[0].Subject = "CN=" + domain
	obs.HTTP[1].Title = "Internet Positif\n\"blocked\" \\ a,b=c"
	nxdomain := measurement.DNSQuery{Resolver: "udp://10.0.0.1:53", Transport: "udp", System: true, Query: "www." + domain,
		QType: "A", Rcode: "NXDOMAIN", Answers: []measurement.DNSAnswer{}, Failure: measurement.Failure("dns_nxdomain_error"), RTTMS: 3}
	obs.DNS = slices.Insert(obs.DNS, 1, nxdomain)
	m.Control.Observations.DNS = obs.DNS
	m.Verdict.Reason = "line1\nline2 \"q\" \\ a,b=c\treach,probe=evil id=\"x\" 1"
	return m
}

func sortedIDs(items []store.StoredMeasurement) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.Measurement.ID
	}
	sort.Strings(ids)
	return ids
}

// num renders an InfluxQL value (json.Number, string, bool) as text.
func num(v any) string {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "<nil>"
	}
	return v.(string)
}

func nanValue() float64 { return math.NaN() }

// writeLine writes line protocol (nanosecond timestamps) to db with the v1 API.
func writeLine(url, db, line string) error {
	resp, err := http.Post(url+"/write?db="+db, "text/plain", strings.NewReader(line))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return nil
}
