// Package measurement holds Pantau's wire format: the JSON object that `probe measure`
// prints for one target and that the collector stores. Field names are stable; see
// docs/measurement.md. Observations are raw facts; the verdict is derived from them.
package measurement

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// SchemaVersion is bumped only for incompatible changes to the wire format.
const SchemaVersion = 1

// Target kinds.
const (
	KindWeb = "web" // DNS, TCP, TLS (for https) and HTTP
	KindTCP = "tcp" // connect-only check of tcp://HOST:PORT
)

// Measurement is one target measured once by one probe.
type Measurement struct {
	ID            string `json:"id"`
	SchemaVersion int    `json:"schema_version"`
	Target        string `json:"target"` // normalised: https://DOMAIN/, a URL, or tcp://HOST:PORT
	// Input is the target as the user gave it, when that differs from Target other than
	// by normalisation of case and form: an internationalised name in Unicode
	// (https://яндекс.рф/), whose A-label form (xn--d1acpjx3f.xn--p1ai) is in Target
	// and Domain. Omitted when the target was given in its A-label form.
	Input     string    `json:"input,omitempty"`
	Kind      string    `json:"kind"`   // KindWeb or KindTCP
	Domain    string    `json:"domain"` // host name or IP literal of the target
	Port      int       `json:"port"`
	StartedAt time.Time `json:"started_at"`
	RuntimeMS float64   `json:"runtime_ms"`
	Software  Software  `json:"software"`
	// Schedule names the schedule that ran the measurement; empty for `probe measure`.
	Schedule string `json:"schedule,omitempty"`
	// Resolvers identifies each resolver the probe used and its egress address (whoami).
	Resolvers []ResolverInfo `json:"resolvers"`
	Observations
	// Fingerprints lists every block-page fingerprint that matched an observation.
	Fingerprints []FingerprintMatch `json:"fingerprints"`
	Control      *Control           `json:"control"`
	// Canary is what the probe's network did, in the same run, with a benign name that
	// nobody censors. Nil when the run had no canary (e.g. an older probe).
	Canary  *Canary `json:"canary,omitempty"`
	Verdict Verdict `json:"verdict"`
	// Source says where the measurement comes from when it was not made by a Pantau
	// probe: SourceOONI for one imported from OONI's open data (`collector import
	// ooni`). Empty for a Pantau probe's own; the collector refuses it from probes.
	Source string `json:"source,omitempty"`
	// Provenance identifies an imported measurement in its source and keeps the
	// source's own verdict beside Pantau's; nil for a Pantau probe's own.
	Provenance *Provenance `json:"provenance,omitempty"`
}

// SourceOONI is the Source of measurements imported from OONI's open data.
const SourceOONI = "ooni"

// Provenance is where an imported measurement comes from: OONI's identifiers of it, the
// probe's network as OONI recorded it, the software that made it, and OONI's own
// verdict (its web_connectivity `blocking` and `accessible` keys), kept for comparison
// with the verdict Pantau derived from the same observations.
type Provenance struct {
	ReportID         string `json:"report_id"`
	MeasurementUID   string `json:"measurement_uid,omitempty"`
	ProbeASN         string `json:"probe_asn"` // "AS7713"
	ProbeNetworkName string `json:"probe_network_name,omitempty"`
	ProbeCC          string `json:"probe_cc"`
	SoftwareName     string `json:"software_name"`
	SoftwareVersion  string `json:"software_version"`
	// OONIBlocking is OONI's `blocking`: "false", "dns", "tcp_ip", "http-diff",
	// "http-failure" (or another value a later OONI gives); empty when it was null
	// (OONI could not tell) or absent.
	OONIBlocking string `json:"ooni_blocking,omitempty"`
	// OONIAccessible is OONI's `accessible`; null when OONI could not tell.
	OONIAccessible *bool `json:"ooni_accessible"`
}

