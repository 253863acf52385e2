package verdict

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pantau-dev/pantau/internal/failure"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// bodyProportion is OONI's threshold: bodies within this length ratio are alike.
const bodyProportion = 0.7

// tri is a comparison that may not be possible.
type tri int

const (
	unknown tri = iota
	yes
	no
)

// http compares the probe's fetch with the control's (rules 5 and 6, and the HTTP half
// of rules 2 and 8).
func (a *analysis) http(d dnsResult) measurement.Verdict {
	if fp, ok := a.httpFingerprint(); ok {
		a.noteFingerprint(fp)
		return a.attribute(d, a.hopIPs(hopOf(fp.Where)), measurement.MethodHTTP, blockPageReason(fp), "served a known block page")
	}
	if v, ok := a.serverSidePage(); ok {
		return v
	}
	ps, cs := a.m.HTTP, a.ctl.HTTP
	if len(ps) == 0 {
		a.noteProbeOutcome()
		return a.inconclusive(fmt.Sprintf("The probe did not fetch %s, so there is nothing to compare with the control.", a.domain))
	}
	pf := ps[len(ps)-1]
	var cf *measurement.HTTPRequest
	if len(cs) > 0 {
		cf = &cs[len(cs)-1]
	}
	if pf.Failure != nil {
		return a.httpFailed(d, pf, len(ps)-1, cf)
	}
	if a.authentic(pf, cf) {
		a.note("probe fetched %s with status %d over HTTPS with a valid certificate", pf.URL, pf.Status)
		return a.accessible(fmt.Sprintf("The probe fetched %s over HTTPS with a valid certificate, as the control did.", a.domain))
	}
	if v, ok := a.unusableRedirect(pf); ok {
		return v
	}
	if cf == nil || cf.Failure != nil {
		a.note("probe fetch of %s ended with status %d; control fetch failed (%s)", pf.URL, pf.Status, str(cfFailure(cf)))
		return a.inconclusive(fmt.Sprintf("The probe got a reply from %s but the control could not fetch the page, so the two cannot be compared.", a.domain))
	}
	a.note("probe got status %d, %s; control got status %d, %s", pf.Status, describeBody(pf), cf.Status, describeBody(*cf))
	if pf.Status != cf.Status {
		if cf.Status/100 != 2 {
			return a.inconclusive(fmt.Sprintf("The control got status %d from %s, so the probe's reply (status %d) cannot be judged against it.", cf.Status, a.domain, pf.Status))
		}
		return a.attribute(d, a.hopIPs(len(ps)-1), measurement.MethodHTTP,
			fmt.Sprintf("The probe received a different reply from %s than the control did (status %d instead of %d).", a.domain, pf.Status, cf.Status),
			"served a different page than the control got")
	}
	body, title := bodyMatch(pf, *cf), titleMatch(pf.Title, cf.Title)
	if body == no && title != yes {
		a.note("body length ratio below %.1f and titles differ", bodyProportion)
		return a.attribute(d, a.hopIPs(len(ps)-1), measurement.MethodHTTP,
			fmt.Sprintf("The probe received a different page from %s than the control did (%d bytes instead of %d, with a different title).", a.domain, pf.BodyLength, cf.BodyLength),
			"served a different page than the control got")
	}
	a.note("the probe's page matches the control's")
	return a.accessible(fmt.Sprintf("The probe fetched %s and got the same page as the control.", a.domain))
}

