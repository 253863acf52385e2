// Command collector receives measurements from probes, stores them in InfluxDB and
// serves them back (`collector serve`), and issues probe tokens (`collector token issue`).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // orders name IANA zones (Asia/Jakarta); a FROM-scratch image has no zone database

	"github.com/pantau-dev/pantau/collector/cli"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
}
