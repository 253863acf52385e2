package report_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/sign"
	"github.com/pantau-dev/pantau/collector/store"
)

func testSigner() *sign.Signer {
	return sign.New(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)), "v9.9.9")
}

// TestWellKnownKey: the report handler serves the signing key at the well-known URL, and
// says 404 when there is none. The store is never contacted.
func TestWellKnownKey(t *testing.T) {
	st, err := store.New(store.Config{URL: "http://127.0.0.1:1", Bucket: "none", Timeout: time.Second}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	for _, s := range []*sign.Signer{testSigner(), nil} {
		svc, err := report.New(report.Config{Source: st, Signer: s}, quiet())
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(svc.Handler(""))
		k, err := sign.FetchKey(ctx(t), srv.Client(), srv.URL)
		srv.Close()
		if s == nil {
			if err == nil || !strings.Contains(err.Error(), "404") {
				t.Errorf("without a key: %+v %v", k, err)
			}
			continue
		}
		if err != nil || k.KeyID != s.KeyID() {
			t.Errorf("key: %+v %v, want ID %s", k, err, s.KeyID())
		}
	}
}

// TestSignedReports: with a signer, evidence bundles and compliance reports (JSON and
// CSV) verify against its key; a changed byte of a measurement is named; without a
// signer a JSON bundle says it is unsigned.
func TestSignedReports(t *testing.T) {
	st, _, _ := fixture(t)
	s := testSigner()
	svc, err := report.New(report.Config{Source: st, Now: func() time.Time { return end }, Signer: s}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler(""))
	defer srv.Close()
	api := srv.URL + "/api/v1"
	ev := "/evidence?domain=t.me&network=Telkomsel&at=2017-07-16T12:00:00Z"
	co := "/orders/kominfo-2017-telegram-block/compliance?at=2017-07-20T00:00:00Z"
	for _, c := range []struct{ path, kind string }{{ev, "evidence"}, {ev + "&format=csv", "evidence"}, {co, "compliance"}, {co + "&format=csv", "compliance"}} {
		code, _, body := get(t, api+c.path)
		sig, err := sign.Verify([]byte(body), s.Public())
		if code != 200 || err != nil || sig.Kind != c.kind || sig.CollectorVersion != "v9.9.9" {
			t.Errorf("%s: %d %v %+v %.200s", c.path, code, err, sig, body)
		}
	}
	_, _, body := get(t, api+ev)
	var b report.Bundle
	if err := json.Unmarshal([]byte(body), &b); err != nil || len(b.Items) == 0 || b.Items[0].ReceivedAt.IsZero() {
		t.Fatalf("bundle: %v %.300s", err, body)
	}
	raw := string(b.Items[0].Raw)
	tampered := strings.Replace(body, raw, strings.Replace(raw, "t.me", "t.mf", 1), 1)
	if _, err := sign.Verify([]byte(tampered), s.Public()); !errors.Is(err, sign.ErrTampered) || !strings.Contains(err.Error(), "measurement 1 (id "+b.Items[0].ID+")") {
		t.Errorf("tampered: %v", err)
	}
	unsigned := httptest.NewServer(newService(t, st, "", end).Handler(""))
	defer unsigned.Close()
	_, _, body = get(t, unsigned.URL+"/api/v1"+ev)
	if _, err := sign.Verify([]byte(body), s.Public()); !errors.Is(err, sign.ErrUnsigned) || !strings.HasSuffix(body, `,"signature":null}`+"\n") {
		t.Errorf("unsigned: %v %.100s", err, body[max(0, len(body)-100):])
	}
}
