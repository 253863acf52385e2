package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Verification failures; Verify's error wraps one of them and says what failed.
var (
	ErrUnsigned     = errors.New("unsigned")
	ErrMalformed    = errors.New("malformed signature")
	ErrWrongKey     = errors.New("wrong key")
	ErrTampered     = errors.New("tampered content")
	ErrBadSignature = errors.New("bad signature")
)

// Verify checks the signed file (JSON or CSV, as Sign wrote it, a final line feed
// allowed) against pub and returns its signature. The checks, in order: the file carries
// a signature (else ErrUnsigned); it is well formed (ErrMalformed); it names pub's key ID
// (ErrWrongKey); the content's SHA-256 is the signed one (ErrTampered, naming the
// measurement whose raw JSON no longer matches its hash when one does not); the
// signature is pub's over the manifest (ErrBadSignature: the signature's own fields were
// changed).
func Verify(file []byte, pub ed25519.PublicKey) (Signature, error) {
	return VerifyKeys(file, []ed25519.PublicKey{pub})
}

// VerifyKeys is Verify with several trusted keys (a collector's keys across rotations):
// the signature must be by the one whose key ID it names. A zip archive (an order's
// bundle, SignArchive) is checked by VerifyArchive.
func VerifyKeys(file []byte, keys []ed25519.PublicKey) (Signature, error) {
	if IsZip(file) {
		return VerifyArchive(file, keys)
	}
	content, js, format, err := split(file)
	if err != nil {
		return Signature{}, err
	}
	sig, err := parseSignature(js, format)
	if err != nil {
		return sig, err
	}
	pub, err := pickKey(sig.KeyID, keys)
	if err != nil {
		return sig, err
	}
	sum := sha256.Sum256(content)
	if got := hex.EncodeToString(sum[:]); got != sig.ContentSHA256 {
		return sig, fmt.Errorf("%w: %s (content SHA-256 %s, signed %s)", ErrTampered, diagnose(content, format), got, sig.ContentSHA256)
	}
	return sig, checkValue(sig, pub)
}

// parseSignature decodes a signature object strictly and checks its scheme and format.
func parseSignature(js []byte, format Format) (Signature, error) {
	var sig Signature
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sig); err != nil {
		return Signature{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if sig.Version != Version || sig.Algorithm != "ed25519" || sig.Format != format {
		return sig, fmt.Errorf("%w: version %d, algorithm %q, format %q (want %d, ed25519, %s)", ErrMalformed, sig.Version, sig.Algorithm, sig.Format, Version, format)
	}
	return sig, nil
}

// pickKey returns the key of keys whose ID is id.
func pickKey(id string, keys []ed25519.PublicKey) (ed25519.PublicKey, error) {
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		kid := KeyID(k)
		if kid == id {
			return k, nil
		}
		ids = append(ids, kid)
	}
	if len(ids) == 1 {
		return nil, fmt.Errorf("%w: signed with key %s, the given key is %s", ErrWrongKey, id, ids[0])
	}
	return nil, fmt.Errorf("%w: signed with key %s, which is none of the %d given keys (%s)", ErrWrongKey, id, len(ids), strings.Join(ids, ", "))
}

// checkValue checks that the signature's value is pub's over its manifest.
func checkValue(sig Signature, pub ed25519.PublicKey) error {
	value, err := base64.StdEncoding.DecodeString(sig.Value)
	if err != nil {
		return fmt.Errorf("%w: value: %w", ErrMalformed, err)
	}
	man, err := sig.Manifest()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !ed25519.Verify(pub, man, value) {
		return fmt.Errorf("%w: the signature does not match its fields (kind, domain, network, order, times or version changed, or the value is corrupt)", ErrBadSignature)
	}
	return nil
}

// split separates a signed file into its content and the signature's JSON.
func split(file []byte) (content, sig []byte, format Format, err error) {
	f := bytes.TrimRight(file, " \t\r\n")
	if len(f) > 0 && f[0] == '{' {
		i := bytes.LastIndex(f, []byte(jsonMember))
		if i < 0 || f[len(f)-1] != '}' {
			return nil, nil, JSON, fmt.Errorf("%w: the JSON has no signature member", ErrUnsigned)
		}
		content = append(append([]byte(nil), f[:i]...), '}')
		sig = f[i+len(jsonMember) : len(f)-1]
		if string(sig) == "null" {
			return nil, nil, JSON, fmt.Errorf("%w: signature is null (the collector had no signing key)", ErrUnsigned)
		}
		return content, sig, JSON, nil
	}
	i := bytes.LastIndex(file, []byte("\n"+csvMarker+","))
	if i < 0 {
		return nil, nil, CSV, fmt.Errorf("%w: no %s row (a CSV, or not a bundle at all)", ErrUnsigned, csvMarker)
	}
	row, err := csv.NewReader(bytes.NewReader(file[i+1:])).Read()
	if err != nil {
		return nil, nil, CSV, fmt.Errorf("%w: %s row: %w", ErrMalformed, csvMarker, err)
	}
	return file[:i+1], []byte(row[1]), CSV, nil
}

// diagnose names what changed in tampered content: the first measurement whose raw JSON
// no longer hashes to its sha256, or the rest of the content.
func diagnose(content []byte, format Format) string {
	type item struct {
		ID     string          `json:"id"`
		SHA256 string          `json:"sha256"`
		Raw    json.RawMessage `json:"raw"`
	}
	var items []item
	if format == JSON {
		var b struct {
			Items []item `json:"measurements"`
		}
		if err := json.Unmarshal(content, &b); err != nil {
			return "the JSON does not parse: " + err.Error()
		}
		items = b.Items
	} else {
		rows, err := csv.NewReader(bytes.NewReader(content)).ReadAll()
		if err != nil {
			return "the CSV does not parse: " + err.Error()
		}
		if len(rows) > 0 {
			id, sum, raw := slices.Index(rows[0], "id"), slices.Index(rows[0], "sha256"), slices.Index(rows[0], "raw")
			for _, r := range rows[1:] {
				if id >= 0 && sum >= 0 && raw >= 0 && r[raw] != "" {
					items = append(items, item{ID: r[id], SHA256: r[sum], Raw: json.RawMessage(r[raw])})
				}
			}
		}
	}
	for i, it := range items {
		sum := sha256.Sum256(it.Raw)
		if hex.EncodeToString(sum[:]) != it.SHA256 {
			return fmt.Sprintf("measurement %d (id %s): its raw JSON does not match its sha256", i+1, it.ID)
		}
	}
	if len(items) > 0 {
		return "changed outside the measurements' raw JSON (bundle fields, an item's fields or a hash)"
	}
	return "changed"
}
