package dnsquery

import (
	"net"
	"syscall"
	"time"
	"unsafe"
)

// Linux stamps each datagram with its arrival time in the kernel (SO_TIMESTAMPNS), so a
// question's late-reply window needs no goroutine reading its socket: the replies wait
// in the socket's receive buffer, and when the window closes one read drains them, each
// with the time it really arrived. A probe with hundreds of targets in their windows
// keeps hundreds of sockets open, not hundreds of goroutines.

// stampArrivals asks the kernel to stamp the datagrams conn receives; false when it
// cannot (the window then reads the socket as replies come).
func stampArrivals(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// readQueued reads the next datagram already queued on conn into buf without waiting,
// with the kernel's arrival time (now when the datagram has none). ok is false when
// nothing is queued or the socket failed.
func readQueued(conn net.Conn, buf, oob []byte) (n int, at time.Time, ok bool) {
	rc, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return 0, time.Time{}, false
	}
	var oobn int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), buf, oob, syscall.MSG_DONTWAIT)
		return true // never wait: what is not queued now did not come in the window
	}); err != nil || rerr != nil {
		return 0, time.Time{}, false
	}
	return n, arrival(oob[:oobn]), true
}

// arrival returns the SCM_TIMESTAMPNS time in a datagram's control messages, or now.
func arrival(oob []byte) time.Time {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Now()
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(int64(ts.Sec), int64(ts.Nsec))
		}
	}
	return time.Now()
}
