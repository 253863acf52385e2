package verdict

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// dnsOutcome is what the DNS step concluded.
type dnsOutcome int

const (
	dnsNone       dnsOutcome = iota // no judgement: IP target, no control, or nothing to compare
	dnsConsistent                   // the probe's answers are the site's
	dnsBlocked                      // the probe's resolver lied or failed where the control resolved
	dnsDown                         // both failed the same way: the name does not resolve
	dnsUnclear                      // both failed, differently: inconclusive
)

// dnsResult is the DNS step's conclusion.
type dnsResult struct {
	outcome dnsOutcome
	reason  string
	// certain is set for a blocked outcome that needs no control: a bogon answer or a
	// block-page fingerprint.
	certain bool
	// soft is set for a blocked outcome resting only on disjoint answers, which a CDN
	// can explain: a final page like the control's clears it.
	soft bool
	// unconfirmed are the probe's addresses that neither appear among the control's,
	// nor share an ASN with them, nor presented a valid certificate. A later step that
	// fails at one of them is the resolver's doing: its method is dns.
	unconfirmed map[string]bool
}

// dnsSide summarises one vantage point's DNS queries.
type dnsSide struct {
	addrs   []string          // A and AAAA answers, in order, without duplicates
	asns    map[uint32]bool   // known (nonzero) ASNs of the answers
	asnOf   map[string]uint32 // answer address → known ASN
	bogons  []string
	v4, v6  bool
	failure string // the first failure of an A query, else of any query; "" if none
}

func summarize(qs []measurement.DNSQuery) dnsSide {
	s := dnsSide{asns: map[uint32]bool{}, asnOf: map[string]uint32{}}
	var anyFailure string
	for _, q := range qs {
		for _, a := range q.Answers {
			if (a.Type == "A" || a.Type == "AAAA") && a.ASN != 0 {
				s.asns[a.ASN] = true
				s.asnOf[a.Data] = a.ASN
			}
		}
		for _, ip := range q.Addrs() {
			if !slices.Contains(s.addrs, ip) {
				s.addrs = append(s.addrs, ip)
			}
			if addr, err := netip.ParseAddr(ip); err == nil && addr.Unmap().Is4() {
				s.v4 = true
			} else {
				s.v6 = true
			}
		}
		for _, b := range q.Bogons {
			if !slices.Contains(s.bogons, b) {
				s.bogons = append(s.bogons, b)
			}
		}
		if f := queryFailure(q); f != "" {
			if q.QType == "A" && s.failure == "" {
				s.failure = f
			}
			if anyFailure == "" {
				anyFailure = f
			}
		}
	}
	if s.failure == "" {
		s.failure = anyFailure
	}
	if s.failure == "" && len(s.addrs) == 0 {
		s.failure = failure.DNSNoAnswer
	}
	return s
}

// queryFailure is the failure of q: its failure string, else one from its rcode, else
// dns_no_answer for a reply without addresses.
func queryFailure(q measurement.DNSQuery) string {
	if q.Failure != nil {
		return *q.Failure
	}
	if f := failure.Rcode(q.Rcode); f != "" {
		return f
	}
	if len(q.Addrs()) == 0 {
		return failure.DNSNoAnswer
	}
	return ""
}

// unreachedEncrypted reports whether every driving query went to a DoH or DoT resolver
// and none got a reply: that says the resolver is blocked, not the site (OONI does
// not count DoH failures either).
func unreachedEncrypted(drive []measurement.DNSQuery) bool {
	for _, q := range drive {
		if q.System || q.Rcode != "" || q.Transport != measurement.TransportDoH && q.Transport != measurement.TransportDoT {
			return false
		}
	}
	return true
}

// noName reports whether f says the name has no address at all.
func noName(f string) bool { return f == failure.DNSNXDomain || f == failure.DNSNoAnswer }

// sameDNSFailure compares failures, counting NXDOMAIN and an empty answer as one.
func sameDNSFailure(a, b string) bool { return a == b || noName(a) && noName(b) }

