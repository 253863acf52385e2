package web

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// TestRawAsSubmitted: the raw link answers the measurement as its probe submitted it, byte
// for byte (white space, escapes, HTML characters), beside the identity from its token;
// another probe's measurement with the same ID at the same time is its own.
func TestRawAsSubmitted(t *testing.T) {
	srv, s := serveStack(t, "")
	at := dsBlock.Add(30*time.Minute + 123456789)
	m := &measurement.Measurement{ID: measurement.NewID(), SchemaVersion: 1, Target: "https://t.me/", Kind: "web", Domain: dsDomain,
		Port: 443, StartedAt: at, RuntimeMS: 100, Software: measurement.Software{Name: "pantau", Version: "test"},
		Verdict: measurement.Verdict{Status: "blocked", Method: "dns", Reason: "<b>x</b> & \"y\"", Evidence: []string{}}}
	m.Normalise()
	compact, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, compact, "\r\n", "\t "); err != nil {
		t.Fatal(err)
	}
	raw := strings.Replace(buf.String(), `"target": "https://`, `"target" :	"https:\/\/`, 1)
	forged := strings.Replace(string(compact), `"status":"blocked"`, `"status":"accessible"`, 1)
	forger := store.Identity{Probe: "evil-1", Network: tsel, Country: "ID", ASN: 23693}
	for _, it := range []store.Item{{M: m, Raw: []byte(raw), Probe: dsProbes[0], ReceivedAt: at.Add(time.Minute)},
		{M: m, Raw: []byte(forged), Probe: forger, ReceivedAt: at.Add(2 * time.Minute)}} {
		if err := s.st.Write(testCtx(t), []store.Item{it}); err != nil {
			t.Fatal(err)
		}
	}
	for probe, want := range map[string]string{dsProbes[0].Probe: raw, forger.Probe: forged} {
		u := srv.URL + "/raw?" + url.Values{"domain": {dsDomain}, "network": {tsel}, "probe": {probe}, "id": {m.ID}, "at": {fmtTime(at)}}.Encode()
		code, body := get(t, client(t), u)
		if code != 200 || !strings.HasSuffix(body, "\"measurement\": "+want+"\n}\n") || !json.Valid([]byte(body)) {
			t.Fatalf("%s: HTTP %d\n%s\nwant the measurement\n%s", probe, code, body, want)
		}
		var item struct {
			Probe      store.Identity `json:"probe"`
			ReceivedAt time.Time      `json:"received_at"`
		}
		if err := json.Unmarshal([]byte(body), &item); err != nil || item.Probe.Probe != probe {
			t.Errorf("%s: identity %+v (%v)", probe, item.Probe, err)
		}
	}
}
