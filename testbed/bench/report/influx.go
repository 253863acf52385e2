package main

import (
	"context"
	"fmt"

	"github.com/pantau-dev/pantau/internal/influxql"
)

// influxQL runs one InfluxQL statement on db ("": none) of the InfluxDB at base and returns
// the rows of the first series of its result.
func influxQL(ctx context.Context, base, db, q string) ([][]any, error) {
	c := influxql.Client{URL: base, DB: db}
	ss, err := c.Series(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	if len(ss) == 0 {
		return nil, nil
	}
	return ss[0].Values, nil
}

// count returns how many points of measurement m have field f in db.
func count(ctx context.Context, base, db, m, f string) (int64, error) {
	rows, err := influxQL(ctx, base, db, fmt.Sprintf(`SELECT count(%s) FROM %s`, influxql.Ident(f), influxql.Ident(m)))
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	if len(rows[0]) != 2 {
		return 0, fmt.Errorf("count of %s.%s: unexpected row %v", m, f, rows[0])
	}
	n, ok := influxql.Int(rows[0][1])
	if !ok {
		return 0, fmt.Errorf("count of %s.%s: unexpected value %v", m, f, rows[0][1])
	}
	return n, nil
}