// httpFailed judges a probe fetch that failed.
func (a *analysis) httpFailed(d dnsResult, pf measurement.HTTPRequest, hop int, cf *measurement.HTTPRequest) measurement.Verdict {
	f := *pf.Failure
	if cf == nil {
		a.note("probe fetch of %s failed (%s); the control did not fetch it", pf.URL, f)
		return a.inconclusive(fmt.Sprintf("The probe's fetch of %s failed and the control did not fetch it, so it is unclear whether it is blocked.", a.domain))
	}
	if cf.Failure != nil {
		a.note("probe fetch of %s failed (%s); control fetch of %s failed (%s)", pf.URL, f, cf.URL, *cf.Failure)
		return a.down(fmt.Sprintf("Neither the probe nor the control could fetch %s, so it is down rather than blocked.", a.domain))
	}
	a.note("probe fetch of %s failed (%s); control got status %d", pf.URL, f, cf.Status)
	host := hostOfURL(pf.URL)
	if host == "" {
		host = a.domain
	}
	switch a.hopMethod(pf, hop) {
	case measurement.MethodDNS:
		return a.blocked(measurement.MethodDNS, fmt.Sprintf("The probe could not resolve %s while fetching %s (%s), while the control fetched the page normally.", host, a.domain, f))
	case measurement.MethodTCP:
		return a.attribute(d, a.hopIPs(hop), measurement.MethodTCP,
			fmt.Sprintf("The connection to %s, which the fetch of %s was redirected to, %s (%s), while the control fetched the page normally.", host, a.domain, happened(f), f),
			"did not accept connections")
	case measurement.MethodTLS:
		return a.attribute(d, a.hopIPs(hop), measurement.MethodTLS,
			fmt.Sprintf("The TLS handshake with %s %s while fetching the page (%s), while the control fetched it normally.", host, happened(f), f),
			"failed the TLS handshake")
	case measurement.MethodHTTP:
		return a.attribute(d, a.hopIPs(hop), measurement.MethodHTTP,
			fmt.Sprintf("Fetching %s from the probe %s (%s), while the control fetched it normally.", pf.URL, happened(f), f),
			"broke the fetch")
	}
	return a.inconclusive(fmt.Sprintf("The probe's fetch of %s failed in a way the probe could not classify (%s), so it is unclear whether it is blocked.", a.domain, f))
}

// hopMethod is the step at which the failed hop hop of the probe's fetch broke: dns for
// a name it could not resolve, tls for a certificate failure, and http for a failure
// after connecting. A redirect hop to an address the connect step did not reach has no
// connect or handshake of its own on record: a refusal, timeout or unreachable host is
// then tcp, and a reset or cut-off connection is tls for HTTPS (the handshake is the
// first thing sent) or http for plain HTTP. An unknown failure gives "" (inconclusive).
func (a *analysis) hopMethod(h measurement.HTTPRequest, hop int) string {
	f := str(h.Failure)
	switch f {
	case failure.ConnectionReset, failure.EOF, failure.GenericTimeout, failure.ConnectionRefused,
		failure.ConnectionAborted, failure.HostUnreachable, failure.NetworkUnreachable,
		failure.HTTPInvalidReply, failure.HTTPTooManyRedir:
	default:
		switch {
		case failure.IsDNS(f):
			return measurement.MethodDNS
		case failure.IsTLS(f):
			return measurement.MethodTLS
		}
		return ""
	}
	if hop > 0 && h.Address == "" {
		return measurement.MethodDNS // the redirect's host was not resolved: no address was tried
	}
	if hop == 0 || f == failure.HTTPInvalidReply || f == failure.HTTPTooManyRedir {
		return measurement.MethodHTTP
	}
	if m, ok := a.hopStep(h); ok {
		return m
	}
	if a.connectedBefore(h.Address) {
		return measurement.MethodHTTP
	}
	switch f {
	case failure.ConnectionReset, failure.EOF, failure.ConnectionAborted:
		if isHTTPS(h.URL) {
			return measurement.MethodTLS
		}
		return measurement.MethodHTTP
	}
	return measurement.MethodTCP
}

// hopStep reads the step at which redirect hop h failed from its own connect and
// handshake, which the engine records after the TCP step's (the last connect to the
// hop's address, and the last handshake there for the hop's host): a failed connect is
// tcp, a failed handshake tls, and a failure after both http. False when no connect to
// that address is on record (measurements that did not record hops).
func (a *analysis) hopStep(h measurement.HTTPRequest) (string, bool) {
	host, port, err := net.SplitHostPort(h.Address)
	if err != nil {
		return "", false
	}
	var conn *measurement.TCPConnect
	for i := len(a.m.TCP) - 1; i >= 0 && conn == nil; i-- {
		if c := a.m.TCP[i]; c.IP == host && strconv.Itoa(c.Port) == port {
			conn = &a.m.TCP[i]
		}
	}
	switch {
	case conn == nil:
		return "", false
	case conn.Failure != nil:
		return measurement.MethodTCP, true
	case !isHTTPS(h.URL):
		return measurement.MethodHTTP, true
	}
	name := hostOfURL(h.URL)
	for i := len(a.m.TLS) - 1; i >= 0; i-- {
		t := a.m.TLS[i]
		if t.IP == host && strconv.Itoa(t.Port) == port && !t.SNISwap && strings.EqualFold(t.SNI, name) {
			if t.Failure != nil {
				return measurement.MethodTLS, true
			}
			break
		}
	}
	return measurement.MethodHTTP, true
}

