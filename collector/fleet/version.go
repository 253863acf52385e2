package fleet

import (
	"strconv"
	"strings"
)

// release parses the MAJOR.MINOR.PATCH core of a version as releases and `git describe`
// stamp it ("v1.2.3", "1.2.3", "v1.2.3-4-gabcdef", "v1.2.3-rc.1"); anything after the core
// is ignored, so two builds of one release are never older than each other. ok is false
// for other versions ("dev", a bare commit hash).
func release(v string) (r [3]int, ok bool) {
	core := strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		core = core[:i]
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return r, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || p[0] == '+' {
			return r, false
		}
		r[i] = n
	}
	return r, true
}

// newerVersion reports whether a is a release newer than b, or a release where b is
// none yet ("").
func newerVersion(a, b string) bool {
	ra, ok := release(a)
	if !ok {
		return false
	}
	if b == "" {
		return true
	}
	rb, ok := release(b)
	if !ok {
		return false
	}
	for i := range ra {
		if ra[i] != rb[i] {
			return ra[i] > rb[i]
		}
	}
	return false
}
