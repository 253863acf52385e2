package report_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// TestEvidenceImmutable: an evidence bundle shows each measurement as its probe
// submitted it, under that probe's name. A second probe on the network that submitted
// the first probe's IDs with its own content has its own items, never the first probe's
// name on its content nor its content under the first probe's name. The raw JSON of each
// item is in the file byte for byte as submitted (white space and escapes), so every hash
// checks against the bytes of the file.
func TestEvidenceImmutable(t *testing.T) {
	st, _, _ := fixture(t)
	at := time.Date(2017, 7, 16, 12, 0, 0, 0, time.UTC)
	// tsel-1's measurements of t.me within the hour before at, as stored.
	own, _, err := st.Measurements(ctx(t), store.Filter{Domain: "t.me", Probe: "tsel-1", From: at.Add(-3 * time.Hour), To: at})
	if err != nil || len(own) != 3 {
		t.Fatalf("tsel-1 near at: %d measurements (%v)", len(own), err)
	}
	forger := store.Identity{Probe: "tsel-evil", Network: "Telkomsel", Country: "ID", ASN: 23693}
	var forged []store.Item
	for _, sm := range own {
		m := sm.Measurement
		m.Verdict = measurement.Verdict{Status: "blocked", Method: "dns", Reason: "forged by tsel-evil", Evidence: []string{}}
		raw, err := json.Marshal(&m)
		if err != nil {
			t.Fatal(err)
		}
		forged = append(forged, store.Item{M: &m, Raw: raw, Probe: forger, ReceivedAt: sm.ReceivedAt.Add(time.Minute)})
	}
	// tsel-2 submitted one measurement with white space and escapes.
	odd := measure("t.me", at.Add(-30*time.Minute), "blocked", "dns")
	compact, err := json.Marshal(odd)
	if err != nil {
		t.Fatal(err)
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, compact, "\r\n", "\t "); err != nil {
		t.Fatal(err)
	}
	oddRaw := strings.Replace(ind.String(), `"target": "https://`, `"target" :	"https:\/\/`, 1)
	items := append(forged, store.Item{M: odd, Raw: []byte(oddRaw), Probe: probes[1], ReceivedAt: odd.StartedAt.Add(time.Minute)})
	if err := st.Write(ctx(t), items); err != nil {
		t.Fatal(err)
	}
	svc := newService(t, st, "", end)
	srv := httptest.NewServer(svc.Handler(""))
	t.Cleanup(srv.Close)
	code, _, body := get(t, srv.URL+"/api/v1/evidence?"+url.Values{"domain": {"t.me"}, "network": {"Telkomsel"}, "at": {at.Format(time.RFC3339)}}.Encode())
	if code != 200 {
		t.Fatalf("HTTP %d %s", code, body)
	}
	var b report.Bundle
	if err := json.Unmarshal([]byte(body), &b); err != nil || b.Missing != 0 {
		t.Fatalf("bundle: %v, missing %d", err, b.Missing)
	}
	wantRaw := map[string]string{odd.ID: oddRaw}
	for _, sm := range own {
		wantRaw["tsel-1 "+sm.Measurement.ID] = string(sm.Raw)
	}
	for _, f := range forged {
		wantRaw["tsel-evil "+f.M.ID] = string(f.Raw)
	}
	seen := map[string]int{}
	whole := sha256.New()
	for _, it := range b.Items {
		sum := sha256.Sum256(it.Raw) // the bytes as they appear in the file
		if it.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("item %s of %s: sha256 %s, the file's bytes %x", it.ID, it.Probe.Probe, it.SHA256, sum)
		}
		whole.Write([]byte(it.SHA256))
		var m measurement.Measurement
		if err := json.Unmarshal(it.Raw, &m); err != nil || m.ID != it.ID {
			t.Errorf("item %s: raw decodes to %s (%v)", it.ID, m.ID, err)
		}
		forgedReason := m.Verdict.Reason == "forged by tsel-evil"
		if forgedReason != (it.Probe.Probe == "tsel-evil") {
			t.Errorf("item %s: %s's content under %s", it.ID, map[bool]string{true: "tsel-evil", false: "another probe"}[forgedReason], it.Probe.Probe)
		}
		key := it.Probe.Probe + " " + it.ID
		if it.ID == odd.ID {
			key = it.ID
		}
		if want, ok := wantRaw[key]; ok {
			seen[key]++
			if string(it.Raw) != want {
				t.Errorf("item %s of %s: raw\n%s\nwant\n%s", it.ID, it.Probe.Probe, it.Raw, want)
			}
		}
	}
	if b.SHA256 != hex.EncodeToString(whole.Sum(nil)) {
		t.Errorf("bundle sha256 %s, want %x", b.SHA256, whole.Sum(nil))
	}
	for k := range wantRaw {
		if seen[k] != 1 {
			t.Errorf("%s is in the bundle %d times, want once", k, seen[k])
		}
	}
	if !strings.Contains(body, `"raw":`+oddRaw+`}`) {
		t.Errorf("the white space of the submitted JSON is not in the file")
	}
}