// Canary is the run's check of the probe's network itself: a benign, uncensorable name
// (by default example.org) resolved with the probe's resolvers and fetched over plain
// HTTP, once per run, and copied into every measurement of the run. A network that
// answers the canary with a private or reserved address, or serves the same page for it
// as for a target (captive portals, hotel and office networks that intercept every
// name), makes a target's odd answers no evidence of censorship.
type Canary struct {
	Name string `json:"name"` // the canary's host name
	// Addrs are the A and AAAA addresses the probe's resolvers answered, without
	// duplicates; Bogons are those of them in reserved or private ranges.
	Addrs      []string `json:"addrs"`
	Bogons     []string `json:"bogons,omitempty"`
	DNSFailure *string  `json:"dns_failure"` // the resolution failed (no address at all)
	// The plain-HTTP fetch of http://NAME/ (redirects followed): final URL, status,
	// body hash and title, or its failure.
	URL        string  `json:"url,omitempty"`
	Status     int     `json:"status"`
	BodySHA256 string  `json:"body_sha256,omitempty"`
	Title      string  `json:"title,omitempty"`
	Failure    *string `json:"failure"`
	TimeMS     float64 `json:"time_ms"`
}

// Software names the program that made a measurement.
type Software struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Observations are the raw facts of one vantage point. The probe and the control helper
// record the same shape.
type Observations struct {
	DNS  []DNSQuery     `json:"dns"`
	TCP  []TCPConnect   `json:"tcp"`
	TLS  []TLSHandshake `json:"tls"`
	HTTP []HTTPRequest  `json:"http"`
}

// DNS transports.
const (
	TransportUDP = "udp"
	TransportTCP = "tcp"
	TransportDoT = "dot"
	TransportDoH = "doh"
)

// DNSQuery is one question (name, type) asked of one resolver.
type DNSQuery struct {
	Resolver  string      `json:"resolver"`  // udp://IP:PORT, tcp://IP:PORT, tls://HOST:PORT, https://HOST/PATH
	Transport string      `json:"transport"` // udp, tcp, dot, doh
	System    bool        `json:"system"`    // the resolver comes from /etc/resolv.conf (or --system-resolver)
	Query     string      `json:"query"`
	QType     string      `json:"qtype"`           // A or AAAA
	Rcode     string      `json:"rcode,omitempty"` // NOERROR, NXDOMAIN, …; empty when no reply came
	Answers   []DNSAnswer `json:"answers"`
	Failure   *string     `json:"failure"`
	RTTMS     float64     `json:"rtt_ms"`
	// Truncated is true when the UDP reply had the TC bit; Answers then come from the TCP retry.
	Truncated bool `json:"truncated"`
	// LateReplies are further replies read on the same UDP socket after the first one, until
	// the wait window closed: an on-path injector answers first, the real resolver later.
	LateReplies []DNSReply `json:"late_replies,omitempty"`
	// Bogons lists answer addresses in reserved ranges (not declared as lab ranges).
	Bogons []string `json:"bogons,omitempty"`
}

// DNSReply is one extra reply to a UDP query.
type DNSReply struct {
	Rcode   string      `json:"rcode"`
	Answers []DNSAnswer `json:"answers"`
	RTTMS   float64     `json:"rtt_ms"`
}

// DNSAnswer is one resource record of the answer section.
type DNSAnswer struct {
	Name string `json:"name"`
	Type string `json:"type"` // A, AAAA, CNAME, …
	TTL  uint32 `json:"ttl"`
	Data string `json:"data"` // address, or target name for CNAME
	ASN  uint32 `json:"asn,omitempty"`
}

// Addrs returns the A and AAAA addresses of the answers, in order, without duplicates.
func (q DNSQuery) Addrs() []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range q.Answers {
		if (a.Type == "A" || a.Type == "AAAA") && !seen[a.Data] {
			seen[a.Data] = true
			out = append(out, a.Data)
		}
	}
	return out
}

// ResolverInfo identifies a resolver and the egress address it queries authoritative
// servers from, as a whoami lookup reported it.
type ResolverInfo struct {
	Resolver  string   `json:"resolver"`
	Transport string   `json:"transport"`
	System    bool     `json:"system"`
	Egress    []string `json:"egress"`
	Failure   *string  `json:"failure"`
}

// Address origins for TCP connects.
const (
	OriginProbe   = "probe"   // the probe's DNS returned it
	OriginControl = "control" // only the control's DNS returned it
	OriginTarget  = "target"  // an IP literal target
)

// TCPConnect is one connect attempt.
type TCPConnect struct {
	IP      string  `json:"ip"`
	Port    int     `json:"port"`
	Origin  string  `json:"origin"`
	Failure *string `json:"failure"`
	TimeMS  float64 `json:"time_ms"`
}

