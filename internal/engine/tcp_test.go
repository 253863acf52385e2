package engine

import (
	"errors"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/target"
)

func refuseLoopback(a netip.Addr) error {
	if a.IsLoopback() {
		return errors.New("loopback address")
	}
	return nil
}

// TestConnect covers the outcomes of one connect. The timeout case uses a TCP timeout of
// 1ns: the deadline has passed before the dial starts, which is deterministic, unlike a
// loopback "blackhole".
func TestConnect(t *testing.T) {
	open := serveConns(t, func(c *net.TCPConn) {})
	closed := freePort(t)
	tests := []struct {
		name    string
		port    int
		cfg     Config
		failure string
	}{
		{"connected", open, Config{}, ""},
		{"refused", closed, Config{}, failure.ConnectionRefused},
		{"guard", open, Config{DialGuard: refuseLoopback}, failure.RefusedPrivate},
		{"timeout", open, Config{Timeouts: Timeouts{TCP: time.Nanosecond}}, failure.GenericTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(tt.cfg, nil)
			rec, conn := e.connect(t.Context(), "127.0.0.1", tt.port, measurement.OriginProbe)
			if conn != nil {
				defer conn.Close()
			}
			if got := deref(rec.Failure); got != tt.failure {
				t.Fatalf("failure = %q, want %q", got, tt.failure)
			}
			if (conn != nil) != (tt.failure == "") {
				t.Errorf("conn = %v with failure %q", conn, tt.failure)
			}
			if rec.IP != "127.0.0.1" || rec.Port != tt.port || rec.Origin != measurement.OriginProbe {
				t.Errorf("record = %+v", rec)
			}
		})
	}
}

func TestTCPStep(t *testing.T) {
	port := serveConns(t, func(c *net.TCPConn) {})
	tg, err := target.Parse("tcp://site.example:" + itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	done := measurement.TCPConnect{IP: "127.0.0.3", Port: port, Origin: measurement.OriginProbe, Failure: measurement.Failure(failure.GenericTimeout)}
	r := &run{t: tg, obs: &measurement.Observations{TCP: []measurement.TCPConnect{done}}}
	r.addEndpoint("127.0.0.3", measurement.OriginProbe)
	r.addEndpoint("127.0.0.1", measurement.OriginProbe)
	// The listener is on 127.0.0.1 only: 127.0.0.2 refuses.
	r.addEndpoint("127.0.0.2", measurement.OriginControl)
	e := New(Config{}, nil)
	e.tcpStep(t.Context(), r)
	e.tcpStep(t.Context(), r) // nothing left to do
	want := []measurement.TCPConnect{
		done,
		{IP: "127.0.0.1", Port: port, Origin: measurement.OriginProbe},
		{IP: "127.0.0.2", Port: port, Origin: measurement.OriginControl, Failure: measurement.Failure(failure.ConnectionRefused)},
	}
	got := r.obs.TCP
	for i := range got {
		got[i].TimeMS = 0
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tcp =\n%s\nwant\n%s", dump(got), dump(want))
	}
}
