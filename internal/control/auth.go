package control

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// Helper token bounds.
const (
	// MinTokenLen is the shortest helper token ReadTokens accepts: 16 bytes of a random
	// token is beyond guessing.
	MinTokenLen = 16
	// maxTokenLen bounds the credential of an Authorization header.
	maxTokenLen = 4096
)

// tokenSet holds the accepted helper tokens as SHA-256 digests, so a comparison takes
// the same time whatever the token's content and length.
type tokenSet [][sha256.Size]byte

func newTokenSet(tokens []string) tokenSet {
	out := make(tokenSet, 0, len(tokens))
	for _, t := range tokens {
		out = append(out, sha256.Sum256([]byte(t)))
	}
	return out
}

// contains reports whether tok is one of the set. It compares with every token, in
// constant time, so timing tells nothing of which one matched or how close a guess came.
func (s tokenSet) contains(tok string) bool {
	d := sha256.Sum256([]byte(tok))
	found := 0
	for i := range s {
		found |= subtle.ConstantTimeCompare(d[:], s[i][:])
	}
	return found == 1
}

// authResult is what a request's Authorization header says about its client.
type authResult int

const (
	anonymous     authResult = iota // no credential
	authenticated                   // a token of the set
	badCredential                   // a malformed header or an unknown token
)

// authenticate checks r's Authorization header against the set. It returns the result
// and, for a bad credential, the message to answer.
func (s tokenSet) authenticate(r *http.Request) (authResult, string) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 || len(vals) == 1 && strings.TrimSpace(vals[0]) == "" {
		return anonymous, ""
	}
	if len(vals) > 1 {
		return badCredential, "authorization: more than one Authorization header"
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	tok = strings.TrimLeft(tok, " ")
	switch {
	case !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t"):
		return badCredential, `authorization: want "Authorization: Bearer TOKEN"`
	case len(tok) > maxTokenLen:
		return badCredential, fmt.Sprintf("authorization: token longer than %d bytes", maxTokenLen)
	case !s.contains(tok):
		return badCredential, "authorization: unknown token"
	}
	return authenticated, ""
}

// ReadTokens reads the helper tokens of a file: one a line, blank lines and lines
// starting with # ignored, surrounding white space trimmed. A token shorter than
// MinTokenLen, one with white space inside, a duplicate or a file without tokens is an
// error naming the file and line (never the token).
func ReadTokens(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), maxTokenLen+1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case len(line) < MinTokenLen:
			return nil, fmt.Errorf("%s:%d: token of %d bytes; at least %d", path, n, len(line), MinTokenLen)
		case len(line) > maxTokenLen:
			return nil, fmt.Errorf("%s:%d: token of %d bytes; at most %d", path, n, len(line), maxTokenLen)
		case strings.ContainsAny(line, " \t"):
			return nil, fmt.Errorf("%s:%d: white space inside the token", path, n)
		case seen[line] > 0:
			return nil, fmt.Errorf("%s:%d: the token of line %d again", path, n, seen[line])
		}
		seen[line] = n
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no tokens", path)
	}
	return out, nil
}
