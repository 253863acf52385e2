package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/internal/influxql"
)

// TokenRecord is what the collector records of a token it issued: never the token itself
// (it is a password), only its claims and how it was issued.
type TokenRecord struct {
	ID      string
	Probe   Identity
	Issued  time.Time
	Expires time.Time // zero: never
	Via     string    // "cli" (collector token issue) or "enrol" (POST /api/v1/enrol)
}

// RecordToken stores r (TokenIssued, stamped with its issue time).
func (s *Store) RecordToken(ctx context.Context, r TokenRecord) error {
	return s.writeLines(ctx, func(l *lineSink) {
		l.point(TokenIssued, r.Issued.UTC().Truncate(time.Millisecond), []tag{{"id", r.ID}})
		l.str("probe", r.Probe.Probe)
		l.str("network", r.Probe.Network)
		l.str("country", r.Probe.Country)
		l.integer("asn", int64(r.Probe.ASN))
		l.integer("expires_ms", unixMS(r.Expires))
		l.str("via", r.Via)
	})
}

// Tokens returns the recorded tokens, oldest first.
func (s *Store) Tokens(ctx context.Context) ([]TokenRecord, error) {
	q := fmt.Sprintf(`SELECT "probe", "network", "country", "asn", "expires_ms", "via" FROM %s GROUP BY "id"`, influxql.Ident(TokenIssued))
	var out []TokenRecord
	err := s.influxQL(ctx, q, func(_ int, se *influxql.Series) error {
		for _, row := range se.Values {
			at, err := rowTime(row)
			if err != nil || len(row) != 7 {
				return fmt.Errorf("query result: token row %v", row)
			}
			asnV, _ := influxql.Int(row[4])
			exp, _ := influxql.Int(row[5])
			r := TokenRecord{ID: se.Tags["id"], Issued: at, Via: influxql.Text(row[6]),
				Probe: Identity{Probe: influxql.Text(row[1]), Network: influxql.Text(row[2]), Country: influxql.Text(row[3]), ASN: uint32(asnV)}}
			if exp > 0 {
				r.Expires = time.UnixMilli(exp).UTC()
			}
			out = append(out, r)
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b TokenRecord) int {
		if c := a.Issued.Compare(b.Issued); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}

// Revoke stores revocation entries ("id:TOKENID" or "probe:PROBEID", checked by the
// caller), which every collector replica reads (StoredRevocations).
func (s *Store) Revoke(ctx context.Context, at time.Time, entries ...string) error {
	return s.writeLines(ctx, func(l *lineSink) {
		for i, e := range entries {
			// Distinct times keep entries written together distinct even were the tag equal.
			l.point(TokenRevoked, at.UTC().Truncate(time.Millisecond).Add(time.Duration(i)), []tag{{"entry", e}})
			l.str("at", strconv.FormatInt(at.Unix(), 10))
		}
	})
}

// StoredRevocations returns the stored revocation entries, each once, sorted.
func (s *Store) StoredRevocations(ctx context.Context) ([]string, error) {
	q := fmt.Sprintf(`SELECT last("at") FROM %s GROUP BY "entry"`, influxql.Ident(TokenRevoked))
	var out []string
	err := s.influxQL(ctx, q, func(_ int, se *influxql.Series) error {
		if len(se.Values) > 0 && se.Tags["entry"] != "" {
			out = append(out, se.Tags["entry"])
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}
