// Package grafana holds no code: deploy/grafana is Pantau's Grafana dashboard (the
// collector dashboard's heatmap of networks × time, straight from InfluxDB), in a Flux and
// an InfluxQL variant (InfluxDB 3 has no Flux), and its provisioning examples. The package's
// tests check both dashboards' structure and run every query in them, with their variables
// substituted as Grafana does, against a real InfluxDB holding measurements written by the
// collector's store.
package grafana