// drivingQueries returns the queries that drive the DNS verdict (the system
// resolvers', or all without any), the others, and how to call the driving resolver.
func (a *analysis) drivingQueries() (drive, extra []measurement.DNSQuery, label string) {
	for _, q := range a.m.DNS {
		if q.System {
			drive = append(drive, q)
		} else {
			extra = append(extra, q)
		}
	}
	if len(drive) == 0 {
		return extra, nil, "the probe's resolver"
	}
	return drive, extra, "the ISP's resolver"
}

// dns judges the probe's DNS answers (rule 1 and the DNS half of rules 2, 7 and 8).
func (a *analysis) dns() dnsResult {
	if a.ipTarget {
		return dnsResult{}
	}
	drive, extra, label := a.drivingQueries()
	if len(drive) == 0 {
		a.note("no DNS queries recorded")
		return dnsResult{}
	}
	who := "system resolver"
	if label != "the ISP's resolver" {
		who = "resolver"
	}
	p := summarize(drive)
	var c *dnsSide
	if a.ctl != nil && len(a.ctl.DNS) > 0 {
		s := summarize(a.ctl.DNS)
		c = &s
	}
	blocked := func(reason string, certain, soft bool) dnsResult {
		a.noteExtraResolvers(extra, c, false)
		return dnsResult{outcome: dnsBlocked, reason: upper(reason), certain: certain, soft: soft}
	}

	// Certain on its own: a block-page fingerprint, or a reserved address that the
	// control did not also get (then it is a lab or an intranet).
	if fps := a.dnsFingerprints(drive); len(fps) > 0 {
		for _, fp := range fps {
			a.noteFingerprint(fp)
		}
		addr := whereAddr(fps[0].Where)
		if addr == "" {
			addr = "fingerprint " + fps[0].Name
		}
		return blocked(fmt.Sprintf("%s answered with the address of a known block page (%s) instead of the site's address.", label, addr), true, false)
	}
	if len(p.bogons) > 0 {
		if c == nil || len(c.bogons) == 0 {
			a.note("%s returned reserved address %s", who, list(p.bogons))
			if c != nil {
				a.note("control returned %s", list(c.addrs))
			}
			return blocked(fmt.Sprintf("%s answered with %s, a reserved address that cannot belong to %s.", label, list(p.bogons), a.domain), true, false)
		}
		a.note("reserved answers %s not held against the probe: the control got reserved addresses too (lab or intranet)", list(p.bogons))
	}
	if a.ctl == nil {
		a.noteLateReplies(drive)
		if len(p.addrs) > 0 {
			a.note("%s returned %s", who, list(p.addrs))
		} else {
			a.note("%s failed: %s", who, p.failure)
		}
		return dnsResult{}
	}
	if c == nil {
		a.note("the control made no DNS queries")
		return dnsResult{}
	}

	proven := a.provenIPs()
	confirmed := func(ip string) bool {
		return slices.Contains(c.addrs, ip) || c.asns[p.asnOf[ip]] || proven[ip]
	}
	if r, ok := a.injection(drive, c, confirmed); ok {
		return blocked(r, false, false)
	}

	// The probe resolved nothing: expected when the control did not either.
	if len(p.addrs) == 0 && unreachedEncrypted(drive) {
		a.note("%s failed (%s) without any reply", who, p.failure)
		return dnsResult{outcome: dnsUnclear, reason: fmt.Sprintf("The probe could not reach its encrypted resolver, so whether %s is blocked could not be tested.", a.domain)}
	}
	if len(p.addrs) == 0 {
		if len(c.addrs) == 0 {
			a.note("%s failed (%s); control failed (%s)", who, p.failure, c.failure)
			if sameDNSFailure(p.failure, c.failure) {
				return dnsResult{outcome: dnsDown, reason: fmt.Sprintf("Neither %s nor the control could resolve %s (%s), so the site is down rather than blocked.", label, a.domain, c.failure)}
			}
			return dnsResult{outcome: dnsUnclear, reason: fmt.Sprintf("%s failed to resolve %s (%s) and the control failed differently (%s), so it is unclear whether the site is blocked.", upper(label), a.domain, p.failure, c.failure)}
		}
		a.note("%s failed (%s); control returned %s", who, p.failure, list(c.addrs))
		return blocked(fmt.Sprintf("%s %s, although the control resolved it to %s.", label, dnsFailed(p.failure, a.domain), list(c.addrs)), false, false)
	}
	if len(c.addrs) == 0 {
		for _, ip := range p.addrs {
			if proven[ip] {
				a.note("valid certificate for %s at %s; the control's DNS failed (%s)", a.domain, ip, c.failure)
				return dnsResult{outcome: dnsConsistent}
			}
		}
		if noName(c.failure) {
			a.note("%s returned %s; control failed (%s)", who, list(p.addrs), c.failure)
			return dnsResult{outcome: dnsUnclear, reason: fmt.Sprintf("The control found no address for %s (%s) while %s returned %s, so it is unclear whether the site is blocked.", a.domain, c.failure, label, list(p.addrs))}
		}
		a.note("the control's DNS failed (%s): the answers cannot be compared", c.failure)
		return dnsResult{}
	}

	// Both resolved: the probe's answers must be the site's.
	unconfirmed := map[string]bool{}
	var good, bad []string
	for _, ip := range p.addrs {
		if confirmed(ip) {
			good = append(good, ip)
		} else {
			unconfirmed[ip] = true
			bad = append(bad, ip)
		}
	}
	if len(good) == 0 {
		a.note("%s returned %s; control returned %s", who, list(p.addrs), list(c.addrs))
		a.note("no address or ASN overlap")
		if a.https {
			a.note("no valid certificate for %s at %s", a.domain, list(p.addrs))
		}
		return blocked(fmt.Sprintf("%s answered with %s, which is not among the control's addresses for %s (%s).", label, list(p.addrs), a.domain, list(c.addrs)), false, true)
	}
	if !p.v4 && c.v4 && p.failure != "" {
		a.note("%s A query failed (%s); control returned %s", who, p.failure, list(c.addrs))
		return blocked(fmt.Sprintf("%s gave no IPv4 address for %s (%s), although the control resolved it to %s.", label, a.domain, p.failure, list(c.addrs)), false, false)
	}
	a.noteConfirmation(good, c, p, proven)
	if len(bad) > 0 {
		a.note("%s also returned %s, which the control did not confirm", who, list(bad))
	}
	a.noteExtraResolvers(extra, c, true)
	return dnsResult{outcome: dnsConsistent, unconfirmed: unconfirmed}
}

