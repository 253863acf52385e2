package dnsquery

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BenchmarkExchangeUDP measures one A question over UDP to a local miekg server, without
// a late-reply window.
func BenchmarkExchangeUDP(b *testing.B) {
	addr := startUDP(b, handler(records(b, dns.RcodeSuccess, "example.com. 60 IN A 93.184.216.34")))
	c := NewClient(Options{})
	r := mustResolver(b, addr)
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		q := c.Exchange(ctx, r, "example.com", dns.TypeA).Wait()
		cancel()
		if q.Failure != nil {
			b.Fatal(*q.Failure)
		}
	}
}

// BenchmarkExchangeUDPParallel is BenchmarkExchangeUDP with concurrent queries, as the
// engine makes them.
func BenchmarkExchangeUDPParallel(b *testing.B) {
	addr := startUDP(b, handler(records(b, dns.RcodeSuccess, "example.com. 60 IN A 93.184.216.34")))
	c := NewClient(Options{})
	r := mustResolver(b, addr)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			q := c.Exchange(ctx, r, "example.com", dns.TypeA).Wait()
			cancel()
			if q.Failure != nil {
				b.Error(*q.Failure)
				return
			}
		}
	})
}
