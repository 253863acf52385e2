package dnsquery

import (
	"context"
	"net/netip"

	"github.com/miekg/dns"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// Whoami looks name up on r, type A and TXT at once, to learn the address the resolver
// queries authoritative servers from: "whoami.akamai.net" answers it as an A record,
// "o-o.myaddr.l.google.com" as TXT. Egress lists the A addresses and the TXT strings that
// are IP addresses, as reported (documentation or private ranges included). Without
// any, Failure says why: the A query's failure, or the TXT query's when A merely had no
// answer.
func (c *Client) Whoami(ctx context.Context, r Resolver, name string) measurement.ResolverInfo {
	info := measurement.ResolverInfo{Resolver: r.Address, Transport: r.Transport, System: r.System, Egress: []string{}}
	a := c.exchange(ctx, r, name, dns.TypeA, 0)
	txt := c.exchange(ctx, r, name, dns.TypeTXT, 0)
	qa, qt := a.Wait(), txt.Wait()
	for _, q := range []measurement.DNSQuery{qa, qt} {
		for _, ans := range q.Answers {
			if ans.Type != "A" && ans.Type != "AAAA" && ans.Type != "TXT" {
				continue
			}
			ip, err := netip.ParseAddr(ans.Data)
			if err == nil && !contains(info.Egress, ip.String()) {
				info.Egress = append(info.Egress, ip.String())
			}
		}
	}
	if len(info.Egress) > 0 {
		return info
	}
	info.Failure = qa.Failure
	if info.Failure == nil || *info.Failure == failure.DNSNoAnswer && qt.Failure != nil {
		info.Failure = qt.Failure
	}
	if info.Failure == nil {
		info.Failure = measurement.Failure(failure.DNSNoAnswer)
	}
	return info
}
