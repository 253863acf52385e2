package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pantau-dev/pantau/internal/influxql"
)

// MarkName is the measurement of ingest marks: after each write, the collector records
// per (domain, UTC day) of the measurements written, and per UTC day of the heartbeats
// written, a value that changes with every write (the writer's clock in nanoseconds).
// Collector replicas sharing the bucket compare these marks with the ones they saw when
// they cached a day, to learn that another replica wrote into it (docs/scaling.md,
// Scale-out). One point per (kind, domain, day), overwritten by each write.
const MarkName = "ingest_mark"

// Mark kinds.
const (
	MarkObs  = "obs"  // measurements of Domain on Day
	MarkBeat = "beat" // heartbeats on Day (Domain empty)
)

// Mark is one ingest mark.
type Mark struct {
	Kind   string
	Domain string
	Day    time.Time // UTC midnight: the point's time
	Value  int64
}

// WriteMarks writes marks through the group commit; nil only when InfluxDB accepted them.
// A mark whose domain line protocol cannot carry (a backslash) is left out: Write refuses
// such a measurement anyway.
func (s *Store) WriteMarks(ctx context.Context, marks []Mark) error {
	l := lineSink{}
	for _, m := range marks {
		if strings.Contains(m.Domain, `\`) {
			continue
		}
		tags := []tag{{"kind", m.Kind}}
		if m.Domain != "" {
			tags = []tag{{"domain", m.Domain}, {"kind", m.Kind}} // sorted by key
		}
		l.point(MarkName, m.Day, tags)
		l.integer("v", m.Value)
	}
	l.end()
	if l.points == 0 {
		return nil
	}
	return s.commit.commit(ctx, []*part{newPart(l.buf, l.points)})
}

// Marks reads the marks of the days in [from, to): one small query (a point per domain
// and day measured, and per day of heartbeats).
func (s *Store) Marks(ctx context.Context, from, to time.Time) ([]Mark, error) {
	q := fmt.Sprintf(`SELECT "v" FROM %s WHERE time >= %d AND time < %d GROUP BY "kind", "domain"`,
		influxql.Ident(MarkName), from.UnixNano(), to.UnixNano())
	var out []Mark
	err := s.influxQL(ctx, q, func(_ int, se *influxql.Series) error {
		v := se.Col("v")
		if v < 0 {
			return fmt.Errorf("query result: columns %v, want v", se.Columns)
		}
		for _, row := range se.Values {
			t, err := rowTime(row)
			if err != nil {
				return err
			}
			n, _ := influxql.Int(row[v])
			out = append(out, Mark{Kind: se.Tags["kind"], Domain: se.Tags["domain"], Day: t, Value: n})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading ingest marks: %w", err)
	}
	return out, nil
}
