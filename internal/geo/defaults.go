package geo

import "os"

// DefaultASNPaths are the files a probe uses as its ASN database when its configuration
// names none, in order: Pantau's own place for it, then where Debian's and Ubuntu's
// geoipupdate (and MaxMind's packages) put GeoLite2-ASN.
func DefaultASNPaths() []string {
	return []string{"/var/lib/pantau/asn.mmdb", "/usr/share/GeoIP/GeoLite2-ASN.mmdb"}
}

// FindFile returns the first of paths that exists and is a regular file (symbolic
// links followed), or "" when none is.
func FindFile(paths []string) string {
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
