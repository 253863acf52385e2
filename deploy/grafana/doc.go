// Package grafana holds no code: deploy/grafana is Pantau's Grafana dashboard (the
// collector dashboard's heatmap of networks × time, straight from InfluxDB with Flux) and
// its provisioning examples. The package's test checks the dashboard's structure and runs
// every Flux query in it, with its variables substituted as Grafana does, against a real
// InfluxDB holding measurements written by the collector's store.
package grafana
