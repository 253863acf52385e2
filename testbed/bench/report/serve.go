package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
)

// serveCollector serves the collector's report API in this process on 127.0.0.1:0: a
// report.Service on a store.Store reading bucket, with the data set's block order in its
// orders folder. It returns the base URL, the store (with its read times) and a function
// that stops the server.
func serveCollector(ctx context.Context, influx, bucket string, w *world, cache report.CacheConfig, log *slog.Logger) (string, *timedStore, func(), error) {
	s, err := store.New(store.Config{URL: influx, Bucket: bucket, Timeout: 5 * time.Minute}, log)
	if err != nil {
		return "", nil, nil, err
	}
	st := &timedStore{Store: s}
	dir, err := os.MkdirTemp("", "benchreport-orders-")
	if err != nil {
		st.Close()
		return "", nil, nil, err
	}
	cleanup := func() { st.Close(); os.RemoveAll(dir) }
	if err := os.WriteFile(filepath.Join(dir, orderID+".yaml"), []byte(w.orderYAML()), 0o600); err != nil {
		cleanup()
		return "", nil, nil, err
	}
	svc, err := report.New(report.Config{Source: st, OrdersDir: dir, Cache: cache, Marks: st}, log)
	if err != nil {
		cleanup()
		return "", nil, nil, fmt.Errorf("report.New: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cleanup()
		return "", nil, nil, err
	}
	srv := &http.Server{Handler: svc.Handler(""), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("report server", "err", err)
		}
		cleanup()
	}
	return "http://" + ln.Addr().String(), st, stop, nil
}