// TLSHandshake is one handshake on a connected address.
type TLSHandshake struct {
	IP   string `json:"ip"`
	Port int    `json:"port"`
	SNI  string `json:"sni"`
	// SNISwap is true for the repeat with an innocuous SNI after a failure with the real one.
	SNISwap     bool    `json:"sni_swap"`
	Failure     *string `json:"failure"`
	Version     string  `json:"version,omitempty"`
	CipherSuite string  `json:"cipher_suite,omitempty"`
	ALPN        string  `json:"alpn,omitempty"`
	// Certificates is the peer chain as sent, leaf first.
	Certificates []Certificate `json:"certificates,omitempty"`
	// CertValid is true when the chain verifies and the leaf covers the target domain
	// (for the swapped SNI: the swapped name). A verification error is also in Failure.
	CertValid bool    `json:"cert_valid"`
	TimeMS    float64 `json:"time_ms"`
}

// Certificate summarises one certificate.
type Certificate struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	DNSNames  []string  `json:"dns_names,omitempty"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	SHA256    string    `json:"sha256"`
}

// HTTPRequest is one request of a fetch; a redirect chain is several, in order.
type HTTPRequest struct {
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Address string            `json:"address,omitempty"` // IP:PORT the request was sent to
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"` // selected response headers
	// BodyLength counts the bytes read, at most the cap; BodyTruncated says the cap was hit.
	BodyLength    int64   `json:"body_length"`
	BodyTruncated bool    `json:"body_truncated"`
	BodySHA256    string  `json:"body_sha256,omitempty"`
	Title         string  `json:"title,omitempty"`
	Failure       *string `json:"failure"`
	TimeMS        float64 `json:"time_ms"`
}

// FingerprintMatch is one block-page fingerprint that matched an observation.
type FingerprintMatch struct {
	Name        string `json:"name"`
	Scope       string `json:"scope"`    // nat, isp, prod, …
	Location    string `json:"location"` // dns, body, title, header.location, …
	PatternType string `json:"pattern_type"`
	Pattern     string `json:"pattern"`
	Confidence  int    `json:"confidence"`
	// Where says which observation matched, e.g. "dns udp://10.0.0.1:53 A answer 36.86.63.185".
	Where string `json:"where"`
}

// Control is what an uncensored helper observed for the same target.
type Control struct {
	Helper   string           `json:"helper"` // base URL of the helper that answered
	Failure  *string          `json:"failure"`
	Attempts []ControlAttempt `json:"attempts"`
	Observations
}

// ControlAttempt records one helper tried, in order.
type ControlAttempt struct {
	Helper  string  `json:"helper"`
	Failure *string `json:"failure"`
	TimeMS  float64 `json:"time_ms"`
}

// Verdict statuses and methods.
const (
	StatusAccessible   = "accessible"
	StatusBlocked      = "blocked"
	StatusDown         = "down"
	StatusInconclusive = "inconclusive"

	MethodDNS  = "dns"
	MethodTCP  = "tcp"
	MethodTLS  = "tls"
	MethodHTTP = "http"
)

// Verdict is derived from the observations by package verdict.
type Verdict struct {
	Status   string   `json:"status"`
	Method   string   `json:"method,omitempty"`
	Reason   string   `json:"reason"`
	Evidence []string `json:"evidence"`
}

// NewID returns a random 128-bit identifier in hex.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Ms converts a duration to float milliseconds with microsecond resolution.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Failure returns a pointer to s, or nil for "".
func Failure(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Normalise makes empty lists encode as [] rather than null, so consumers see a stable
// shape.
func (o *Observations) Normalise() {
	if o.DNS == nil {
		o.DNS = []DNSQuery{}
	}
	if o.TCP == nil {
		o.TCP = []TCPConnect{}
	}
	if o.TLS == nil {
		o.TLS = []TLSHandshake{}
	}
	if o.HTTP == nil {
		o.HTTP = []HTTPRequest{}
	}
}

// Normalise makes every empty list of m, its observations' included, encode as [].
func (m *Measurement) Normalise() {
	m.Observations.Normalise()
	if m.Fingerprints == nil {
		m.Fingerprints = []FingerprintMatch{}
	}
	if m.Resolvers == nil {
		m.Resolvers = []ResolverInfo{}
	}
}
