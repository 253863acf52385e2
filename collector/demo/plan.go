// Package demo generates `collector demo`'s simulated data set: the 2017 Telegram case
// as a fleet could have measured it, on the four networks of the bundled orders and five
// others, from 1 July to 31 August 2017. The story it tells (docs/demo.md): the block of
// 14 July applied at once by some ISPs, a day late by one and beyond the grace period by
// another; the lift of 10 August, with t.me and four web.telegram.org names kept blocked
// on two networks; a probe outage; a name whose block flaps. Every measurement is built
// from raw observations (DNS answers, connects, handshakes, fetches, the control's), its
// block-page fingerprints are matched by package fingerprint and its verdict is derived by
// package verdict, so the evidence behind every cell is what a real probe would show.
// The data set is deterministic: loading it twice stores each measurement once.
package demo

import "time"

// Notice is what the dashboard says on every page of the demo.
const Notice = "These are not real measurements: collector demo generated them to show how the dashboard reads " +
	"the 2017 Telegram case (probes named sim-, software pantau-demo). See docs/demo.md in the repository."

// The data set's window, cadence and the timeline parameters it needs.
const (
	// Cadence is how often each probe measures every name.
	Cadence = 6 * time.Hour
	// MaxSilence is the smallest timeline max_silence that reads the cadence as
	// continuous coverage; `collector demo` raises the config's to it.
	MaxSilence = 9 * time.Hour
	// SoftwareName is the software.name of every generated measurement.
	SoftwareName = "pantau-demo (simulated)"
	// ProbePrefix starts every generated probe ID.
	ProbePrefix = "sim-"
)

var (
	// Start and End bound the data set: [Start, End).
	Start = time.Date(2017, 7, 1, 0, 0, 0, 0, time.UTC)
	End   = time.Date(2017, 9, 1, 0, 0, 0, 0, time.UTC)
	// BlockEffective and LiftEffective are the seed orders' effective times (00:00 WIB).
	BlockEffective = time.Date(2017, 7, 13, 17, 0, 0, 0, time.UTC)
	LiftEffective  = time.Date(2017, 8, 9, 17, 0, 0, 0, time.UTC)
)

// Order IDs of the bundled seed orders the data set is about.
const (
	BlockOrder = "kominfo-2017-telegram-block"
	LiftOrder  = "kominfo-2017-telegram-unblock"
)

// Domains are the 11 names of the 2017 order, in the order's order.
var Domains = []string{"t.me", "telegram.me", "telegram.org", "core.telegram.org", "desktop.telegram.org",
	"macos.telegram.org", "web.telegram.org", "venus.web.telegram.org", "pluto.web.telegram.org",
	"flora.web.telegram.org", "flora-1.web.telegram.org"}

// Kept are the five names still blocked after the lift on the networks with KeepAfterLift.
var Kept = []string{"t.me", "venus.web.telegram.org", "pluto.web.telegram.org", "flora.web.telegram.org", "flora-1.web.telegram.org"}

// Never is a delay for a step a network never takes.
const Never = time.Duration(-1)

// Network is one simulated network and what it does.
type Network struct {
	Name    string
	ASN     uint32
	Country string
	Probes  int // how many probes measure from it (staggered through the cadence)
	// Resolver is the ISP's resolver the probes use; Block is how it blocks.
	Resolver string
	Block    Method
	// BlockAfter and LiftAfter are how long after the block's and the lift's effective
	// time the network applied them (Never: not at all).
	BlockAfter, LiftAfter time.Duration
	// KeepAfterLift: the network keeps the Kept names blocked after the lift.
	KeepAfterLift bool
	// Outage is a stretch in which its probes were offline (zero: none).
	Outage [2]time.Time
	// Flap names a domain whose block the network switches on and off every FlapEvery
	// between the block and the lift (its resolvers disagree), instead of keeping it.
	Flap      string
	FlapEvery time.Duration
}