// connectedBefore reports whether the probe's connect step reached address (IP:PORT).
func (a *analysis) connectedBefore(address string) bool {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(a.m.TCP, func(c measurement.TCPConnect) bool {
		return c.Failure == nil && c.IP == host && strconv.Itoa(c.Port) == port
	})
}

func cfFailure(cf *measurement.HTTPRequest) *string {
	if cf == nil {
		s := "no fetch"
		return &s
	}
	return cf.Failure
}

// authentic reports whether the probe's final reply came over HTTPS with a valid
// certificate (the engine verifies it) along a chain an on-path device could not have
// redirected: every hop HTTPS, or the same final host as the control's. A final
// redirect is no page: the engine stopped there because its location was unusable
// (empty, unparsable, another scheme) or the chain was too long.
func (a *analysis) authentic(pf measurement.HTTPRequest, cf *measurement.HTTPRequest) bool {
	if pf.Failure != nil || pf.Status <= 0 || isRedirect(pf.Status) || !isHTTPS(pf.URL) {
		return false
	}
	if cf != nil && cf.Failure == nil && strings.EqualFold(hostOfURL(pf.URL), hostOfURL(cf.URL)) {
		return true
	}
	for _, h := range a.m.HTTP {
		if !isHTTPS(h.URL) {
			return false
		}
	}
	return true
}

// authenticFetch returns the probe's final reply when it is authentic on its own.
func (a *analysis) authenticFetch() (measurement.HTTPRequest, bool) {
	if len(a.m.HTTP) == 0 {
		return measurement.HTTPRequest{}, false
	}
	pf := a.m.HTTP[len(a.m.HTTP)-1]
	return pf, a.authentic(pf, nil)
}

// sameAsControl reports whether the probe's final page is the control's: same status
// and a matching title, or alike bodies without contradicting titles. It clears
// disjoint DNS answers (a CDN) and shows a transparent proxy or the site's own page
// where the canary's page was expected, so it is stricter than the HTTP diff, and it
// only counts a control page the control fetched from its own addresses (see
// controlPageOwn).
func (a *analysis) sameAsControl() bool {
	if _, fp := a.httpFingerprint(); fp || a.ctl == nil || len(a.m.HTTP) == 0 || len(a.ctl.HTTP) == 0 || !a.controlPageOwn() {
		return false
	}
	pf, cf := a.m.HTTP[len(a.m.HTTP)-1], a.ctl.HTTP[len(a.ctl.HTTP)-1]
	if pf.Failure != nil || cf.Failure != nil || pf.Status <= 0 || pf.Status != cf.Status {
		return false
	}
	t := titleMatch(pf.Title, cf.Title)
	return t == yes || t == unknown && bodyMatch(pf, cf) == yes
}

// controlPageOwn reports whether the control fetched its page from an address of its own:
// one its DNS returned for the target, or the target's literal. A control that found no
// usable address of its own fetches through the probe's addresses; its page is then
// whatever those addresses serve (a block page, a portal) and says nothing about the
// site. A first hop without a recorded address cannot be placed and counts as the
// control's own.
func (a *analysis) controlPageOwn() bool {
	ip := hostOf(a.ctl.HTTP[0].Address)
	if ip == "" || a.ipTarget && ip == a.domain {
		return true
	}
	for _, q := range a.ctl.DNS {
		if slices.Contains(q.Addrs(), ip) {
			return true
		}
	}
	return false
}

