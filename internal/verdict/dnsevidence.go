package verdict

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// injection looks for a query answered twice, differently, the first reply being
// forged: an on-path injector answers before the real resolver. It returns the reason
// and the forged reply's addresses (none for a forged failure).
func (a *analysis) injection(d *dnsCase) (string, []string, bool) {
	for _, q := range d.drive {
		first := q.Addrs()
		for _, late := range q.LateReplies {
			lateAddrs := measurement.DNSQuery{Answers: late.Answers}.Addrs()
			if sameSet(first, lateAddrs) && late.Rcode == q.Rcode {
				a.note("%s %s: an identical duplicate reply arrived", q.Resolver, q.QType)
				continue
			}
			got := describeReply(first, q.Rcode)
			then := describeReply(lateAddrs, late.Rcode)
			if why := d.notForged(q, late); why != "" {
				a.note("%s %s: a later reply (%s) differed from the first (%s); not counted as injection: %s", q.Resolver, q.QType, then, got, why)
				continue
			}
			a.note("%s %s: first reply %s, then a later reply %s", q.Resolver, q.QType, got, then)
			a.note("control returned %s", list(d.c.addrs))
			return fmt.Sprintf("An on-path device injected a forged DNS reply (%s) for %s ahead of the resolver's own reply (%s).", got, a.domain, then), first, true
		}
	}
	return "", nil, false
}

// notForged says why a first reply followed by a differing later one is not an
// injection, or "" when it is: the later reply must agree with the control (an address
// confirmed like any answer, or no such name where the control found none) and the
// first must not (its addresses unconfirmed and outside the AS of the confirmed later
// ones, or a failure before a real answer). Two upstream resolvers behind one home
// router, or a CDN answering differently, give two replies that are both the site's, or
// both unconfirmed; a forged reply is wrong where the real one is right.
func (d *dnsCase) notForged(q measurement.DNSQuery, late measurement.DNSReply) string {
	var lateOK []measurement.DNSAnswer
	for _, l := range late.Answers {
		if isAddr(l) && d.confirmedAnswer(l) {
			lateOK = append(lateOK, l)
		}
	}
	lateAddrs := measurement.DNSQuery{Answers: late.Answers}.Addrs()
	noNameAtBoth := len(lateAddrs) == 0 && noName(replyFailure(late.Rcode)) && len(d.c.addrs) == 0 && noName(d.c.failure)
	switch {
	case len(lateOK) == 0 && !noNameAtBoth:
		return "the later reply does not agree with the control either (two upstream resolvers, or a CDN)"
	case len(q.Addrs()) == 0 && len(lateOK) == 0:
		return "neither reply has an address"
	}
	for _, f := range q.Answers {
		if !isAddr(f) {
			continue
		}
		if d.confirmedAnswer(f) {
			return "the first reply is confirmed too"
		}
		for _, l := range lateOK {
			if f.ASN != 0 && f.ASN == l.ASN {
				return fmt.Sprintf("the first reply is in AS%d like the confirmed later one", f.ASN)
			}
		}
	}
	return ""
}

// replyFailure is the failure of a reply without addresses: from its rcode, and
// dns_no_answer for a NOERROR.
func replyFailure(rcode string) string {
	if f := failure.Rcode(rcode); f != "" {
		return f
	}
	return failure.DNSNoAnswer
}

func isAddr(a measurement.DNSAnswer) bool { return a.Type == "A" || a.Type == "AAAA" }

// noteLateReplies records differing replies to one query when there is no control to
// tell which one was right.
func (a *analysis) noteLateReplies(drive []measurement.DNSQuery) {
	for _, q := range drive {
		first := q.Addrs()
		for _, late := range q.LateReplies {
			lateAddrs := measurement.DNSQuery{Answers: late.Answers}.Addrs()
			if !sameSet(first, lateAddrs) || late.Rcode != q.Rcode {
				a.note("%s %s: first reply %s, then a later reply %s", q.Resolver, q.QType, describeReply(first, q.Rcode), describeReply(lateAddrs, late.Rcode))
			}
		}
	}
}

