package verdict

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// scopeFP is the fingerprint scope of pages known NOT to be block pages (OONI's "fp"):
// server-side challenges (Cloudflare's "Just a moment…", a cf-mitigated header),
// parking and registrar pages, default and error pages of web servers.
const scopeFP = "fp"

// serverSidePage decides a probe fetch whose final reply matched an fp-scope
// fingerprint: the server (or its CDN) answered with something other than the site's
// content, for reasons of its own. That is no evidence of blocking, nor of access, even
// when the control got the same page (then nobody saw the content): inconclusive.
func (a *analysis) serverSidePage() (measurement.Verdict, bool) {
	last := len(a.m.HTTP) - 1
	if last < 0 {
		return measurement.Verdict{}, false
	}
	for _, fp := range a.m.Fingerprints {
		if fp.Scope != scopeFP || strings.EqualFold(fp.Location, "dns") || hopOf(fp.Where) != last {
			continue
		}
		a.note("fingerprint %s (scope fp: a server-side challenge, parking or default page, not a block page) matched %s", fp.Name, fp.Where)
		a.noteProbeOutcome()
		return a.inconclusive(fmt.Sprintf("The probe got a server-side page from %s that is known not to be a block page (%s), such as a bot challenge or a parking page, instead of the site's content, so whether it is blocked cannot be told.", a.domain, fp.Name)), true
	}
	return measurement.Verdict{}, false
}

// isRedirect reports whether status is one the engine follows.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// unusableRedirect decides a fetch whose final reply is a redirect the engine did not
// follow (its location empty, unparsable or of another scheme) over HTTPS from the
// site itself: the site answered, but with no page to compare, so unless the control
// got the same, it is inconclusive. Over plain HTTP such a reply could be anyone's and
// is compared with the control's like any other.
func (a *analysis) unusableRedirect(pf measurement.HTTPRequest) (measurement.Verdict, bool) {
	if !isRedirect(pf.Status) || pf.Failure != nil {
		return measurement.Verdict{}, false
	}
	for _, h := range a.m.HTTP {
		if !isHTTPS(h.URL) {
			return measurement.Verdict{}, false
		}
	}
	a.note("probe fetch of %s ended with status %d and location %q, which was not followed", pf.URL, pf.Status, pf.Headers["Location"])
	if a.sameAsControl() {
		return measurement.Verdict{}, false
	}
	return a.inconclusive(fmt.Sprintf("The site answered the probe over HTTPS with a redirect to a location that cannot be followed (status %d) instead of a page, so whether %s is blocked cannot be told.", pf.Status, a.domain)), true
}
