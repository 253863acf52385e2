package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"sort"

	"github.com/pantau-dev/pantau/collector/orders"
)

// profile starts a CPU profile into path ("" none); the returned stop may be called twice.
func profile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	done := false
	return func() {
		if !done {
			done = true
			pprof.StopCPUProfile()
			f.Close()
		}
	}, nil
}

// printReport prints a compliance report as a table: per network the status, the time to
// effect, the share of consistent measurements and the domains not compliant.
func printReport(r orders.Report) {
	fmt.Printf("  %-8s %-14s %14s %7s %7s  %s\n", "network", "status", "time to effect", "share", "gaps", "domains not compliant")
	nets := append([]orders.NetworkReport(nil), r.Networks...)
	sort.Slice(nets, func(i, j int) bool { return nets[i].Network < nets[j].Network })
	for _, n := range nets {
		tte := "-"
		if n.TimeToEffectS != nil {
			tte = fmt.Sprintf("%.1fh", *n.TimeToEffectS/3600)
		}
		gaps := 0
		var bad []string
		for _, d := range n.Domains {
			gaps += d.Gaps
			if d.Status != orders.Compliant {
				bad = append(bad, d.Domain+" ("+string(d.Status)+")")
			}
		}
		if len(bad) == len(n.Domains) && len(bad) > 0 {
			bad = []string{fmt.Sprintf("all %d", len(bad))}
		}
		fmt.Printf("  %-8s %-14s %14s %6.1f%% %7d  %v\n", n.Network, n.Status, tte, 100*n.Share, gaps, bad)
	}
}
