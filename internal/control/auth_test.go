package control

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	goodToken  = "fleet-token-0123456789abcdef"
	otherToken = "another-token-0123456789abcdef"
)

// postAs sends body to url with the given Authorization header values and decodes the
// answer.
func postAs(t *testing.T, url, body string, auth ...string) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	return do(t, http.DefaultClient, req)
}

// do sends req with hc and decodes the answer; a transport failure fails the test.
func do(t *testing.T, hc *http.Client, req *http.Request) reply {
	t.Helper()
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	r := reply{status: res.StatusCode, header: res.Header}
	if res.StatusCode == http.StatusOK {
		err = jsonDecode(res, &r.resp)
	} else {
		var e struct {
			Error string `json:"error"`
		}
		err = jsonDecode(res, &e)
		r.err = e.Error
	}
	if err != nil {
		t.Fatalf("status %d: %v", res.StatusCode, err)
	}
	return r
}

// TestHandlerAuth sends credentials good, missing and hostile to a helper that requires
// a token and to one that also serves anonymous clients.
func TestHandlerAuth(t *testing.T) {
	const missing = `authorization: missing; want "Authorization: Bearer TOKEN"`
	const malformed = `authorization: want "Authorization: Bearer TOKEN"`
	tests := []struct {
		name string
		auth []string
		// status and error when a token is required, then when anonymous clients are
		// served too.
		required, open int
		err            string
	}{
		{"good token", []string{"Bearer " + goodToken}, 200, 200, ""},
		{"second token", []string{"Bearer " + otherToken}, 200, 200, ""},
		{"scheme in lower case, spaces around", []string{"  bearer   " + goodToken + " "}, 200, 200, ""},
		{"no header", nil, 401, 200, missing},
		{"empty header", []string{""}, 401, 200, missing},
		{"unknown token", []string{"Bearer wrong-token-0123456789abcdef"}, 401, 401, "authorization: unknown token"},
		{"token prefix", []string{"Bearer " + goodToken[:20]}, 401, 401, "authorization: unknown token"},
		{"token with a suffix", []string{"Bearer " + goodToken + "x"}, 401, 401, "authorization: unknown token"},
		{"token in other case", []string{"Bearer " + strings.ToUpper(goodToken)}, 401, 401, "authorization: unknown token"},
		{"basic auth", []string{"Basic cHJvYmU6c2VjcmV0"}, 401, 401, malformed},
		{"scheme only", []string{"Bearer"}, 401, 401, malformed},
		{"token without scheme", []string{goodToken}, 401, 401, malformed},
		{"two credentials", []string{"Bearer " + goodToken + " " + otherToken}, 401, 401, malformed},
		{"tab inside", []string{"Bearer " + goodToken + "\tx"}, 401, 401, malformed},
		{"two headers", []string{"Bearer " + goodToken, "Bearer " + goodToken}, 401, 401, "authorization: more than one Authorization header"},
		{"huge token", []string{"Bearer " + strings.Repeat("a", 5000)}, 401, 401, "authorization: token longer than 4096 bytes"},
	}
	for _, anonymous := range []bool{false, true} {
		obs := &observer{}
		m := &Metrics{}
		url := serve(t, NewHandler(obs, HandlerOptions{Tokens: []string{goodToken, otherToken}, AllowAnonymous: anonymous, Metrics: m}, nil))
		refused := 0
		for _, tc := range tests {
			want := tc.required
			if anonymous {
				want = tc.open
			}
			r := postAs(t, url, `{"target":"example.org"}`, tc.auth...)
			wantErr, wantChallenge := tc.err, `Bearer realm="pantau-control"`
			if want == 200 {
				wantErr, wantChallenge = "", ""
			} else {
				refused++
			}
			if r.status != want || r.err != wantErr || r.header.Get("WWW-Authenticate") != wantChallenge {
				t.Errorf("anonymous allowed %v, %s: got %d %q (WWW-Authenticate %q), want %d %q",
					anonymous, tc.name, r.status, r.err, r.header.Get("WWW-Authenticate"), want, wantErr)
			}
		}
		if n := m.Unauthorized.Load(); n != int64(refused) {
			t.Errorf("anonymous allowed %v: Unauthorized counted %d, want %d", anonymous, n, refused)
		}
		// One observation, then the cache: refused requests never reach the Observer.
		if n := obs.count(); n != 1 {
			t.Errorf("anonymous allowed %v: Observe called %d times, want 1", anonymous, n)
		}
	}
}

// TestHandlerWithoutTokensIgnoresAuthorization checks the handler the collector mounts
// behind its own probe authentication: it looks at no credential.
func TestHandlerWithoutTokensIgnoresAuthorization(t *testing.T) {
	url := serve(t, NewHandler(&observer{}, HandlerOptions{}, nil))
	for _, auth := range [][]string{nil, {"Bearer probe-token"}, {"Basic x"}, {"a", "b"}} {
		if r := postAs(t, url, `{"target":"example.org"}`, auth...); r.status != 200 {
			t.Errorf("Authorization %q: got %d %q, want 200", auth, r.status, r.err)
		}
	}
}

func TestReadTokens(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		want          []string
		err           string // %s is the file's path
	}{
		{"good", "# fleet\n" + goodToken + "\n\n  " + otherToken + "  \n", []string{goodToken, otherToken}, ""},
		{"crlf", goodToken + "\r\n", []string{goodToken}, ""},
		{"empty", "", nil, "%s: no tokens"},
		{"comments only", "# none yet\n\n", nil, "%s: no tokens"},
		{"short", goodToken + "\nshort-token\n", nil, "%s:2: token of 11 bytes; at least 16"},
		{"space inside", "fleet token 0123456789abcdef\n", nil, "%s:1: white space inside the token"},
		{"duplicate", goodToken + "\n# again\n" + goodToken + "\n", nil, "%s:3: the token of line 1 again"},
		{"too long", strings.Repeat("a", 4097) + "\n", nil, "%s:1: token of 4097 bytes; at most 4096"},
	}
	for _, tc := range tests {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadTokens(path)
		if tc.err != "" {
			want := strings.ReplaceAll(tc.err, "%s", path)
			if err == nil || err.Error() != want {
				t.Errorf("%s: got %q, %v; want error %s", tc.name, got, err, want)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := ReadTokens(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}
