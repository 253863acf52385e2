package sign

import (
	"archive/zip"
	"bytes"
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
)

// An archive is a zip of files, a manifest of their hashes (ManifestName) and the
// signature (SignatureName) over the manifest: the signature's content_sha256 is the
// manifest file's SHA-256, so it covers every file the manifest lists.
const (
	ManifestName  = "manifest.json"
	SignatureName = "signature.json"
)

// MaxArchiveFile bounds the size of one file of an archive that VerifyArchive reads.
const MaxArchiveFile = 1 << 30

// File is one file of an archive: a slash-separated relative path and its bytes.
type File struct {
	Name string
	Data []byte
}

// Manifest lists an archive's files (all but the manifest and the signature), by name.
type Manifest struct {
	Version int             `json:"version"`
	Files   []ManifestEntry `json:"files"`
}

// ManifestEntry is one file of a Manifest: its name, size in bytes and hex SHA-256.
type ManifestEntry struct {
	Name   string `json:"name"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
}

// IsZip reports whether b starts as a zip archive does.
func IsZip(b []byte) bool { return bytes.HasPrefix(b, []byte("PK\x03\x04")) }

// SignArchive returns a zip archive of files, in their order, then manifest.json (their
// hashes) and signature.json (the signature over the manifest, with m; "null" for a nil
// Signer). Each entry is dated m.GeneratedAt, so the same input gives the same bytes.
func (s *Signer) SignArchive(files []File, m Meta) ([]byte, error) {
	man := Manifest{Version: Version, Files: make([]ManifestEntry, 0, len(files))}
	seen := map[string]bool{ManifestName: true, SignatureName: true}
	for _, f := range files {
		if !fs.ValidPath(f.Name) || f.Name == "." || seen[f.Name] {
			return nil, fmt.Errorf("archive: file name %q is not a new relative path", f.Name)
		}
		seen[f.Name] = true
		sum := sha256.Sum256(f.Data)
		man.Files = append(man.Files, ManifestEntry{Name: f.Name, Size: len(f.Data), SHA256: hex.EncodeToString(sum[:])})
	}
	slices.SortFunc(man.Files, func(a, b ManifestEntry) int { return cmp.Compare(a.Name, b.Name) })
	manJS, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("archive: manifest: %w", err)
	}
	manJS = append(manJS, '\n')
	sigJS := []byte("null\n")
	if s != nil {
		sig, err := s.signature(manJS, Zip, m)
		if err != nil {
			return nil, err
		}
		if sigJS, err = json.MarshalIndent(sig, "", "  "); err != nil {
			return nil, fmt.Errorf("archive: signature: %w", err)
		}
		sigJS = append(sigJS, '\n')
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range append(slices.Clone(files), File{ManifestName, manJS}, File{SignatureName, sigJS}) {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: m.GeneratedAt.UTC()})
		if err != nil {
			return nil, fmt.Errorf("archive: %s: %w", f.Name, err)
		}
		if _, err := fw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("archive: %s: %w", f.Name, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	return buf.Bytes(), nil
}

// VerifyArchive checks an archive that SignArchive wrote against the trusted keys and
// returns its signature. In order: the archive reads (a file whose bytes fail the zip's
// own checksum is ErrTampered); it has a signature (ErrUnsigned) that is well formed
// (ErrMalformed) and by one of keys (ErrWrongKey); the manifest is the signed one
// (ErrTampered); the signature is valid (ErrBadSignature); every file matches the
// manifest. The last check names every problem: a changed file, a missing one, an added
// one.
func VerifyArchive(b []byte, keys []ed25519.PublicKey) (Signature, error) {
	files, err := readArchive(b)
	if err != nil {
		return Signature{}, err
	}
	sigJS, ok := files[SignatureName]
	if !ok {
		return Signature{}, fmt.Errorf("%w: the archive has no %s", ErrUnsigned, SignatureName)
	}
	if string(bytes.TrimSpace(sigJS)) == "null" {
		return Signature{}, fmt.Errorf("%w: %s is null (the collector had no signing key)", ErrUnsigned, SignatureName)
	}
	sig, err := parseSignature(sigJS, Zip)
	if err != nil {
		return sig, err
	}
	pub, err := pickKey(sig.KeyID, keys)
	if err != nil {
		return sig, err
	}
	manJS, ok := files[ManifestName]
	if !ok {
		return sig, fmt.Errorf("%w: %s is missing", ErrTampered, ManifestName)
	}
	sum := sha256.Sum256(manJS)
	if got := hex.EncodeToString(sum[:]); got != sig.ContentSHA256 {
		return sig, fmt.Errorf("%w: %s changed (SHA-256 %s, signed %s)", ErrTampered, ManifestName, got, sig.ContentSHA256)
	}
	if err := checkValue(sig, pub); err != nil {
		return sig, err
	}
	return sig, checkFiles(manJS, files)
}

// readArchive reads every file of a zip archive by name; directories are skipped.
func readArchive(b []byte) (map[string][]byte, error) {
	r, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%w: not a readable zip archive: %w", ErrTampered, err)
	}
	files := map[string][]byte{}
	for _, f := range r.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		if _, dup := files[f.Name]; dup {
			return nil, fmt.Errorf("%w: %s is in the archive twice", ErrTampered, f.Name)
		}
		data, err := readEntry(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrTampered, f.Name, err)
		}
		files[f.Name] = data
	}
	return files, nil
}

// readEntry reads one file, which the zip's CRC-32 checks as it is read.
func readEntry(f *zip.File) ([]byte, error) {
	if f.UncompressedSize64 > MaxArchiveFile {
		return nil, fmt.Errorf("%d bytes, more than %d", f.UncompressedSize64, MaxArchiveFile)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxArchiveFile+1))
	switch {
	case errors.Is(err, zip.ErrChecksum):
		return nil, errors.New("its bytes do not match the zip's checksum (the archive was altered or damaged)")
	case err != nil:
		return nil, fmt.Errorf("cannot be read (the archive was altered or damaged): %w", err)
	}
	return data, nil
}

// checkFiles compares the archive's files with the (signed) manifest.
func checkFiles(manJS []byte, files map[string][]byte) error {
	var man Manifest
	dec := json.NewDecoder(bytes.NewReader(manJS))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&man); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, ManifestName, err)
	}
	var problems []string
	listed := map[string]bool{ManifestName: true, SignatureName: true}
	for _, e := range man.Files {
		listed[e.Name] = true
		data, ok := files[e.Name]
		if !ok {
			problems = append(problems, e.Name+": missing")
			continue
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != e.SHA256 {
			problems = append(problems, fmt.Sprintf("%s: changed (SHA-256 %s, manifest %s)", e.Name, got, e.SHA256))
		}
	}
	var added []string
	for name := range files {
		if !listed[name] {
			added = append(added, name+": added (not in the manifest)")
		}
	}
	slices.Sort(added)
	if problems = append(problems, added...); len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrTampered, strings.Join(problems, "; "))
	}
	return nil
}
