package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxql"
)

// influxQL runs one InfluxQL statement on db ("": none) of the InfluxDB at base and
// returns the series of its result.
func influxQL(base, db, q string) ([]influxql.Series, error) {
	c := influxql.Client{URL: base, DB: db}
	ss, err := c.Series(context.Background(), q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	return ss, nil
}

func createDB(base, db string) error {
	_, err := influxQL(base, "", "CREATE DATABASE "+influxql.Ident(db))
	return err
}

func dropDB(base, db string) error {
	_, err := influxQL(base, "", "DROP DATABASE "+influxql.Ident(db))
	return err
}

// countPoints counts the points of every table the store writes; every point has an id
// field.
func countPoints(base, db string) (int, error) {
	ss, err := influxQL(base, db, fmt.Sprintf(`SELECT count("id") FROM %s,%s,%s,%s,%s`, influxql.Ident(store.Reach),
		influxql.Ident(store.DNS), influxql.Ident(store.TCP), influxql.Ident(store.TLS), influxql.Ident(store.HTTP)))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range ss {
		if len(s.Values) != 1 || len(s.Values[0]) != 2 {
			return 0, fmt.Errorf("count in %s: unexpected rows %v", s.Name, s.Values)
		}
		c, ok := influxql.Int(s.Values[0][1])
		if !ok {
			return 0, fmt.Errorf("count in %s: unexpected value %v", s.Name, s.Values[0][1])
		}
		n += int(c)
	}
	return n, nil
}

// influxProc reads CPU time of this process (collector and load generator) and of the
// influxd serving base, found in /proc by its HTTP bind address; pid 0: not found.
type influxProc struct{ pid int }

func findInfluxd(base string) influxProc {
	u, err := url.Parse(base)
	if err != nil {
		return influxProc{}
	}
	want := []byte("INFLUXDB_HTTP_BIND_ADDRESS=" + u.Host + "\x00")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		env, err := os.ReadFile(d + "/environ")
		if err == nil && bytes.Contains(env, want) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return influxProc{pid: pid}
		}
	}
	return influxProc{}
}

// cpuUse is CPU time spent, and the wall time it was spent in. busy and steal are the
// whole machine's (/proc/stat): busy minus self and influxd is everyone else's, and steal
// is time the hypervisor gave our virtual CPUs to other guests.
type cpuUse struct {
	self, influxd, busy, steal, wall time.Duration
	at                               time.Time
	known                            bool // influxd's was read
}

func (p influxProc) sample() cpuUse {
	c := cpuUse{at: time.Now()}
	c.busy, c.steal = machineCPU()
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if p.pid == 0 {
		return c
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return c
	}
	// Fields after the command name (which may hold spaces): utime and stime are the
	// 12th and 13th, in clock ticks (USER_HZ, 100 on Linux).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) > 12 {
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		c.influxd, c.known = time.Duration(ut+st)*10*time.Millisecond, true
	}
	return c
}

// writeBytes is what influxd has written to storage so far (/proc/PID/io); -1 unknown.
func (p influxProc) writeBytes() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", p.pid))
	if p.pid == 0 || err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// settle waits until influxd is quiet (under 5% of a core and under 1 MB written in a
// second: its cache snapshots and compactions after the previous phase are done), at most
// max, so that one phase does not pay for the last one. It returns how long it waited.
func (p influxProc) settle(max time.Duration) time.Duration {
	start := time.Now()
	if p.pid == 0 {
		return 0
	}
	for time.Since(start) < max {
		c0, w0 := p.sample(), p.writeBytes()
		time.Sleep(time.Second)
		c, w := p.sample().since(c0), p.writeBytes()
		if c.influxd < 50*time.Millisecond && w-w0 < 1<<20 {
			break
		}
	}
	return time.Since(start).Round(time.Second)
}

// since is the CPU used from c0 to c.
func (c cpuUse) since(c0 cpuUse) cpuUse {
	return cpuUse{self: c.self - c0.self, influxd: c.influxd - c0.influxd, busy: c.busy - c0.busy, steal: c.steal - c0.steal,
		wall: c.at.Sub(c0.at), known: c.known && c0.known}
}

// machineCPU reads the time all CPUs were busy and stolen (USER_HZ ticks of 10 ms).
func machineCPU() (busy, steal time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	var v [8]int64
	for i := range v {
		v[i], _ = strconv.ParseInt(f[i+1], 10, 64)
	}
	tick := func(n int64) time.Duration { return time.Duration(n) * 10 * time.Millisecond }
	return tick(v[0] + v[1] + v[2] + v[5] + v[6]), tick(v[7])
}

// others is the cores used by other processes and stolen by the hypervisor, on average.
func (c cpuUse) others() float64 {
	if !c.known || c.busy == 0 {
		return 0
	}
	return max(0, (c.busy-c.self-c.influxd+c.steal).Seconds()/c.wall.Seconds())
}

// String gives cores used on average: "bench 1.10 cores, influxd 0.85 cores".
func (c cpuUse) String() string {
	s := fmt.Sprintf("this process %.2f cores", c.self.Seconds()/c.wall.Seconds())
	if c.known {
		s += fmt.Sprintf(", influxd %.2f cores, others and steal %.2f cores", c.influxd.Seconds()/c.wall.Seconds(), c.others())
	}
	return s
}
