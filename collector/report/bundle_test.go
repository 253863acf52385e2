package report_test

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/report"
	"github.com/pantau-dev/pantau/collector/sign"
)

const bundlePath = "/api/v1/orders/kominfo-2017-telegram-block/bundle?at=2017-07-20T00:00:00Z"

// unzip reads every file of an archive, in the archive's order.
func unzip(t *testing.T, b []byte) ([]string, map[string][]byte) {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	files := map[string][]byte{}
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		names = append(names, f.Name)
		files[f.Name] = data
	}
	return names, files
}

// rezip writes files (in names' order) as a new archive, as someone who unpacked a
// bundle and packed it again would.
func rezip(t *testing.T, names []string, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, n := range names {
		fw, err := w.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func bundleServer(t *testing.T, s *sign.Signer) string {
	t.Helper()
	st, _, _ := fixture(t)
	svc, err := report.New(report.Config{Source: st, Now: func() time.Time { return end }, Signer: s}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler(""))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestOrderBundle: the bundle of the seed block order from the InfluxDB data set holds
// the signed report (JSON, CSV), the printable page in WIB with UTC beside, every
// measurement behind each cell byte for byte with its index, the manifest and the
// signature; it verifies; bad requests are refused.
func TestOrderBundle(t *testing.T) {
	s := testSigner()
	base := bundleServer(t, s)
	code, h, body := get(t, base+bundlePath)
	if code != 200 || h.Get("Content-Type") != "application/zip" ||
		h.Get("Content-Disposition") != `attachment; filename="compliance-kominfo-2017-telegram-block-20170720T000000Z.zip"` {
		t.Fatalf("bundle: %d %v %.200s", code, h, body)
	}
	sig, err := sign.VerifyArchive([]byte(body), []ed25519.PublicKey{s.Public()})
	if err != nil || sig.Kind != report.BundleKind || sig.Order != "kominfo-2017-telegram-block" || sig.At != "2017-07-20T00:00:00Z" || sig.Format != sign.Zip {
		t.Fatalf("verify: %+v %v", sig, err)
	}
	names, files := unzip(t, []byte(body))
	if !slices.Equal(names[:4], []string{report.BundleJSON, report.BundleCSV, report.BundleHTML, report.BundleIndex}) ||
		!slices.Equal(names[len(names)-2:], []string{sign.ManifestName, sign.SignatureName}) {
		t.Errorf("files: %v … %v", names[:min(4, len(names))], names[max(0, len(names)-2):])
	}
	for _, f := range []string{report.BundleJSON, report.BundleCSV} {
		if sig, err := sign.Verify(files[f], s.Public()); err != nil || sig.Kind != "compliance" {
			t.Errorf("%s: %+v %v", f, sig, err)
		}
	}
	checkManifest(t, names, files)
	checkIndex(t, base, names, files)
	checkPage(t, string(files[report.BundleHTML]))
	for _, c := range []struct {
		path string
		code int
	}{{bundlePath + "&format=csv", 400}, {bundlePath + "&x=1", 400}, {"/api/v1/orders/nope/bundle", 404},
		{"/api/v1/orders/kominfo-2017-telegram-block/bundle?at=2030-01-01T00:00:00Z", 400}} {
		if code, _, body := get(t, base+c.path); code != c.code || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %.200s, want %d", c.path, code, body, c.code)
		}
	}
}

// checkManifest: the manifest lists every file but itself and the signature, with its
// size and SHA-256.
func checkManifest(t *testing.T, names []string, files map[string][]byte) {
	t.Helper()
	var man sign.Manifest
	if err := json.Unmarshal(files[sign.ManifestName], &man); err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, e := range man.Files {
		sum := sha256.Sum256(files[e.Name])
		if e.SHA256 != hex.EncodeToString(sum[:]) || e.Size != len(files[e.Name]) {
			t.Errorf("manifest %s: %+v", e.Name, e)
		}
		listed = append(listed, e.Name)
	}
	want := slices.Sorted(slices.Values(names[:len(names)-2]))
	if !slices.Equal(listed, want) {
		t.Errorf("manifest lists %d files, the archive has %d", len(listed), len(want))
	}
}

// checkIndex: each cell of the order (4 networks × 11 names) has the measurements of
// its evidence bundle, each in its file byte for byte as the evidence API serves it.
func checkIndex(t *testing.T, base string, names []string, files map[string][]byte) {
	t.Helper()
	var idx report.BundleIndexFile
	if err := json.Unmarshal(files[report.BundleIndex], &idx); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range idx.Cells {
		want := report.MaxEvidence
		if c.Network == "Telkom Indonesia" {
			want = 0 // no probe there
		}
		if len(c.Measurements) != want {
			t.Errorf("%s on %s: %d measurements, want %d", c.Domain, c.Network, len(c.Measurements), want)
		}
		for _, m := range c.Measurements {
			sum := sha256.Sum256(files[m.File])
			if hex.EncodeToString(sum[:]) != m.SHA256 || m.ReceivedAt.IsZero() || m.Probe.Probe == "" || m.Probe.Network != c.Network {
				t.Errorf("%s: %+v", m.File, m)
			}
		}
		total += len(c.Measurements)
	}
	if len(idx.Cells) != 44 || total != 3*11*report.MaxEvidence || len(names) != total+6 {
		t.Errorf("%d cells, %d measurements, %d files", len(idx.Cells), total, len(names))
	}
	_, _, body := get(t, base+"/api/v1/evidence?domain=t.me&network=Telkomsel&at=2017-07-20T00:00:00Z")
	var b report.Bundle
	if err := json.Unmarshal([]byte(body), &b); err != nil || len(b.Items) == 0 {
		t.Fatalf("evidence: %v %.200s", err, body)
	}
	for _, c := range idx.Cells {
		if c.Domain == "t.me" && c.Network == "Telkomsel" {
			last := c.Measurements[len(c.Measurements)-1]
			if it := b.Items[len(b.Items)-1]; last.ID != it.ID || !bytes.Equal(files[last.File], it.Raw) ||
				!strings.Contains(string(files[last.File]), `"<title>Internet Positif</title> & more"`) {
				t.Errorf("t.me on Telkomsel: %s is not the evidence's %s byte for byte", last.File, it.ID)
			}
		}
	}
}

// checkPage: the printable page gives the order's times in WIB with UTC beside, each
// network's state, lateness and reasons, and loads nothing from elsewhere.
func checkPage(t *testing.T, html string) {
	t.Helper()
	for _, want := range []string{
		"Block of 11 Telegram web names", "Siaran Pers No. 84/HM/KOMINFO/07/2017", "Kominfo",
		"2017-07-14 00:00:00 WIB (2017-07-13 17:00:00 UTC)", // effective
		"2017-07-16 00:00:00 WIB (2017-07-15 17:00:00 UTC)", // due
		"2017-07-20 07:00:00 WIB (2017-07-20 00:00:00 UTC)", // at
		"order's zone, <strong>WIB</strong>", "@media print",
		"no probe measured the order&#39;s names on this network",
		`<td class="status non-compliant">non-compliant</td>`, "key ID <code>" + testSigner().KeyID(),
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<link", "src=", "url(", "@import"} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html has %q: it must be self-contained", bad)
		}
	}
}

// TestOrderBundleTampering: verify names exactly what fails in a changed bundle.
func TestOrderBundleTampering(t *testing.T) {
	s := testSigner()
	other := sign.New(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)), "v9.9.9")
	base := bundleServer(t, s)
	_, _, body := get(t, base+bundlePath)
	names, files := unzip(t, []byte(body))
	meas := names[4] // the first measurement's file
	keys := []ed25519.PublicKey{s.Public()}
	for _, c := range []struct {
		name   string
		change func(names []string, files map[string][]byte) []string
		keys   []ed25519.PublicKey
		is     error
		msg    string
	}{
		{"intact, repacked", func(n []string, _ map[string][]byte) []string { return n }, keys, nil, ""},
		{"two keys", func(n []string, _ map[string][]byte) []string { return n }, []ed25519.PublicKey{other.Public(), s.Public()}, nil, ""},
		{"byte changed in a measurement", func(n []string, f map[string][]byte) []string {
			f[meas] = bytes.Replace(f[meas], []byte("t.me"), []byte("t.mf"), 1)
			return n
		}, keys, sign.ErrTampered, "tampered content: " + meas + ": changed (SHA-256 "},
		{"file removed", func(n []string, _ map[string][]byte) []string {
			return slices.DeleteFunc(n, func(x string) bool { return x == report.BundleCSV })
		}, keys, sign.ErrTampered, "tampered content: compliance.csv: missing"},
		{"file added", func(n []string, f map[string][]byte) []string {
			f["measurements/extra.json"] = []byte(`{}`)
			return append(n, "measurements/extra.json")
		}, keys, sign.ErrTampered, "tampered content: measurements/extra.json: added (not in the manifest)"},
		{"manifest changed", func(n []string, f map[string][]byte) []string {
			f[sign.ManifestName] = bytes.Replace(f[sign.ManifestName], []byte(`"version": 1`), []byte(`"version":  1`), 1)
			return n
		}, keys, sign.ErrTampered, "tampered content: manifest.json changed (SHA-256 "},
		{"signature from another key", func(n []string, f map[string][]byte) []string {
			f[sign.SignatureName] = resign(t, other, f, s.KeyID())
			return n
		}, keys, sign.ErrBadSignature, "bad signature: the signature does not match its fields"},
		{"unknown key", func(n []string, _ map[string][]byte) []string { return n }, []ed25519.PublicKey{other.Public()},
			sign.ErrWrongKey, "wrong key: signed with key " + s.KeyID() + ", the given key is " + other.KeyID()},
		{"signature removed", func(n []string, _ map[string][]byte) []string {
			return slices.DeleteFunc(n, func(x string) bool { return x == sign.SignatureName })
		}, keys, sign.ErrUnsigned, "unsigned: the archive has no signature.json"},
	} {
		f := map[string][]byte{}
		for k, v := range files {
			f[k] = slices.Clone(v)
		}
		b := rezip(t, c.change(slices.Clone(names), f), f)
		_, err := sign.VerifyArchive(b, c.keys)
		if c.is == nil && err != nil || c.is != nil && (!errors.Is(err, c.is) || !strings.HasPrefix(err.Error(), c.msg)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.msg)
		}
	}
}

// resign returns a signature of the bundle's manifest made with key s but naming the key
// ID id: what someone without the collector's key could forge.
func resign(t *testing.T, s *sign.Signer, files map[string][]byte, id string) []byte {
	t.Helper()
	forged, err := s.SignArchive(nil, sign.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	_, ff := unzip(t, forged)
	var sig, orig sign.Signature
	if err := json.Unmarshal(ff[sign.SignatureName], &sig); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(files[sign.SignatureName], &orig); err != nil {
		t.Fatal(err)
	}
	orig.Value = sig.Value // another key's Ed25519 value under the original fields
	b, err := json.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
