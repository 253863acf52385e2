package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// influxQL runs one InfluxQL statement on db through InfluxDB 1.8's /query and returns the
// rows of its first series.
func influxQL(ctx context.Context, base, db, q string) ([][]any, error) {
	form := url.Values{"q": {q}}
	if db != "" {
		form.Set("db", db)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &r) != nil || len(r.Results) != 1 || r.Results[0].Error != "" {
		return nil, fmt.Errorf("%s: HTTP %d: %s", q, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if len(r.Results[0].Series) == 0 {
		return nil, nil
	}
	return r.Results[0].Series[0].Values, nil
}

// count returns how many points of measurement m have field f in db.
func count(ctx context.Context, base, db, m, f string) (int64, error) {
	rows, err := influxQL(ctx, base, db, fmt.Sprintf(`SELECT count(%q) FROM %q`, f, m))
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	if len(rows[0]) != 2 {
		return 0, fmt.Errorf("count of %s.%s: unexpected row %v", m, f, rows[0])
	}
	n, ok := rows[0][1].(float64)
	if !ok {
		return 0, fmt.Errorf("count of %s.%s: unexpected value %v", m, f, rows[0][1])
	}
	return int64(n), nil
}