// bodyMatch compares body lengths as OONI does (ratio of the shorter to the longer);
// a truncated body only gives a lower bound.
func bodyMatch(p, c measurement.HTTPRequest) tri {
	pl, cl := p.BodyLength, c.BodyLength
	switch {
	case p.BodyTruncated && c.BodyTruncated:
		return yes
	case p.BodyTruncated || c.BodyTruncated:
		full, cut := pl, cl
		if p.BodyTruncated {
			full, cut = cl, pl
		}
		if full < cut && float64(full) < bodyProportion*float64(cut) {
			return no
		}
		return unknown
	case pl == cl:
		return yes
	}
	lo, hi := min(pl, cl), max(pl, cl)
	if float64(lo) >= bodyProportion*float64(hi) {
		return yes
	}
	return no
}

// titleMatch compares titles as OONI does: the words of five letters or more must be the
// same (in any order, any case). Short titles compare whole.
func titleMatch(p, c string) tri {
	p, c = strings.TrimSpace(p), strings.TrimSpace(c)
	switch {
	case p == "" && c == "":
		return unknown
	case p == "" || c == "":
		return no
	}
	pw, cw := longWords(p), longWords(c)
	if len(pw) == 0 && len(cw) == 0 {
		if strings.EqualFold(p, c) {
			return yes
		}
		return no
	}
	if len(pw) != len(cw) {
		return no
	}
	for w := range pw {
		if !cw[w] {
			return no
		}
	}
	return yes
}

func longWords(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.Fields(strings.ToLower(s)) {
		if len([]rune(w)) >= 5 {
			out[w] = true
		}
	}
	return out
}

// httpFingerprint returns the first block-page fingerprint matched in an HTTP reply.
func (a *analysis) httpFingerprint() (measurement.FingerprintMatch, bool) {
	for _, fp := range a.m.Fingerprints {
		if !strings.EqualFold(fp.Location, "dns") && isBlockPage(fp) {
			return fp, true
		}
	}
	return measurement.FingerprintMatch{}, false
}

// isBlockPage reports whether a match means a block page. OONI's scope "fp" marks
// known false positives: pages that look like block pages but are not; they stay in the
// observations and never count as blocking.
func isBlockPage(fp measurement.FingerprintMatch) bool { return fp.Scope != scopeFP }

// noteFingerprint records a block-page match the verdict rests on.
func (a *analysis) noteFingerprint(fp measurement.FingerprintMatch) {
	a.fingerprinted = true
	a.note("fingerprint %s matched %s", fp.Name, fp.Where)
}

func blockPageReason(fp measurement.FingerprintMatch) string {
	if strings.HasPrefix(strings.ToLower(fp.Location), "header.location") {
		return fmt.Sprintf("The probe was redirected to a known block page (%s) instead of the site.", fp.Name)
	}
	return fmt.Sprintf("The probe received a known block page (%s) instead of the site.", fp.Name)
}

// hopOf parses the hop index of a fingerprint's Where ("http[2] body"), or -1.
func hopOf(where string) int {
	rest, ok := strings.CutPrefix(where, "http[")
	if !ok {
		return -1
	}
	n, _, ok := strings.Cut(rest, "]")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(n)
	if err != nil {
		return -1
	}
	return i
}

// fetchedThrough reports whether the probe's fetch was sent to one of ips (whatever
// address when ips is empty).
func (a *analysis) fetchedThrough(ips []string) bool {
	return len(ips) == 0 || len(a.m.HTTP) > 0 && slices.Contains(ips, hostOf(a.m.HTTP[0].Address))
}

// hopIPs returns the address hop i of the probe's fetch was sent to, if known.
func (a *analysis) hopIPs(i int) []string {
	if i < 0 || i >= len(a.m.HTTP) {
		return nil
	}
	if ip := hostOf(a.m.HTTP[i].Address); ip != "" {
		return []string{ip}
	}
	return nil
}

func describeBody(h measurement.HTTPRequest) string {
	s := fmt.Sprintf("%d bytes", h.BodyLength)
	if h.BodyTruncated {
		s += " (truncated)"
	}
	if h.Title != "" {
		s += fmt.Sprintf(", title %q", h.Title)
	}
	return s
}

func isHTTPS(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.EqualFold(u.Scheme, "https")
}

func hostOfURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
