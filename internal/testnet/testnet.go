// Package testnet holds plumbing for the loopback servers of tests and benchmark
// programs: accepting connections and cleaning them up. Only tests import it.
package testnet

import (
	"net"
	"sync"
	"testing"
)

// ServeConns hands every connection accepted on ln to handle in its own goroutine (the
// connection is closed when handle returns); at cleanup the listener and all
// connections are closed and the handlers waited for.
func ServeConns(t testing.TB, ln net.Listener, handle func(c net.Conn)) {
	t.Helper()
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); handle(c) }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}