// Networks is the simulated fleet. The four order networks come first, in the order's
// order; their stories are the ones Check verifies.
var Networks = []Network{
	{Name: "Telkom Indonesia", ASN: 7713, Country: "ID", Probes: 2, Resolver: "118.98.44.10",
		Block: DNSAddr("36.86.63.185"), BlockAfter: 2 * time.Hour, LiftAfter: 5 * time.Hour, KeepAfterLift: true},
	{Name: "Telkomsel", ASN: 23693, Country: "ID", Probes: 2, Resolver: "202.3.208.10",
		Block: DNSCNAME("mypage.blocked.bltsel", "114.121.254.4"), BlockAfter: time.Hour, LiftAfter: 20 * time.Hour, KeepAfterLift: true},
	// XL applies the block a day late (within the grace period) and its probe is
	// offline for four days.
	{Name: "XL Axiata", ASN: 24203, Country: "ID", Probes: 1, Resolver: "112.215.198.248",
		Block: DNSCNAME("blockpage.xl.co.id", "202.152.240.50"), BlockAfter: 26 * time.Hour, LiftAfter: 26 * time.Hour,
		Outage: [2]time.Time{time.Date(2017, 7, 20, 6, 0, 0, 0, time.UTC), time.Date(2017, 7, 24, 12, 0, 0, 0, time.UTC)}},
	// Indosat applies it four days late, two days beyond the grace period, and by SNI.
	{Name: "Indosat Ooredoo", ASN: 4761, Country: "ID", Probes: 1, Resolver: "202.155.0.10",
		Block: TLSReset(), BlockAfter: 4 * 24 * time.Hour, LiftAfter: 3 * time.Hour},
	{Name: "Biznet", ASN: 17451, Country: "ID", Probes: 1, Resolver: "203.142.82.222",
		Block: DNSAddr("10.10.34.35"), BlockAfter: 30 * time.Hour, LiftAfter: 12 * time.Hour},
	{Name: "First Media", ASN: 23700, Country: "ID", Probes: 1, Resolver: "202.53.232.2",
		Block: DNSCNAME("internetpositif3.firstmedia.com", "202.137.1.74"), BlockAfter: 6 * time.Hour, LiftAfter: 30 * time.Hour},
	// MyRepublic, outside the order's scope, never blocks.
	{Name: "MyRepublic", ASN: 63859, Country: "ID", Probes: 1, Resolver: "103.19.56.2",
		Block: DNSAddr("36.86.63.185"), BlockAfter: Never, LiftAfter: Never},
	// Smartfren's resolvers disagree about web.telegram.org: its block flaps.
	{Name: "Smartfren", ASN: 18004, Country: "ID", Probes: 1, Resolver: "202.67.33.2",
		Block: DNSCNAME("trustpositif.kominfo.go.id", "27.54.116.70"), BlockAfter: 10 * time.Hour, LiftAfter: 10 * time.Hour,
		Flap: "web.telegram.org", FlapEvery: 36 * time.Hour},
	// A VPS outside Indonesia: nothing is blocked there (a control-like vantage point).
	{Name: "DigitalOcean SG", ASN: 14061, Country: "SG", Probes: 1, Resolver: "67.207.67.2",
		Block: DNSAddr("127.0.0.1"), BlockAfter: Never, LiftAfter: Never},
}

// Blocked reports whether network n blocks domain at t, as the generator plans it.
func (n *Network) Blocked(domain string, t time.Time) bool {
	if n.BlockAfter == Never || t.Before(BlockEffective.Add(n.BlockAfter)) {
		return false
	}
	lifted := n.LiftAfter != Never && !t.Before(LiftEffective.Add(n.LiftAfter))
	if lifted {
		return n.KeepAfterLift && contains(Kept, domain)
	}
	if domain == n.Flap && n.FlapEvery > 0 {
		since := t.Sub(BlockEffective.Add(n.BlockAfter))
		return (since/n.FlapEvery)%2 == 0
	}
	return true
}

// Offline reports whether n's probes were offline at t.
func (n *Network) Offline(t time.Time) bool {
	return !n.Outage[0].IsZero() && !t.Before(n.Outage[0]) && t.Before(n.Outage[1])
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
