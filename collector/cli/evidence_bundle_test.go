package cli_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	evsign "github.com/pantau-dev/pantau/collector/sign"
	"github.com/pantau-dev/pantau/collector/store"
	"github.com/pantau-dev/pantau/internal/influxtest"
	"github.com/pantau-dev/pantau/internal/measurement"
)

// signedReportAPI serves the report API, signing with s, of a real store holding
// half-hourly measurements of fxOrder's names by the fixture's probes (fxVerdict), and
// fxOrder in the zone Asia/Jakarta.
func signedReportAPI(t *testing.T, s *evsign.Signer) string {
	url, _ := influxtest.Server(t)
	st, err := store.New(store.Config{URL: url, Bucket: influxtest.NewBucket(t), Timeout: time.Minute}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var items []store.Item
	for at := fxStart; at.Before(fxEnd); at = at.Add(30 * time.Minute) {
		for i, p := range fxProbes {
			for j, d := range []string{"t.me", "web.telegram.org"} {
				m := &measurement.Measurement{ID: measurement.NewID(), SchemaVersion: 1, Target: "https://" + d + "/", Kind: "web",
					Domain: d, Port: 443, StartedAt: at.Add(time.Duration(i+10*j) * time.Minute), RuntimeMS: 100,
					Software: measurement.Software{Name: "pantau", Version: "test"}}
				m.Verdict.Status, m.Verdict.Method = fxVerdict(p.Network, d, m.StartedAt)
				items = append(items, store.Item{M: m, Probe: p, ReceivedAt: m.StartedAt.Add(time.Minute)})
			}
		}
	}
	if err := st.Write(ctx, items); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "test-telegram.yaml"), []byte(fxOrder+"zone: Asia/Jakarta\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svc, err := report.New(report.Config{Source: st, OrdersDir: dir, Now: func() time.Time { return fxEnd }, Signer: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler(""))
	t.Cleanup(srv.Close)
	return srv.URL
}

// repack rewrites a zip archive with change applied to its files (name → content; nil
// removes the file).
func repack(t *testing.T, b []byte, change map[string][]byte) []byte {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	write := func(name string, data []byte) {
		fw, err := w.Create(name)
		if err == nil {
			_, err = fw.Write(data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := change[f.Name]; ok {
			delete(change, f.Name)
			if c == nil {
				continue
			}
			data = c
		}
		write(f.Name, data)
	}
	for name, data := range change { // files that were not there: added
		write(name, data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// firstMeasurement returns the name and content of the archive's first measurement file.
func firstMeasurement(t *testing.T, b []byte) (string, []byte) {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.File {
		if strings.HasPrefix(f.Name, "measurements/") && f.Name != report.BundleIndex {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			data, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return f.Name, data
		}
	}
	t.Fatal("no measurement in the bundle")
	return "", nil
}

// TestEvidenceBundle: `evidence bundle` downloads an order's bundle from the API of a
// real store; `evidence verify` takes it with the new key, with old and new keys given
// apart or in one file, and names what fails in a changed bundle.
func TestEvidenceBundle(t *testing.T) {
	dir := t.TempDir()
	oldKey, newKey := filepath.Join(dir, "old.key"), filepath.Join(dir, "new.key")
	for _, k := range []string{oldKey, newKey} {
		if code, _, stderr := run(t, env(nil), "evidence", "keygen", "--out", k); code != 0 {
			t.Fatal(stderr)
		}
	}
	key, err := evsign.LoadKey(newKey)
	if err != nil {
		t.Fatal(err)
	}
	s := evsign.New(key, "v2.0.0")
	api := signedReportAPI(t, s)
	out := filepath.Join(dir, "bundle.zip")
	args := []string{"evidence", "bundle", "--url", api, "--order", "test-telegram", "--at", "2017-07-17T00:00:00Z", "--out", out}
	if code, stdout, stderr := run(t, env(nil), args...); code != 0 || !strings.Contains(stdout, "wrote "+out) {
		t.Fatalf("bundle: %d %q %q", code, stdout, stderr)
	}
	if code, _, stderr := run(t, env(nil), args...); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("bundle again: %d %q", code, stderr)
	}
	if code, _, stderr := run(t, env(nil), "evidence", "bundle", "--url", api, "--order", "nope", "--out", filepath.Join(dir, "x.zip")); code != 1 || !strings.Contains(stderr, "404") {
		t.Errorf("bundle of no order: %d %q", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	both := filepath.Join(dir, "keys.pem")
	old, _ := os.ReadFile(oldKey + ".pub")
	cur, _ := os.ReadFile(newKey + ".pub")
	if err := os.WriteFile(both, append(append(old, "# rotated 2027\n"...), cur...), 0o644); err != nil {
		t.Fatal(err)
	}
	meas, raw := firstMeasurement(t, b)
	file := func(name string, change map[string][]byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, repack(t, b, change), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	changed := file("changed.zip", map[string][]byte{meas: bytes.Replace(raw, []byte("t.me"), []byte("t.mf"), 1)})
	removed := file("removed.zip", map[string][]byte{report.BundleHTML: nil})
	added := file("added.zip", map[string][]byte{"notes.txt": []byte("hello")})
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--key", newKey + ".pub", out}, 0, "valid: order-bundle order test-telegram (zip) at 2017-07-17T00:00:00Z, generated 2017-07-18T00:00:00Z by collector v2.0.0, key ID " + s.KeyID() + "\nevery file matches manifest.json"},
		{[]string{"--key", oldKey + ".pub", "--key", newKey + ".pub", out}, 0, "valid: order-bundle"},
		{[]string{"--key", both, out}, 0, "valid: order-bundle"},
		{[]string{"--key", oldKey + ".pub", out}, 1, out + ": wrong key: signed with key " + s.KeyID()},
		{[]string{"--key", both, changed}, 1, changed + ": tampered content: " + meas + ": changed (SHA-256 "},
		{[]string{"--key", both, removed}, 1, removed + ": tampered content: report.html: missing"},
		{[]string{"--key", both, added}, 1, added + ": tampered content: notes.txt: added (not in the manifest)"},
	} {
		code, stdout, stderr := run(t, env(nil), append([]string{"evidence", "verify"}, c.args...)...)
		got := stderr
		if c.code == 0 {
			got = stdout
		}
		if code != c.code || !strings.Contains(got, c.out) {
			t.Errorf("verify %q: exit %d, stdout %q, stderr %q; want %d and %q", c.args, code, stdout, stderr, c.code, c.out)
		}
	}
	checkBundleZone(t, b)
}

// checkBundleZone: the bundle's page and CSV show the order's times in WIB beside UTC.
func checkBundleZone(t *testing.T, b []byte) {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		report.BundleHTML: "2017-07-14 07:00:00 WIB (2017-07-14 00:00:00 UTC)",
		report.BundleCSV:  "Asia/Jakarta,2017-07-17T07:00:00+07:00,2017-07-14T07:00:00+07:00,2017-07-15T07:00:00+07:00",
	}
	var seen []string
	for _, f := range r.File {
		w, ok := want[f.Name]
		if !ok {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !strings.Contains(string(data), w) {
			t.Errorf("%s lacks %q (%v)", f.Name, w, err)
		}
		seen = append(seen, f.Name)
	}
	if slices.Sort(seen); len(seen) != 2 {
		t.Errorf("files %v", seen)
	}
}
