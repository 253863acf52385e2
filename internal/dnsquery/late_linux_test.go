package dnsquery

import (
	"context"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestLateWindowWithoutGoroutines: on Linux, questions in their late-reply windows hold
// sockets, not goroutines, and a late reply still records when it really arrived (the
// kernel's stamp), not when the window closed and the socket was read.
func TestLateWindowWithoutGoroutines(t *testing.T) {
	const questions = 50
	later := 200 * time.Millisecond
	lateWait := 800 * time.Millisecond
	// The injector answers at once; the real resolver later, all questions at once from
	// one goroutine (the server's goroutines must not count as the client's).
	var mu sync.Mutex
	var asked []func()
	var once sync.Once
	addr := rawUDP(t, func(pc net.PacketConn, from net.Addr, q *dns.Msg) {
		sendReply(pc, from, q, aRecord(t, "example.com.", "192.0.2.1"))
		mu.Lock()
		asked = append(asked, func() { sendReply(pc, from, q, aRecord(t, "example.com.", "10.10.34.34")) })
		mu.Unlock()
		once.Do(func() {
			time.AfterFunc(later, func() {
				mu.Lock()
				defer mu.Unlock()
				for _, f := range asked {
					f()
				}
			})
		})
	})
	c := NewClient(Options{LateWait: lateWait})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := runtime.NumGoroutine()
	var rs []*Result
	for range questions {
		res := c.Exchange(ctx, mustResolver(t, addr), "example.com", dns.TypeA)
		res.First()
		rs = append(rs, res)
	}
	// Every first reply is in; the windows are open for most of lateWait still.
	if during := runtime.NumGoroutine() - before; during > questions/5 {
		t.Errorf("%d more goroutines while %d questions wait in their windows, want none per question", during, questions)
	}
	for i, res := range rs {
		q := res.Wait()
		if len(q.LateReplies) != 1 {
			t.Fatalf("question %d: %d late replies, want 1", i, len(q.LateReplies))
		}
		rtt := time.Duration(q.LateReplies[0].RTTMS * float64(time.Millisecond))
		if rtt < later/2 || rtt >= lateWait {
			t.Errorf("question %d: late reply at %v, want its arrival (%v after the first question), before the window closed (%v)", i, rtt, later, lateWait)
		}
	}
}
