package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// BearerToken returns the credentials of the request's "Authorization: Bearer TOKEN"
// header. No header, or an empty one, is ErrMissing; anything else that is not one
// bearer credential of at most MaxTokenLen bytes is ErrMalformed.
func BearerToken(r *http.Request) (string, error) {
	vals := r.Header.Values("Authorization")
	switch {
	case len(vals) == 0 || len(vals) == 1 && strings.TrimSpace(vals[0]) == "":
		return "", ErrMissing
	case len(vals) > 1:
		return "", fmt.Errorf("%w: more than one Authorization header", ErrMalformed)
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	tok = strings.TrimLeft(tok, " ")
	switch {
	case !strings.EqualFold(scheme, "Bearer") || tok == "":
		return "", fmt.Errorf("%w: want \"Authorization: Bearer TOKEN\"", ErrMalformed)
	case len(tok) > MaxTokenLen:
		return "", fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenLen)
	case strings.ContainsAny(tok, " \t"):
		return "", fmt.Errorf("%w: white space in the token", ErrMalformed)
	}
	return tok, nil
}

// CheckAdmin reports whether the request's bearer token is adminToken. It compares
// SHA-256 digests in constant time, so neither the content nor the length of the
// admin token leaks through timing. An empty adminToken disables admin access.
func CheckAdmin(r *http.Request, adminToken string) bool {
	if adminToken == "" {
		return false
	}
	tok, err := BearerToken(r)
	if err != nil {
		return false
	}
	return AdminTokenEqual(tok, adminToken)
}

// AdminTokenEqual reports whether given is adminToken, comparing their SHA-256 digests
// in constant time: the digests have the same length whatever was given, so the time
// taken says nothing about the admin token's content or length (comparing the tokens
// themselves returns at once when the lengths differ). An empty adminToken matches
// nothing.
func AdminTokenEqual(given, adminToken string) bool {
	if adminToken == "" {
		return false
	}
	got, want := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(adminToken))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// RefuseUnread prepares the answer to a request refused before its body was read (a
// failed authentication): the connection is closed after the answer, and the body is not
// read at all. Without it net/http reads up to 256 KiB of the body after the answer, to
// keep the connection, at whatever pace the client sends (until the read deadline): a
// stranger could hold connections with slow bodies. Call it before writing the answer.
func RefuseUnread(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	// A read deadline in the past makes that read fail at once; a ResponseWriter that
	// cannot set one (a test recorder) has no connection to hold.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}
