package orders

import (
	"errors"
	"fmt"
	"github.com/pantau-dev/pantau/collector/auth"
	"net/netip"
	"strings"

	"github.com/pantau-dev/pantau/collector/timeline"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

// MaxID is the longest order ID.
const MaxID = 64

// Validate checks an order as Parse leaves it: each problem is a *yamlconf.FieldError
// naming its field, all joined. Domains must already be normalised (lower case, no
// trailing dot). A nil list is one the file does not give ("missing"), an empty one is
// given empty. An order whose domains come from its TargetList may have none here: the
// list is checked when it is read.
func (o Order) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, yamlconf.Errorf(field, format, args...)) }
	if err := checkID(o.ID); err != nil {
		bad("id", "%v", err)
	}
	if strings.TrimSpace(o.Authority) == "" {
		bad("authority", "missing")
	}
	if strings.TrimSpace(o.Reference) == "" {
		bad("reference", "missing")
	}
	switch {
	case o.Expect == "":
		bad("expect", "missing")
	case o.Expect != timeline.Blocked && o.Expect != timeline.Accessible:
		bad("expect", "%q: want blocked or accessible", o.Expect)
	}
	if o.Effective.IsZero() {
		bad("effective", "missing")
	}
	if err := checkZone(o.Zone); err != nil {
		bad("zone", "%v", err)
	}
	if o.Grace < 0 {
		bad("grace", "%s is negative", o.Grace)
	}
	o.validateNetworks(bad)
	o.validateDomains(bad)
	if o.Supersedes != "" {
		if err := checkID(o.Supersedes); err != nil {
			bad("supersedes", "%v", err)
		} else if o.Supersedes == o.ID {
			bad("supersedes", "%q is the order itself", o.Supersedes)
		}
	}
	for i, s := range o.Sources {
		if strings.TrimSpace(s) == "" {
			bad(fmt.Sprintf("sources[%d]", i), "empty")
		}
	}
	return errors.Join(errs...)
}

// validateDomains checks the domains: at least one (nil: none given), each once.
func (o Order) validateDomains(bad func(field, format string, args ...any)) {
	switch {
	case o.Domains == nil && o.TargetList == "":
		bad("domains", "missing: give domains or target_list")
	case len(o.Domains) == 0 && o.TargetList == "":
		bad("domains", "none: give at least one")
	}
	first := map[string]int{}
	for i, h := range o.Domains {
		field := fmt.Sprintf("domains[%d]", i)
		j, dup := first[h]
		switch err := checkDomain(h); {
		case err != nil:
			bad(field, "%q: %v", h, err)
		case normalDomain(h) != h:
			bad(field, "%q: not normalised (want %q)", h, normalDomain(h))
		case dup:
			bad(field, "%q is also domains[%d]", h, j)
		default:
			first[h] = i
		}
	}
}

// validateNetworks checks the networks: at least one (nil: none given), each once.
func (o Order) validateNetworks(bad func(field, format string, args ...any)) {
	switch {
	case o.Networks == nil:
		bad("networks", "missing")
	case len(o.Networks) == 0:
		bad("networks", "none: give at least one")
	}
	first := map[string]int{}
	for i, n := range o.Networks {
		field := fmt.Sprintf("networks[%d]", i)
		j, dup := first[n]
		switch err := checkNetwork(n); {
		case err != nil:
			bad(field, "%q: %v", n, err)
		case dup:
			bad(field, "%q is also networks[%d]", n, j)
		default:
			first[n] = i
		}
	}
}

// checkID checks an order ID: 1 to 64 of a-z, 0-9 and -, not starting with -.
func checkID(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	ok := len(s) <= MaxID && s[0] != '-'
	for _, c := range []byte(s) {
		ok = ok && (c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')
	}
	if !ok {
		return fmt.Errorf("%q: want 1 to %d of a-z, 0-9 and -, not starting with -", s, MaxID)
	}
	return nil
}

// normalDomain lower-cases a host name and drops surrounding space and a trailing dot.
func normalDomain(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// checkDomain checks a normalised host name: at most 253 characters of labels of 1 to 63
// letters, digits, '-' (not first or last) and '_' (as found in the wild); not an IP.
func checkDomain(h string) error {
	if h == "" {
		return errors.New("empty")
	}
	if strings.ContainsAny(h, "/:") {
		return errors.New("not a host name (give t.me, not https://t.me/)")
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return errors.New("an IP address, not a host name")
	}
	if len(h) > 253 {
		return errors.New("longer than 253 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("bad label %q", label)
		}
		for i, c := range label {
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' && i > 0 && i < len(label)-1
			if !ok {
				return fmt.Errorf("bad character %q in label %q", c, label)
			}
		}
	}
	return nil
}

// checkNetwork checks a network name as the store takes it (store.ValidNetwork): 1 to
// 253 of letters, digits, '.', '_', '-' and single inner spaces ("Indosat Ooredoo").
func checkNetwork(s string) error {
	if !auth.ValidNetwork(s) {
		return fmt.Errorf("want 1 to %d of letters, digits, '.', '_', '-' and single inner spaces", auth.MaxNetworkLen)
	}
	return nil
}
