package verdict

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// emptySHA256 is the SHA-256 of an empty body: two empty pages are not "the same page".
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// unlessIntercepted turns a blocked verdict into an inconclusive one when the run's
// canary shows that the probe's network intercepts every name (a captive portal, a
// hotel or office network): the odd answers or pages the target got are then the
// network's doing for any name, not evidence that the target is censored. A verdict
// resting on a known block page stands: that page names its author.
func (a *analysis) unlessIntercepted(v measurement.Verdict) measurement.Verdict {
	if v.Status != measurement.StatusBlocked || a.fingerprinted {
		return v
	}
	facts := a.interception()
	if len(facts) == 0 {
		return v
	}
	facts = append(facts, fmt.Sprintf("without the canary the verdict would be blocked/%s", v.Method))
	v.Evidence = append(facts, v.Evidence...)
	v.Status, v.Method = measurement.StatusInconclusive, ""
	v.Reason = fmt.Sprintf("The probe's check of the benign name %s shows that the network intercepts every name (a captive portal or an intercepting proxy), so whether %s is blocked cannot be told.", a.m.Canary.Name, a.domain)
	return v
}

// interception returns the canary's facts showing that the network intercepts every
// name, or nil: the canary resolved to reserved addresses (the target's answers being
// the same ones is noted), or the target's fetch ended on the canary's page. A missing
// canary, one that failed, one that resolved normally and got its own page, and a
// target that is the canary's own name show nothing.
func (a *analysis) interception() []string {
	c := a.m.Canary
	if c == nil || c.Name == "" || strings.EqualFold(strings.TrimSuffix(c.Name, "."), a.domain) {
		return nil
	}
	var facts []string
	if len(c.Bogons) > 0 {
		facts = append(facts, fmt.Sprintf("canary %s resolved to reserved address %s", c.Name, list(c.Bogons)))
		var shared []string
		for _, q := range a.m.DNS {
			for _, b := range q.Bogons {
				if slices.Contains(c.Bogons, b) && !slices.Contains(shared, b) {
					shared = append(shared, b)
				}
			}
		}
		if len(shared) > 0 {
			facts = append(facts, fmt.Sprintf("the target's answers %s are the canary's reserved addresses", list(shared)))
		}
	}
	if same := a.canaryPage(c); same != "" {
		facts = append(facts, fmt.Sprintf("the target's fetch ended on the canary's page (%s)", same))
	}
	return facts
}

// canaryPage says how the probe's final reply for the target is the page the canary's
// fetch got (same body, same final URL or same title), or "". A reply that is the
// control's page is the site's, whatever the canary got (sites share titles such as
// "Example Domain").
func (a *analysis) canaryPage(c *measurement.Canary) string {
	if c.Failure != nil || c.Status <= 0 || len(a.m.HTTP) == 0 || a.sameAsControl() {
		return ""
	}
	pf := a.m.HTTP[len(a.m.HTTP)-1]
	if pf.Status <= 0 {
		return ""
	}
	switch {
	case c.BodySHA256 != "" && c.BodySHA256 != emptySHA256 && strings.EqualFold(c.BodySHA256, pf.BodySHA256):
		return "the same body"
	case c.URL != "" && c.URL == pf.URL:
		return "the same final URL " + c.URL
	case strings.TrimSpace(c.Title) != "" && strings.TrimSpace(c.Title) == strings.TrimSpace(pf.Title):
		return "the same title"
	}
	return ""
}
