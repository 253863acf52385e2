//go:build !linux

package dnsquery

import (
	"net"
	"time"
)

// stampArrivals: only Linux's datagram timestamps are used; elsewhere the late-reply
// window reads the socket as replies come.
func stampArrivals(net.Conn) bool { return false }

// readQueued is not used where stampArrivals is false.
func readQueued(net.Conn, []byte, []byte) (int, time.Time, bool) { return 0, time.Time{}, false }
