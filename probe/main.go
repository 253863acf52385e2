// Command probe measures the reachability of targets from the network it runs on
// (`probe measure`) and serves the control vantage point (`probe helper`).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/pantau-dev/pantau/probe/cli"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
}