// noteConfirmation records why the probe's answers are the site's, naming the
// strongest reason: a shared address, then a shared ASN, then a valid certificate.
func (a *analysis) noteConfirmation(good []string, c *dnsSide, p dnsSide, proven map[string]bool) {
	for _, ip := range good {
		if slices.Contains(c.addrs, ip) {
			a.note("DNS answers overlap the control's (%s)", ip)
			return
		}
	}
	for _, ip := range good {
		if c.asns[p.asnOf[ip]] {
			a.note("DNS answer %s is in AS%d like the control's (ASN overlap)", ip, p.asnOf[ip])
			return
		}
	}
	for _, ip := range good {
		if proven[ip] {
			a.note("DNS answer %s presented a valid certificate for %s", ip, a.domain)
			return
		}
	}
}

// dnsFailed phrases a resolver failure, e.g. "said example.com does not exist".
func dnsFailed(f, domain string) string {
	switch f {
	case failure.DNSNXDomain:
		return fmt.Sprintf("said %s does not exist", domain)
	case failure.DNSServfail:
		return fmt.Sprintf("returned a server failure for %s", domain)
	case failure.DNSRefused:
		return fmt.Sprintf("refused to resolve %s", domain)
	case failure.DNSNoAnswer:
		return fmt.Sprintf("returned no address for %s", domain)
	case failure.GenericTimeout:
		return fmt.Sprintf("did not answer for %s", domain)
	}
	return fmt.Sprintf("failed to resolve %s (%s)", domain, f)
}