func describeReply(addrs []string, rcode string) string {
	if len(addrs) > 0 {
		return list(addrs)
	}
	if rcode == "" {
		return "no answer"
	}
	return rcode
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// dnsFingerprints returns the DNS block-page fingerprints that matched an answer of a
// driving resolver (or of an unnamed one); matches at other resolvers become evidence.
func (a *analysis) dnsFingerprints(drive []measurement.DNSQuery) []measurement.FingerprintMatch {
	var out []measurement.FingerprintMatch
	for _, fp := range a.m.Fingerprints {
		if !strings.EqualFold(fp.Location, "dns") || !isBlockPage(fp) {
			continue
		}
		named, driving := false, false
		for _, q := range a.m.DNS {
			if q.Resolver != "" && slices.Contains(strings.Fields(fp.Where), q.Resolver) {
				named = true
				driving = driving || slices.ContainsFunc(drive, func(d measurement.DNSQuery) bool { return d.Resolver == q.Resolver })
			}
		}
		if driving || !named {
			out = append(out, fp)
		} else {
			a.note("fingerprint %s matched %s (not a system resolver)", fp.Name, fp.Where)
		}
	}
	return out
}

// whereAddr extracts the address a DNS fingerprint matched: the last word of Where.
func whereAddr(where string) string {
	f := strings.Fields(where)
	if len(f) == 0 {
		return ""
	}
	if _, err := netip.ParseAddr(f[len(f)-1]); err != nil {
		return ""
	}
	return f[len(f)-1]
}

// noteExtraResolvers records what the other configured resolvers said: agreeing with
// the control strengthens a DNS verdict, repeating the lie shows interception. With
// onlyOdd, only resolvers that disagree with the control are noted.
func (a *analysis) noteExtraResolvers(extra []measurement.DNSQuery, c *dnsSide, onlyOdd bool) {
	var order []string
	byResolver := map[string][]string{}
	transport := map[string]string{}
	for _, q := range extra {
		if _, ok := byResolver[q.Resolver]; !ok {
			order = append(order, q.Resolver)
			byResolver[q.Resolver] = nil
			transport[q.Resolver] = q.Transport
		}
		for _, ip := range q.Addrs() {
			if !slices.Contains(byResolver[q.Resolver], ip) {
				byResolver[q.Resolver] = append(byResolver[q.Resolver], ip)
			}
		}
	}
	for _, r := range order {
		addrs := byResolver[r]
		agrees := false
		if c != nil {
			for _, ip := range addrs {
				agrees = agrees || slices.Contains(c.addrs, ip)
			}
		}
		switch {
		case onlyOdd && (agrees || c == nil || len(addrs) == 0):
		case len(addrs) == 0:
			a.note("configured resolver %s (%s) returned no address", r, transport[r])
		case agrees:
			a.note("configured resolver %s (%s) returned %s, matching the control", r, transport[r], list(addrs))
		case c != nil:
			a.note("configured resolver %s (%s) returned %s, which does not match the control", r, transport[r], list(addrs))
		default:
			a.note("configured resolver %s (%s) returned %s", r, transport[r], list(addrs))
		}
	}
}

// provenIPs returns the addresses that presented a valid certificate for the domain,
// to the probe or to the control, or served the probe an HTTPS reply for it: only the
// site (or its CDN) can do that.
func (a *analysis) provenIPs() map[string]bool {
	proven := map[string]bool{}
	add := func(hs []measurement.TLSHandshake) {
		for _, h := range hs {
			if h.CertValid && h.Failure == nil && !h.SNISwap && strings.EqualFold(h.SNI, a.domain) {
				proven[h.IP] = true
			}
		}
	}
	add(a.m.TLS)
	if a.ctl != nil {
		add(a.ctl.TLS)
	}
	for _, h := range a.m.HTTP {
		u, err := url.Parse(h.URL)
		if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Hostname(), a.domain) || h.Status <= 0 {
			continue
		}
		if ip := hostOf(h.Address); ip != "" {
			proven[ip] = true
		}
	}
	return proven
}
