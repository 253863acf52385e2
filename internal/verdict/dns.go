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
	// soft is set for a blocked outcome that a final page like the control's clears:
	// disjoint answers (a CDN can explain them) or an injected address (a transparent
	// proxy can explain it; see injected).
	soft bool
	// injected are the addresses of a forged first reply (soft is then set: a page
	// fetched through them that is the control's shows a transparent proxy, not a block).
	injected []string
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

// dnsCase is what the DNS step compares: the driving queries and the others, how to call
// the driving resolver (label in reasons, who in evidence), the probe's side and the
// control's (nil when the control made no DNS queries), and the addresses a valid
// certificate proves (set once there is a control to compare with).
type dnsCase struct {
	drive, extra []measurement.DNSQuery
	label, who   string
	p            dnsSide
	c            *dnsSide
	proven       map[string]bool
}

// confirmed reports whether the probe's answer ip is the site's: among the control's
// addresses, in one of their ASNs, or proven by a valid certificate.
func (d *dnsCase) confirmed(ip string) bool {
	return slices.Contains(d.c.addrs, ip) || d.c.asns[d.p.asnOf[ip]] || d.proven[ip]
}

// confirmedAnswer is confirmed for one answer record, with its own ASN (late replies
// are not in the probe's summary).
func (d *dnsCase) confirmedAnswer(a measurement.DNSAnswer) bool {
	return slices.Contains(d.c.addrs, a.Data) || a.ASN != 0 && d.c.asns[a.ASN] || d.proven[a.Data]
}

// dns judges the probe's DNS answers (rule 1 and the DNS half of rules 2, 7 and 8), in
// the order of docs/verdicts.md: the outcomes certain on their own, then the comparison
// with the control.
func (a *analysis) dns() dnsResult {
	if a.ipTarget {
		return dnsResult{}
	}
	d, ok := a.dnsCase()
	if !ok {
		return dnsResult{}
	}
	if r, ok := a.dnsCertain(d); ok {
		return r
	}
	if a.ctl == nil {
		a.noteDNSWithoutControl(d)
		return dnsResult{}
	}
	if d.c == nil {
		a.note("the control made no DNS queries")
		return dnsResult{}
	}
	d.proven = a.provenIPs()
	if r, forged, ok := a.injection(d); ok {
		res := a.dnsBlocked(d, r, false, len(forged) > 0)
		res.injected = forged
		return res
	}
	if len(d.p.addrs) == 0 {
		return a.dnsProbeResolvedNothing(d)
	}
	if len(d.c.addrs) == 0 {
		return a.dnsControlResolvedNothing(d)
	}
	return a.dnsCompare(d)
}

// dnsCase gathers what the DNS step compares; false (noted) when no query was recorded.
func (a *analysis) dnsCase() (*dnsCase, bool) {
	drive, extra, label := a.drivingQueries()
	if len(drive) == 0 {
		a.note("no DNS queries recorded")
		return nil, false
	}
	d := &dnsCase{drive: drive, extra: extra, label: label, who: "system resolver", p: summarize(drive)}
	if label != "the ISP's resolver" {
		d.who = "resolver"
	}
	if a.ctl != nil && len(a.ctl.DNS) > 0 {
		c := summarize(a.ctl.DNS)
		d.c = &c
	}
	return d, true
}

// dnsBlocked is a blocked outcome, after noting what the extra resolvers said.
func (a *analysis) dnsBlocked(d *dnsCase, reason string, certain, soft bool) dnsResult {
	a.noteExtraResolvers(d.extra, d.c, false)
	return dnsResult{outcome: dnsBlocked, reason: upper(reason), certain: certain, soft: soft}
}

// dnsCertain decides the outcomes certain on their own (rule 1, items 1 and 2): a
// block-page fingerprint, or a reserved address that the control did not also get (then
// it is a lab or an intranet).
func (a *analysis) dnsCertain(d *dnsCase) (dnsResult, bool) {
	if fps := a.dnsFingerprints(d.drive); len(fps) > 0 {
		for _, fp := range fps {
			a.noteFingerprint(fp)
		}
		addr := whereAddr(fps[0].Where)
		if addr == "" {
			addr = "fingerprint " + fps[0].Name
		}
		return a.dnsBlocked(d, fmt.Sprintf("%s answered with the address of a known block page (%s) instead of the site's address.", d.label, addr), true, false), true
	}
	if len(d.p.bogons) == 0 {
		return dnsResult{}, false
	}
	if d.c == nil || len(d.c.bogons) == 0 {
		a.note("%s returned reserved address %s", d.who, list(d.p.bogons))
		if d.c != nil {
			a.note("control returned %s", list(d.c.addrs))
		}
		return a.dnsBlocked(d, fmt.Sprintf("%s answered with %s, a reserved address that cannot belong to %s.", d.label, list(d.p.bogons), a.domain), true, false), true
	}
	a.note("reserved answers %s not held against the probe: the control got reserved addresses too (lab or intranet)", list(d.p.bogons))
	return dnsResult{}, false
}

// noteDNSWithoutControl records what the probe's resolver said when there is no control
// to judge it by.
func (a *analysis) noteDNSWithoutControl(d *dnsCase) {
	a.noteLateReplies(d.drive)
	if len(d.p.addrs) > 0 {
		a.note("%s returned %s", d.who, list(d.p.addrs))
	} else {
		a.note("%s failed: %s", d.who, d.p.failure)
	}
}

// dnsProbeResolvedNothing judges a probe without answers (rule 1, item 4): expected when
// the control did not resolve either, or when the encrypted resolver was out of reach.
func (a *analysis) dnsProbeResolvedNothing(d *dnsCase) dnsResult {
	p, c := d.p, d.c
	if unreachedEncrypted(d.drive) {
		a.note("%s failed (%s) without any reply", d.who, p.failure)
		return dnsResult{outcome: dnsUnclear, reason: fmt.Sprintf("The probe could not reach its encrypted resolver, so whether %s is blocked could not be tested.", a.domain)}
	}
	if len(c.addrs) == 0 {
		a.note("%s failed (%s); control failed (%s)", d.who, p.failure, c.failure)
		if sameDNSFailure(p.failure, c.failure) {
			return dnsResult{outcome: dnsDown, reason: fmt.Sprintf("Neither %s nor the control could resolve %s (%s), so the site is down rather than blocked.", d.label, a.domain, c.failure)}
		}
		return dnsResult{outcome: dnsUnclear, reason: fmt.Sprintf("%s failed to resolve %s (%s) and the control failed differently (%s), so it is unclear whether the site is blocked.", upper(d.label), a.domain, p.failure, c.failure)}
	}
	a.note("%s failed (%s); control returned %s", d.who, p.failure, list(c.addrs))
	return a.dnsBlocked(d, fmt.Sprintf("%s %s, although the control resolved it to %s.", d.label, dnsFailed(p.failure, a.domain), list(c.addrs)), false, false)
}

// dnsControlResolvedNothing judges the probe's answers when the control got none (rule 1,
// item 5): a valid certificate proves them; a name the control found missing (a ghost
// name) is blocked when the answer served a known block page, else unclear; any other
// control failure leaves DNS unjudged.
func (a *analysis) dnsControlResolvedNothing(d *dnsCase) dnsResult {
	p, c := d.p, d.c
	for _, ip := range p.addrs {
		if d.proven[ip] {
			a.note("valid certificate for %s at %s; the control's DNS failed (%s)", a.domain, ip, c.failure)
			return dnsResult{outcome: dnsConsistent}
		}
	}
	if noName(c.failure) {
		a.note("%s returned %s; control failed (%s)", d.who, list(p.addrs), c.failure)
		if fp, ok := a.httpFingerprint(); ok {
			// A name that does not exist, answered with a server of a known block page:
			// the resolver sends the name to the block page.
			a.noteFingerprint(fp)
			return a.dnsBlocked(d, fmt.Sprintf("%s answered with %s, which served a known block page (%s), although the control found that %s does not exist.", d.label, list(p.addrs), fp.Name, a.domain), true, false)
		}
		return dnsResult{outcome: dnsUnclear, reason: fmt.Sprintf("The control found no address for %s (%s) while %s returned %s, so it is unclear whether the site is blocked.", a.domain, c.failure, d.label, list(p.addrs))}
	}
	a.note("the control's DNS failed (%s): the answers cannot be compared", c.failure)
	return dnsResult{}
}

// dnsCompare judges the probe's answers when both sides resolved (rule 1, items 6 to 8):
// they must be the site's.
func (a *analysis) dnsCompare(d *dnsCase) dnsResult {
	p, c := d.p, d.c
	good, bad := d.split()
	unconfirmed := map[string]bool{}
	for _, ip := range bad {
		unconfirmed[ip] = true
	}
	if len(good) == 0 {
		a.note("%s returned %s; control returned %s", d.who, list(p.addrs), list(c.addrs))
		a.noteNoOverlap(d)
		if a.https {
			a.note("no valid certificate for %s at %s", a.domain, list(p.addrs))
		}
		return a.dnsBlocked(d, fmt.Sprintf("%s answered with %s, which is not among the control's addresses for %s (%s).", d.label, list(p.addrs), a.domain, list(c.addrs)), false, true)
	}
	if !p.v4 && c.v4 && p.failure != "" {
		a.note("%s A query failed (%s); control returned %s", d.who, p.failure, list(c.addrs))
		return a.dnsBlocked(d, fmt.Sprintf("%s gave no IPv4 address for %s (%s), although the control resolved it to %s.", d.label, a.domain, p.failure, list(c.addrs)), false, false)
	}
	a.noteConfirmation(good, c, p, d.proven)
	if len(bad) > 0 {
		a.note("%s also returned %s, which the control did not confirm", d.who, list(bad))
	}
	a.noteExtraResolvers(d.extra, c, true)
	return dnsResult{outcome: dnsConsistent, unconfirmed: unconfirmed}
}

// split divides the probe's answers into confirmed and unconfirmed ones. An answer in
// the same known AS as a confirmed one is confirmed too: two resolvers (or a home
// router's two upstreams) handing out different nodes of the site's network.
func (d *dnsCase) split() (good, bad []string) {
	goodAS := map[uint32]bool{}
	for _, ip := range d.p.addrs {
		if d.confirmed(ip) {
			good = append(good, ip)
			if as := d.p.asnOf[ip]; as != 0 {
				goodAS[as] = true
			}
		}
	}
	for _, ip := range d.p.addrs {
		switch {
		case slices.Contains(good, ip):
		case goodAS[d.p.asnOf[ip]]:
			good = append(good, ip)
		default:
			bad = append(bad, ip)
		}
	}
	return good, bad
}

// noteNoOverlap records that no answer is shared, and whether ASN overlap could be
// checked at all: without an ASN database no answer carries an ASN.
func (a *analysis) noteNoOverlap(d *dnsCase) {
	if len(d.p.asns) == 0 || len(d.c.asns) == 0 {
		a.note("no address overlap; ASN overlap could not be checked (no ASN for the probe's or the control's answers: no ASN database, or it does not cover them)")
		return
	}
	a.note("no address or ASN overlap")
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
